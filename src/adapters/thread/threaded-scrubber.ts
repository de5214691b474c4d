import { Worker } from "node:worker_threads";
import type { IdentifierDirectory, KnownIdentifier } from "../../core/privacy/directory.js";
import type { ScrubKind, TextScrubber } from "../../core/privacy/public-pipeline.js";
import type { Writer } from "../../core/privacy/scrub.js";
import type { ScrubReply, ScrubRequest } from "./scrub-worker.js";

interface Job {
  readonly kind: ScrubKind;
  readonly text: string;
  readonly writer: Writer;
  readonly resolve: (text: string) => void;
  readonly reject: (err: Error) => void;
}

/**
 * Scrubs long public texts in a worker thread, off the event loop: a 64 KiB lethe copy costs
 * 20-50 ms of CPU, which paced on the loop still made every request wait behind its slices
 * (docs/benchmarks.md, public-layer scrubbing). The worker holds its own copy of the directory,
 * fed every identifier the main thread's directory adds, in the same order as the scrubs
 * (one message port, applied in order), so a scrub never misses an identifier added before it
 * was asked for.
 *
 * If the thread cannot start or dies, scrubs (those in flight included) run on `fallback`
 * (paced on the event loop, over the main thread's directory): slower for the loop, the same
 * answers.
 */
export class ThreadedScrubber implements TextScrubber {
  readonly #fallback: TextScrubber;
  readonly #pending = new Map<number, Job>();
  #worker: Worker | undefined;
  #next = 1;
  #closing = false;

  constructor(directory: IdentifierDirectory, fallback: TextScrubber, onFailure?: (err: unknown) => void) {
    this.#fallback = fallback;
    // The thread's copy starts empty and follows every later add: it must start with the directory.
    if (directory.size.strong + directory.size.weak > 0) throw new Error("ThreadedScrubber must be made before the directory is filled");
    // Run from TypeScript sources (tests under tsx), the worker is the compiled one: a worker
    // thread does not inherit tsx's loader (as for the vector index). `npm test` builds first.
    const compiled = import.meta.url.endsWith(".ts") ? "../../../dist/adapters/thread/scrub-worker.js" : "./scrub-worker.js";
    try {
      this.#worker = new Worker(new URL(compiled, import.meta.url));
    } catch (err) {
      onFailure?.(err);
      return;
    }
    const worker = this.#worker;
    worker.unref();
    worker.on("message", (r: ScrubReply) => {
      const job = this.#pending.get(r.id);
      if (!job) return;
      this.#pending.delete(r.id);
      if (r.ok) job.resolve(r.text);
      else job.reject(new Error(`scrub: ${r.error}`));
    });
    const failed = (err: unknown) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      if (!this.#closing) onFailure?.(err);
      // What the thread had not answered is scrubbed here instead.
      const jobs = [...this.#pending.values()];
      this.#pending.clear();
      for (const j of jobs) this.#fallback.scrub(j.kind, j.text, j.writer).then(j.resolve, j.reject);
    };
    worker.on("error", failed);
    worker.on("exit", (code) => failed(new Error(`scrub worker exited (${code})`)));
    directory.onAdd((ids) => this.#post({ op: "add", ids: ids.map(plain) }));
  }

  scrub(kind: ScrubKind, text: string, writer: Writer): Promise<string> {
    if (!this.#worker) return this.#fallback.scrub(kind, text, writer);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { kind, text, writer, resolve, reject });
      this.#post({ op: "scrub", id, kind, text, userId: writer.userId });
    });
  }

  /** Stops the thread; later scrubs run on the fallback. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    this.#closing = true;
    // In-flight scrubs move to the fallback (the exit handler), none is lost.
    await worker.terminate();
  }

  #post(m: ScrubRequest): void {
    this.#worker?.postMessage(m);
  }
}

/** Only the fields the worker reads (records may carry more). */
function plain(id: KnownIdentifier): KnownIdentifier {
  return { kind: id.kind, value: id.value, userId: id.userId };
}
