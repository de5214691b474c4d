// An example owner surface: prints every event of the owner's golems (stream `user:{owner}`),
// and says whether each reconnect recovered the events missed meanwhile.
//
//   node --import tsx examples/surface.ts [URL] [KEY]     (or STYX_URL / STYX_KEY)
import { fileURLToPath } from "node:url";
import { type ConnectOptions, connect, type EventFrame, type Styx } from "@styx/client";

/** Connects as the owner and calls `onEvent` for each event of its golems (and `log` for recoveries). */
export async function watchSurface(
  opts: Omit<ConnectOptions, "token"> & { key: string },
  onEvent: (e: EventFrame) => void,
  log: (line: string) => void = (l) => console.log(l),
): Promise<Styx> {
  const styx = await connect({ ...opts, token: opts.key });
  styx.socket.on("event", onEvent);
  styx.socket.on("recovered", (r) => log(`resumed ${r.stream}: recovered=${r.recovered}${r.reason ? ` (${r.reason})` : ""}`));
  return styx;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? process.env.STYX_URL ?? "http://localhost:8080";
  const key = process.argv[3] ?? process.env.STYX_KEY;
  if (!key) throw new Error("usage: examples/surface.ts [URL] KEY (or STYX_KEY)");
  const styx = await watchSurface({ url, key }, (e) => console.log(`${e.stream} #${e.seq} ${e.channel} ${JSON.stringify(e.payload)}`));
  process.once("SIGINT", () => styx.close());
}
