/**
 * The processes bench/macro.ts measures: `styx serve` children (a micronode on a data dir,
 * gateways of macronode clusters), grouped into topologies, each with a user, its golems and the
 * sockets of the forked socket client; and their stop at the end.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { macroEnv, type S3Endpoint } from "../../src/testing/services.js";
import { CLI } from "../../src/testing/spawn.js";
import { createGolems, createUser, freePort, SERVER_ENV } from "./fabric.js";
import type { ConnectRequest, SocketClient } from "./macro-sockets.js";

const LAG = "30s";

/** Everything a server of the bench gets: limits out of the way, shedding only on a 30 s stall. */
const ENV = { ...SERVER_ENV, STYX_LOG_LEVEL: "warn", STYX_MAX_EVENT_LOOP_LAG: LAG };

/** A `styx serve` child of the bench. */
export interface ServerProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  output(): string;
  readonly exited: Promise<unknown>;
}

/**
 * `node dist/cli/main.js serve <args>` on a free port with ENV + `env` (logs at warn: at info
 * Fastify logs every request, which this bench would measure), ready once /readyz answers 200;
 * `nodeArgs` (default BENCH_SERVER_NODE_ARGS) go to node before the script. BENCH_STYX_CLI: another
 * build's dist/cli/main.js (an A/B of two builds under the same bench).
 */
export async function serve(args: string[], env: Record<string, string>, nodeArgs?: readonly string[]): Promise<ServerProcess> {
  const port = await freePort();
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the servers (as bench/lib/fabric.ts)
  nodeArgs ??= (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const cli = process.env.BENCH_STYX_CLI ?? CLI;
  const proc = spawn(process.execPath, [...nodeArgs, cli, "serve", "--host", "127.0.0.1", "--port", String(port), ...args], {
    env: { PATH: process.env.PATH ?? "", ...ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  process.once("exit", () => proc.kill("SIGKILL"));
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  let gone = false;
  const exited = new Promise((resolve) =>
    proc.once("exit", (code, signal) => {
      gone = true;
      resolve(code ?? signal);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 30_000; ; ) {
    if (gone || Date.now() > deadline) throw new Error(`server not ready:\n${out}`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, proc, output: () => out, exited };
}

/** Servers measured together: one micronode, or the gateways of one macronode cluster. */
export interface Topology {
  readonly name: string;
  readonly servers: ServerProcess[];
  readonly macro: boolean;
  key: string;
  golems: string[];
}

/** The process ids of a topology's servers. */
export const pids = (t: Topology) => t.servers.map((s) => s.proc.pid as number);

/**
 * Starts the three topologies: the micronode on `dataDir`, one gateway of `clusters[0]` and
 * gateways A and B of `clusters[1]` (all on `s3`). Each server is pushed to `servers` once ready,
 * so the caller can stop what did start if a later one fails.
 */
export async function startTopologies(
  dataDir: string,
  clusters: readonly string[],
  s3: S3Endpoint,
  servers: ServerProcess[],
): Promise<Topology[]> {
  const gw = async (cluster: string) => {
    const g = await serve(["--profile", "macro"], macroEnv(cluster, s3) as Record<string, string>);
    servers.push(g);
    return g;
  };
  const micro = await serve([], { STYX_DATA_DIR: dataDir });
  servers.push(micro);
  const one = await gw(clusters[0] as string);
  const a = await gw(clusters[1] as string);
  const b = await gw(clusters[1] as string);
  return [
    { name: "micronode (SQLite data dir)", servers: [micro], macro: false, key: "", golems: [] },
    { name: "macronode, 1 gateway", servers: [one], macro: true, key: "", golems: [] },
    { name: "macronode, 2 gateways (A + B)", servers: [a, b], macro: true, key: "", golems: [] },
  ];
}

/**
 * Per topology (through its first server): a user and `golems` golems, then the client's sockets,
 * the first golem's sender on the first server and `surfaces` sockets of the owner spread over
 * the servers in turn.
 */
export async function populate(topologies: readonly Topology[], client: SocketClient, golems: number, surfaces: number): Promise<void> {
  for (const [i, t] of topologies.entries()) {
    const url = (t.servers[0] as ServerProcess).url;
    const u = await createUser(url, `macro-bench-${i}`);
    t.key = u.key;
    t.golems = await createGolems(url, u.key, golems);
    const ws = (s: ServerProcess) => `${s.url.replace(/^http/, "ws")}/v1/styx/ws`;
    const connect: ConnectRequest = {
      key: t.name,
      token: u.key,
      golemId: t.golems[0] as string,
      sender: ws(t.servers[0] as ServerProcess),
      surfaces: Array.from({ length: surfaces }, (_, k) => ws(t.servers[k % t.servers.length] as ServerProcess)),
    };
    await client.request({ op: "connect", ...connect });
  }
}

/** SIGTERM to every server (SIGKILL after 10 s), waiting for each exit. */
export async function stopServers(servers: readonly ServerProcess[]): Promise<void> {
  await Promise.allSettled(
    servers.map(async (s) => {
      s.proc.kill("SIGTERM");
      const t = setTimeout(() => s.proc.kill("SIGKILL"), 10_000);
      await s.exited;
      clearTimeout(t);
    }),
  );
}

/** The servers' log lines at warn or above (level 40, 50, 60). */
export function warnings(servers: readonly ServerProcess[]): string[] {
  return servers.flatMap((s) =>
    s
      .output()
      .split("\n")
      .filter((l) => /"level":(40|50|60)/.test(l)),
  );
}
