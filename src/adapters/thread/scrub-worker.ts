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
 * own nice value, so this thread yields the CPU to the event loop whenever both want it — the
 * server's answers do not wait behind a worst-case scrub on a machine with few cores
 * (issue 14: `/health` p99 during worst-case lethe writes within 2× idle). Elsewhere the call
 * sets the whole process's priority, so it is made on Linux only; failing to lower it is harmless.
 */
export const SCRUB_THREAD_NICE = 10;
if (process.platform === "linux") {
  try {
    setPriority(0, SCRUB_THREAD_NICE);
  } catch {
    // Not permitted by the sandbox: the thread keeps the process's priority.
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
