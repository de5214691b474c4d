import { Worker } from "node:worker_threads";
import type { VectorHit, VectorIndex } from "../../core/knowledge/vector-index.js";
import type { UsearchWorkerData, WorkerReply, WorkerRequest } from "./usearch-worker.js";

/** Options of the usearch index (HNSW, f16 storage, cosine). */
export interface UsearchOptions {
  readonly dimensions: number;
  /** Graph degree (HNSW M). Default 16. */
  readonly connectivity?: number;
  /** Candidate list size while inserting. Default 128. */
  readonly expansionAdd?: number;
  /** Candidate list size while searching. Default 64. */
  readonly expansionSearch?: number;
}

type Pending = { resolve: (r: WorkerReply & { ok: true }) => void; reject: (e: Error) => void };

/**
 * How long `close` waits for the worker to finish its call in progress and exit before
 * terminating it anyway (a last resort: terminating during a native call can abort the process,
 * see usearch-worker.ts). A call is one batch, one search or one save; well under this.
 */
const CLOSE_TIMEOUT_MS = 5000;
type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/**
 * VectorIndex on usearch (chosen by `bench/ann.ts`, see docs/benchmarks.md), running in a
 * worker thread so builds and batch inserts never block request handling. Searches cost one
 * message round trip (well under a millisecond).
 */
export class UsearchVectorIndex implements VectorIndex {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  /** Shared with the worker: set to 1 at close, so requests still queued are skipped instead of run. */
  readonly #stop = new Int32Array(new SharedArrayBuffer(4));
  /** Resolves when the worker thread has exited (whatever the reason). */
  readonly #exited: Promise<void>;
  #next = 1;
  #closed: Promise<void> | undefined;

  constructor(opts: UsearchOptions) {
    // Run from TypeScript sources (tests under tsx), the worker is the compiled one: a worker
    // thread does not inherit tsx's loader (and registering it inside the worker hangs on Node 20).
    // `npm test` builds first.
    const compiled = import.meta.url.endsWith(".ts") ? "../../../dist/adapters/ann/usearch-worker.js" : "./usearch-worker.js";
    this.#worker = new Worker(new URL(compiled, import.meta.url), {
      workerData: {
        dimensions: opts.dimensions,
        connectivity: opts.connectivity ?? 16,
        expansionAdd: opts.expansionAdd ?? 128,
        expansionSearch: opts.expansionSearch ?? 64,
        stop: this.#stop.buffer as SharedArrayBuffer,
      } satisfies UsearchWorkerData,
    });
    this.#worker.unref();
    this.#exited = new Promise((resolve) => this.#worker.once("exit", () => resolve()));
    this.#worker.on("message", (r: WorkerReply) => {
      const p = this.#pending.get(r.id);
      if (!p) return;
      this.#pending.delete(r.id);
      if (r.ok) p.resolve(r);
      else p.reject(new Error(`vector index: ${r.error}`));
    });
    this.#worker.on("error", (err) => this.#failAll(err));
    this.#worker.on("exit", (code) => this.#failAll(new Error(`vector index worker exited (${code})`)));
  }

  #call(req: Request, transfer: ArrayBuffer[] = []): Promise<WorkerReply & { ok: true }> {
    if (this.#closed) return Promise.reject(new Error("vector index is closed"));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id }, transfer);
    });
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  async add(namespace: string, keys: readonly number[], vectors: Float32Array): Promise<void> {
    if (keys.length === 0) return;
    await this.#call({ op: "add", ns: namespace, keys: Float64Array.from(keys), vectors: vectors.slice() });
  }

  async remove(namespace: string, keys: readonly number[]): Promise<void> {
    if (keys.length === 0) return;
    await this.#call({ op: "remove", ns: namespace, keys: Float64Array.from(keys) });
  }

  async search(namespace: string, query: Float32Array, k: number): Promise<VectorHit[]> {
    const r = await this.#call({ op: "search", ns: namespace, query, k });
    const keys = r.keys ?? new Float64Array(0);
    const sims = r.similarities ?? new Float32Array(0);
    return Array.from(keys, (key, i) => ({ key, similarity: sims[i] as number }));
  }

  /** Writes every non-empty index to `dir` (one file each); returns namespace → file. */
  async saveAll(dir: string): Promise<{ ns: string; file: string }[]> {
    return (await this.#call({ op: "save", dir })).saved ?? [];
  }

  /** Replaces a namespace's index with the one saved in `file`. */
  async load(namespace: string, file: string): Promise<void> {
    await this.#call({ op: "load", ns: namespace, file });
  }

  /** Drops every index (before a full rebuild). */
  async reset(): Promise<void> {
    await this.#call({ op: "reset" });
  }

  /**
   * Stops the worker without interrupting a native call: requests still queued are answered
   * "closed" unrun, the call in progress finishes, then the thread frees its indexes and exits.
   * Resolves once it has exited (idempotent). Never `terminate()` first: see usearch-worker.ts.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      Atomics.store(this.#stop, 0, 1);
      // Held alive until it has exited: a process that ended meanwhile would terminate it mid-call.
      this.#worker.ref();
      this.#worker.postMessage({ id: 0, op: "close" } satisfies WorkerRequest);
      const lastResort = setTimeout(() => void this.#worker.terminate(), CLOSE_TIMEOUT_MS);
      await this.#exited;
      clearTimeout(lastResort);
    })();
    return this.#closed;
  }
}
