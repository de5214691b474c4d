import { execFileSync } from "node:child_process";
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { runSync } from "../../core/platform/paced.js";
import { IdentifierDirectory, type KnownIdentifier } from "../../core/privacy/directory.js";
import type { ScrubKind } from "../../core/privacy/public-pipeline.js";
import { identifierSteps, scrubSteps } from "../../core/privacy/scrub.js";

/**
 * The thread that scrubs long public texts (see threaded-scrubber.ts). It holds its own copy
 * of the directory of known identifiers and applies messages in order, so an identifier the
 * main thread added before asking for a scrub is always known to that scrub.
 */
export type ScrubRequest =
  | { op: "add"; ids: readonly KnownIdentifier[] }
  | { op: "scrub"; id: number; kind: ScrubKind; text: string; userId: string | null };

/** The worker's answer to a scrub. */
export type ScrubReply = { id: number; ok: true; text: string } | { id: number; ok: false; error: string };

/**
 * Scrubbing is background work (lethe publication, long public texts): on Linux a thread has its
 * own scheduling, so this thread yields the CPU to the event loop whenever both want it — the
 * server's answers do not wait behind a worst-case scrub on a machine with few cores
 * (issue 14: `/health` p99 during worst-case lethe writes within 2× idle). First its nice value
 * (SCRUB_THREAD_NICE), then, where `chrt` (util-linux) is installed, the SCHED_IDLE policy: the
 * kernel then counts a core running only this thread as idle when it places a waking thread, so
 * the event loop, V8's GC helpers and SQLite's checkpoint thread take that core at once instead
 * of queueing on the other (measured in bench/scrub.ts's phases: /health p99 during worst-case
 * lethe writes 4.4–5.7 ms against 6.3–8.9 ms at nice 10 alone, the same writes per second).
 * Elsewhere `setPriority` sets the whole process's priority, so both are made on Linux only;
 * failing to lower them is harmless.
 */
export const SCRUB_THREAD_NICE = 10;
if (process.platform === "linux") lowerThisThread();

function lowerThisThread(): void {
  try {
    setPriority(0, SCRUB_THREAD_NICE);
  } catch {
    // Not permitted by the sandbox: the thread keeps the process's priority.
  }
  try {
    // `/proc/thread-self` → `<pid>/task/<tid>`: this thread's own id (Node has no gettid).
    const tid = readlinkSync("/proc/thread-self").split("/").pop() ?? "";
    if (/^\d+$/.test(tid)) execFileSync("chrt", ["--idle", "--pid", "0", tid], { stdio: "ignore", timeout: 2_000 });
  } catch {
    // No chrt, or not permitted: the nice value above stays.
  }
}

const directory = new IdentifierDirectory();
const port = parentPort;
port?.on("message", (m: ScrubRequest) => {
  if (m.op === "add") {
    directory.add(m.ids);
    return;
  }
  let reply: ScrubReply;
  try {
    const writer = { userId: m.userId };
    const text = runSync(m.kind === "text" ? scrubSteps(m.text, directory, writer) : identifierSteps(m.text, directory, writer));
    reply = { id: m.id, ok: true, text };
  } catch (err) {
    reply = { id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply);
});
