/**
 * Helpers shared by the event-fabric benchmarks (bench/relay.ts, bench/connections.ts,
 * bench/resume.ts): a `styx serve` child process with benchmark limits, the admin calls that
 * create users, keys and golems, per-process CPU and RSS from /proc, a forked client process,
 * and the "## Event fabric" section of docs/benchmarks.md.
 */

import { type ChildProcess, fork, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QUOTAS_OUT_OF_THE_WAY } from "../../src/testing/limits.js";
import { CLI } from "../../src/testing/spawn.js";

// biome-ignore lint/suspicious/noExplicitAny: answers and child messages are read as arbitrary JSON
export type Json = any;

export const FABRIC_SECTION = "## Event fabric";
export const ADMIN_TOKEN = "bench-admin-token-0123456789";

/** Environment of every benchmarked server: limits out of the way, silent logs. */
export const SERVER_ENV = {
  STYX_ADMIN_TOKEN: ADMIN_TOKEN,
  STYX_LOG_LEVEL: "silent",
  STYX_RATE_LIMIT: "1000000/s:1000000",
  STYX_IP_RATE_LIMIT: "1000000/s:1000000",
  STYX_WS_MAX_CONNECTIONS: "20000",
  // Every quota of SPEC §12 out of the way too: the benchmarks hold thousands of sockets per key and
  // address, and write and deposit far past any tier's daily and per-minute quotas.
  STYX_QUOTAS: QUOTAS_OUT_OF_THE_WAY,
  STYX_UNFINISHED_CONNECTIONS_PER_IP: "100000",
  // A fixed key for throwaway data dirs: a generated one is announced on stderr, which the
  // benches' reports quote as server output.
  STYX_SECRET_KEY: Buffer.alloc(32, 0x5e).toString("base64"),
} as const;

/** A free loopback TCP port (asked of the kernel, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** A running `styx serve` child. */
export interface StyxProcess {
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  readonly dataDir: string | undefined;
  /** Everything the process wrote to stdout/stderr. */
  output(): string;
  /** Resolves with the exit code or signal when the process ends. */
  readonly exited: Promise<number | string>;
  /** SIGTERM (graceful drain) and wait for the exit. */
  stop(): Promise<number | string>;
}

/**
 * Spawns `node dist/cli/main.js serve` on 127.0.0.1 with SERVER_ENV (plus `env`), either in
 * amnesia or on `dataDir` (a fresh temp dir when `dataDir` is "temp"), and waits for /readyz 200.
 */
export async function startStyx(opts: {
  dataDir: string | "amnesia";
  port?: number;
  env?: Record<string, string>;
  /** Another build's dist/cli/main.js (default: BENCH_STYX_CLI, else this checkout's). */
  cli?: string;
  /** Node flags before the script (default: BENCH_SERVER_NODE_ARGS). */
  nodeArgs?: readonly string[];
}): Promise<StyxProcess> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir === "amnesia" ? undefined : opts.dataDir;
  const where = dataDir ? ["--data-dir", dataDir] : ["--amnesia"];
  // e.g. BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under load
  const nodeArgs = opts.nodeArgs ?? (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
  // BENCH_STYX_CLI=/path/to/other/checkout/dist/cli/main.js: the same client against another build (A/B across commits)
  const cli = opts.cli ?? process.env.BENCH_STYX_CLI ?? CLI;
  const proc = spawn(process.execPath, [...nodeArgs, cli, "serve", "--host", "127.0.0.1", "--port", String(port), ...where], {
    env: {
      PATH: process.env.PATH ?? "",
      ...SERVER_ENV,
      ...opts.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const reap = () => proc.kill("SIGKILL"); // never leave a server behind if the bench dies
  process.once("exit", reap);
  let out = "";
  proc.stdout?.on("data", (d) => (out += d));
  proc.stderr?.on("data", (d) => (out += d));
  const exited = new Promise<number | string>((resolve) =>
    proc.once("exit", (code, signal) => {
      process.off("exit", reap);
      resolve(code ?? signal ?? -1);
    }),
  );
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (gone) throw new Error(`server exited before ready:\n${out}`);
    if (Date.now() > deadline) throw new Error(`server not ready after 20 s:\n${out}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(20);
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/v1/styx/ws`,
    pid: proc.pid as number,
    proc,
    dataDir,
    output: () => out,
    exited,
    stop: () => {
      if (!gone) proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** A fresh temporary data dir and its remover. */
export function tempDataDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** JSON request with retries on 429/503 (load shedding) and connection errors. */
export async function call(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await res.text();
      if ((res.status === 429 || res.status === 503) && attempt < 20) {
        await sleep(50 * (attempt + 1));
        continue;
      }
      return { status: res.status, json: text ? JSON.parse(text) : undefined };
    } catch (err) {
      if (attempt >= 5) throw err;
      await sleep(100);
    }
  }
}

async function must(r: Promise<{ status: number; json: Json }>, what: string): Promise<Json> {
  const { status, json } = await r;
  if (status !== 201 && status !== 200) throw new Error(`${what}: ${status} ${JSON.stringify(json)}`);
  return json;
}

/** Creates a user and one read+write key (bound to `golemId` when given); returns the key. */
export async function createUser(url: string, id: string): Promise<{ id: string; key: string }> {
  await must(call(url, "POST", "/v1/admin/users", ADMIN_TOKEN, { id }), "user create");
  const k = await must(call(url, "POST", `/v1/admin/users/${id}/keys`, ADMIN_TOKEN, { name: "bench" }), "key create");
  return { id, key: k.key as string };
}

/** Registers `n` golems for the holder of `key`, `concurrency` requests at a time; their ids in order. */
export async function createGolems(url: string, key: string, n: number, concurrency = 16): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      ids[i] = (await must(call(url, "POST", "/v1/styx/golems", key, {}), "golem register")).id as string;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return ids;
}

const CLK_TCK = 100; // Linux USER_HZ (getconf CLK_TCK)

/** CPU time (user + system, all threads) of process `pid` so far, ms (10 ms resolution). */
export function procCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}

/** Resident set size of process `pid` (VmRSS), bytes. */
export function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/**
 * Forks `file` (a bench script) with `--child` and tsx, exchanging structured-clone messages.
 * `request(msg)` sends one message and resolves with the next reply.
 */
export function forkChild(
  file: string,
  args: string[] = [],
): {
  proc: ChildProcess;
  request<T>(msg: unknown): Promise<T>;
  end(): void;
} {
  const proc = fork(file, ["--child", ...args], { execArgv: ["--import", "tsx"], serialization: "advanced" });
  const reap = () => proc.kill("SIGKILL");
  process.once("exit", reap);
  proc.once("exit", () => process.off("exit", reap));
  return {
    proc,
    request<T>(msg: unknown) {
      return new Promise<T>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`child ${file} exited (${code})`));
        proc.once("exit", onExit);
        proc.once("message", (m) => {
          proc.off("exit", onExit);
          if (m && typeof m === "object" && "error" in m) reject(new Error(String((m as { error: unknown }).error)));
          else resolve(m as T);
        });
        proc.send(msg as object);
      });
    },
    end() {
      proc.disconnect();
    },
  };
}

/** In a forked child: answers each message with `handle(msg)` (or `{error}`). */
export function serveParent(handle: (msg: Json) => Promise<unknown>): void {
  process.on("message", (msg) => {
    handle(msg).then(
      (r) => process.send?.(r as object),
      (err) => process.send?.({ error: (err as Error)?.stack ?? String(err) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
}

/** Now in ms on a clock shared by every process of the machine (sub-ms resolution). */
export const wallMs = () => performance.timeOrigin + performance.now();
