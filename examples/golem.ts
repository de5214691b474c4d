// An example golem: connects to Styx, registers, writes knowledge, deposits a pheromone,
// queries, and sends heartbeats and events until stopped. Writes made while Styx is away wait
// in the client's offline queue and are flushed when it returns.
//
//   node --import tsx examples/golem.ts [URL] [KEY]     (or STYX_URL / STYX_KEY; golem id: STYX_GOLEM)
import { fileURLToPath } from "node:url";
import { type ConnectOptions, connect, type EntryWritten, type Styx, StyxError } from "@styx/client";

/** Options of `startGolem`: how to reach Styx, and the golem's id. */
export interface GolemOptions extends Omit<ConnectOptions, "token" | "url"> {
  readonly url: string;
  readonly key: string;
  readonly golemId: string;
  readonly log?: (line: string) => void;
}

/** A running example golem. */
export interface Golem {
  readonly styx: Styx;
  /** Writes one entry (queued while Styx is unreachable). */
  learn(content: string): Promise<EntryWritten>;
  /** One tick: a heartbeat and a `golem:tick` event. */
  tick(n: number): Promise<void>;
  close(): void;
}

/** Connects, registers the golem (once), writes two entries, deposits a pheromone and queries. */
export async function startGolem(opts: GolemOptions): Promise<Golem> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const styx = await connect({ ...opts, url: opts.url, token: opts.key });
  styx.socket.on("recovered", (r) => log(`resumed ${r.stream}: recovered=${r.recovered}${r.reason ? ` (${r.reason})` : ""}`));
  styx.socket.on(
    "close",
    (c) => c.reconnectInMs !== null && log(`socket closed (${c.code}); reconnecting in ${Math.round(c.reconnectInMs)} ms`),
  );
  try {
    await styx.registerGolem({ id: opts.golemId, archetype: "scout" });
  } catch (err) {
    // Registered already (409), or the key is bound to this golem (403: its owner registers golems).
    if (!(err instanceof StyxError && (err.code === "STYX_CONFLICT" || err.code === "STYX_AUTH_FORBIDDEN"))) throw err;
  }
  const learn = (content: string) =>
    styx.writeEntry({ golem_id: opts.golemId, layer: "vault", category: "insight", domain: "defi", confidence: 0.7, content });
  await learn("oracle lag on thin pairs precedes liquidations");
  await learn("funding flips negative before local bottoms");
  await styx.depositPheromone({
    golem_id: opts.golemId,
    layer: "threat",
    class: "oracle-lag",
    intensity: 0.8,
    domain: "defi",
    regime: "volatile",
  });
  const found = await styx.query({ query: "oracle lag", limit: 5 });
  log(`query: ${found.hits.length} hit(s), best: ${found.hits[0]?.content ?? "none"}`);
  return {
    styx,
    learn,
    async tick(n) {
      await styx.socket.heartbeat(opts.golemId, { phase: "explore", vitality: 0.9, tick: n, domains: ["defi"] });
      await styx.socket.sendEvent(opts.golemId, { type: "golem:tick", tick: n });
    },
    close: () => styx.close(),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? process.env.STYX_URL ?? "http://localhost:8080";
  const key = process.argv[3] ?? process.env.STYX_KEY;
  if (!key) throw new Error("usage: examples/golem.ts [URL] KEY (or STYX_KEY)");
  const golem = await startGolem({ url, key, golemId: process.env.STYX_GOLEM ?? "golem-1" });
  let n = 0;
  const timer = setInterval(() => {
    n++;
    golem.tick(n).catch((err) => console.log(`tick ${n} not sent: ${(err as Error).message}`));
    if (n % 10 === 0) golem.learn(`observation at tick ${n}`).catch((err) => console.log(`write failed: ${(err as Error).message}`));
  }, 1000);
  process.once("SIGINT", () => {
    clearInterval(timer);
    golem.close();
  });
}
