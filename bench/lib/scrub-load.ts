/**
 * Load clients of bench/scrub.ts, each forked into its own process (so neither shares the
 * server's event loop nor the other's): a prober that sends GET requests at a fixed rate (open
 * loop: request i starts at i / rate seconds, whatever the answers before it), and writers that
 * loop POST /v1/styx/entries with a large lethe entry, one request in flight per writer.
 */
import { fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";
import { nowMs } from "./common.js";

/** GET `path` at `rate` requests per second for `durationMs`. */
export interface ProbeJob {
  readonly kind: "probe";
  readonly url: string;
  readonly path: string;
  readonly rate: number;
  readonly durationMs: number;
}

/** One loop per writer: POST /v1/styx/entries (`layer`, confidence 0.9) with `content` behind a request counter. */
export interface WriteJob {
  readonly kind: "write";
  /** `lethe` (a public copy is scrubbed) or `vault` (the same write with no public copy: the control). */
  readonly layer: "lethe" | "vault";
  /** Writes per second over all writers, each writer on its own schedule (a late one sends at once); absent: as fast as answered. */
  readonly rate?: number;
  readonly url: string;
  readonly writers: readonly { readonly token: string; readonly golemId: string }[];
  readonly domain: string;
  readonly content: string;
  readonly durationMs: number;
}

/** What a job measured: each request's latency (ms, start → last response byte) and the statuses. */
export interface LoadReport {
  readonly lat: number[];
  readonly statuses: Record<string, number>;
  readonly elapsedMs: number;
  /** Probe only: how late, at most, a request started against its schedule (ms; the client's own lag). */
  readonly maxStartLagMs: number;
}

/** A forked client: `run` sends it a job and resolves with its report; `close` ends it. */
export function scrubLoadClient(): { readonly pid: number; run(job: ProbeJob | WriteJob): Promise<LoadReport>; close(): void } {
  const child = fork(fileURLToPath(import.meta.url), ["--child"], { execArgv: ["--import", "tsx"], serialization: "advanced" });
  return {
    pid: child.pid as number,
    run: (job) =>
      new Promise((resolve, reject) => {
        const failed = () => reject(new Error("scrub load client exited"));
        child.once("exit", failed);
        child.once("message", (r) => {
          child.off("exit", failed);
          resolve(r as LoadReport);
        });
        child.send(job);
      }),
    close: () => {
      if (child.connected) child.disconnect();
    },
  };
}

function send(agent: http.Agent, url: URL, method: string, headers: Record<string, string>, body?: string): Promise<string> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent, headers }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.on("error", (e) => resolve(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.end(body);
  });
}

async function probe(job: ProbeJob): Promise<LoadReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(job.path, job.url);
  const n = Math.floor((job.rate * job.durationMs) / 1000);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const pending: Promise<void>[] = [];
  let maxStartLagMs = 0;
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / job.rate;
    const wait = due - nowMs();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = nowMs();
    maxStartLagMs = Math.max(maxStartLagMs, t - due);
    pending.push(
      send(agent, url, "GET", {}).then((status) => {
        lat[i] = nowMs() - t;
        statuses[status] = (statuses[status] ?? 0) + 1;
      }),
    );
  }
  await Promise.all(pending);
  agent.destroy();
  return { lat, statuses, elapsedMs: nowMs() - start, maxStartLagMs };
}

/** Writes sent by this client, over all its jobs (so no two contents are equal). */
let written = 0;

/** A request counter as a letters-only word (digits would be scrubbed as an amount, and equal copies reinforce one another). */
function letters(i: number): string {
  let s = "";
  for (let n = i + 26 * 27; n > 0; n = Math.floor(n / 26)) s = String.fromCharCode(97 + (n % 26)) + s;
  return s;
}

async function write(job: WriteJob): Promise<LoadReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.writers.length });
  const url = new URL("/v1/styx/entries", job.url);
  const lat: number[] = [];
  const statuses: Record<string, number> = {};
  const start = nowMs();
  const loop = async (w: { token: string; golemId: string }, k: number) => {
    for (let n = 0; nowMs() - start < job.durationMs; n++) {
      if (job.rate !== undefined) {
        const due = start + ((n * job.writers.length + k) / job.rate) * 1000;
        if (due > nowMs()) await new Promise((r) => setTimeout(r, due - nowMs()));
        if (nowMs() - start >= job.durationMs) break;
      }
      const i = written++;
      const content = `${letters(i)} ${job.content}`;
      const body = JSON.stringify({
        golem_id: w.golemId,
        layer: job.layer,
        domain: job.domain,
        category: "insight",
        confidence: 0.9,
        content,
      });
      const headers = {
        authorization: `Bearer ${w.token}`,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
      };
      const t = nowMs();
      const status = await send(agent, url, "POST", headers, body);
      lat.push(nowMs() - t);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  };
  await Promise.all(job.writers.map((w, k) => loop(w, k)));
  const elapsedMs = nowMs() - start;
  agent.destroy();
  return { lat, statuses, elapsedMs, maxStartLagMs: 0 };
}

if (process.argv.includes("--child")) {
  process.on("message", async (job: ProbeJob | WriteJob) => {
    process.send?.(job.kind === "probe" ? await probe(job) : await write(job));
  });
}
