/**
 * HTTP load generator for the knowledge benchmarks, run in its own process so the server under
 * test does not share its event loop with the client. `runLoad(job)` forks this file; the child
 * sends the requests over keep-alive sockets (`http.Agent`, maxSockets = concurrency) and sends
 * back each request's latency (request start → last response byte) and, if asked, the bodies.
 */
import { fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { clusteredSource, DIM, nowMs, rng, words } from "./common.js";

export interface LoadJob {
  readonly url: string;
  readonly token?: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly concurrency: number;
  /** Stop after this many requests… */
  readonly max: number;
  /** …or once this much time has passed (no new request starts after it). */
  readonly durationMs: number;
  /** Request i goes to paths[i] instead of `path` (list mode; max ≤ paths.length). An absolute URL there overrides `url`. */
  readonly paths?: readonly string[];
  /** Request i uses methods[i] instead of `method` (list mode, e.g. a mix of GET and POST routes). */
  readonly methods?: readonly ("GET" | "POST")[];
  /** Request i is sent with tokens[i] instead of `token` (list mode, e.g. requests to two servers interleaved). */
  readonly tokens?: readonly string[];
  /** Request i sends bodies[i] (list mode; max ≤ bodies.length); GET requests send none. */
  readonly bodies?: readonly string[];
  /**
   * Generated entry writes for this golem instead of a list (each embedding unique); `batch` > 1:
   * {entries: [...]} bodies; `embedding: false`: text-only writes (the same contents, no vector).
   */
  readonly writes?: { readonly golemId: string; readonly seed: number; readonly batch?: number; readonly embedding?: boolean };
  /** List mode without the length bound: request i uses item i mod length of `paths`, `bodies`, `methods`, `tokens`. */
  readonly cycle?: boolean;
  /** Send back every response body (in request order). */
  readonly keep?: boolean;
}

export interface LoadResult {
  readonly sent: number;
  readonly elapsedMs: number;
  /** Latency in ms per request, in request order. */
  readonly lat: number[];
  /** Status per request (as in `statuses`), in request order. */
  readonly codes?: string[];
  readonly statuses: Record<string, number>;
  readonly bodies?: string[];
  /** CPU time (user + system) the client process spent during the run, ms. */
  readonly clientCpuMs: number;
}

/** Runs `job` from a child process and resolves with its result. */
export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const client = loadClient();
  try {
    return await client.run(job);
  } finally {
    client.close();
  }
}

/**
 * A load client forked now and kept for several jobs, one at a time. Fork it before the bench
 * grows: a process holding thousands of vector indexes (~16 MB of address space reserved each)
 * can no longer fork (ENOMEM under the kernel's overcommit heuristic).
 */
export function loadClient(): { readonly pid: number | undefined; run(job: LoadJob): Promise<LoadResult>; close(): void } {
  const child = fork(fileURLToPath(import.meta.url), ["--child"], { execArgv: ["--import", "tsx"], serialization: "advanced" });
  let failed: Error | undefined;
  let reject: ((e: Error) => void) | undefined;
  child.once("exit", (code) => {
    failed = new Error(`load client exited (${code})`);
    reject?.(failed);
  });
  return {
    pid: child.pid,
    run(job) {
      if (failed) return Promise.reject(failed);
      return new Promise((resolve, rej) => {
        reject = rej;
        child.once("message", (r) => {
          reject = undefined;
          resolve(r as LoadResult);
        });
        child.send(job);
      });
    },
    close() {
      if (child.connected) child.disconnect();
    },
  };
}

/**
 * Write bodies: a pool of clustered vectors, each request with 4 fresh random components (so no
 * two match); exported so a bench can rebuild the very vectors a run sent (bench/writes.ts).
 */
export function writeBodies(golemId: string, seed: number, batch: number, embedding = true): (i: number) => string {
  const rand = rng(seed);
  const pool = clusteredSource(seed).draw(2_000);
  const tails = Array.from({ length: 2_000 }, (_, r) =>
    Array.from(pool.subarray(r * DIM + 4, (r + 1) * DIM), (x) => x.toPrecision(7)).join(","),
  );
  const head = `{"golem_id":${JSON.stringify(golemId)},"layer":"vault","category":"insight","confidence":0.5,"content":"`;
  const one = (i: number) => {
    const fresh = [0, 1, 2, 3].map(() => ((rand() - 0.5) * 0.2).toPrecision(7)).join(",");
    const text = `${head}bench entry ${i}: ${words(rand, 12)}"`;
    return embedding ? `${text},"embedding":[${fresh},${tails[i % 2_000]}]}` : `${text}}`;
  };
  if (batch <= 1) return one;
  return (i) => `{"entries":[${Array.from({ length: batch }, (_, j) => one(i * batch + j)).join(",")}]}`;
}

async function child(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const at = <T>(xs: readonly T[] | undefined, i: number): T | undefined => (job.cycle && xs ? xs[i % xs.length] : xs?.[i]);
  const target = (i: number) => new URL(at(job.paths, i) ?? job.path, job.url);
  const w = job.writes;
  const make = w ? writeBodies(w.golemId, w.seed, w.batch ?? 1, w.embedding ?? true) : (i: number) => at(job.bodies, i);
  const bound = (xs: readonly unknown[] | undefined) => (job.cycle ? Number.POSITIVE_INFINITY : (xs?.length ?? Number.POSITIVE_INFINITY));
  const max = Math.min(job.max, bound(job.bodies), bound(job.paths));
  const lat: number[] = [];
  const codes: string[] = [];
  const bodies: string[] = [];
  const statuses: Record<string, number> = {};
  const send = (i: number) =>
    new Promise<void>((resolve) => {
      const method = at(job.methods, i) ?? job.method;
      const body = method === "GET" ? undefined : make(i);
      const headers: Record<string, string> = {};
      const token = at(job.tokens, i) ?? job.token;
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) (headers["content-type"] = "application/json"), (headers["content-length"] = String(Buffer.byteLength(body)));
      const t0 = nowMs();
      const done = (status: string, text: string) => {
        lat[i] = nowMs() - t0;
        codes[i] = status;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (job.keep) bodies[i] = text;
        resolve();
      };
      const req = http.request(target(i), { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done(String(res.statusCode), Buffer.concat(chunks).toString("utf8")));
      });
      req.on("error", (e) => done(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`, ""));
      req.end(body);
    });
  let next = 0;
  const cpu0 = process.cpuUsage();
  const start = nowMs();
  const worker = async () => {
    while (next < max && nowMs() - start < job.durationMs) await send(next++);
  };
  await Promise.all(Array.from({ length: job.concurrency }, worker));
  const elapsedMs = nowMs() - start;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  return { sent: next, elapsedMs, lat, codes, statuses, clientCpuMs: (cpu.user + cpu.system) / 1000, ...(job.keep ? { bodies } : {}) };
}

if (process.argv.includes("--child")) {
  process.on("message", async (job) => {
    process.send?.(await child(job as LoadJob));
  });
}
