import { createHash } from "node:crypto";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import usearch from "usearch";

/**
 * The thread that owns every usearch index (native indexes cannot cross threads). It applies
 * messages in order, so removes, loads and searches of a namespace never race, with one
 * exception that keeps searches fast while vectors are absorbed (SPEC §12: one user's bulk
 * writes must not hold another user's query): a search overtakes the adds queued before it, and
 * an add runs in chunks of ADD_CHUNK vectors with a turn of this thread's loop between, so a
 * search waits for one chunk at most, never for whole batches. Overtaking an add is safe: the
 * owner (core/knowledge/vector-search.ts) keeps every vector in its exact-scan overlay until
 * the add is answered, so a search that runs before the add still finds it there. A search never
 * overtakes a remove, a load, a reset or a save.
 *
 * It is never terminated while it works: usearch is built with node-addon-api's C++ exceptions,
 * and a native call that touches JavaScript after `worker.terminate()` (a search or remove
 * building its answer, `contains`, the addon's own start-up) fails, and its error handling
 * fails again outside any handler: `terminate called after throwing an instance of
 * 'Napi::Error'` aborts the whole process. So the index closes by asking: the owner sets the
 * shared `stop` flag (requests still queued are answered "closed" without native work), then
 * sends `close`, answered after the call in progress; this thread drops its indexes and lets
 * its event loop end.
 */
export type WorkerRequest =
  | { id: number; op: "add"; ns: string; keys: Float64Array; vectors: Float32Array }
  | { id: number; op: "remove"; ns: string; keys: Float64Array }
  | { id: number; op: "search"; ns: string; query: Float32Array; k: number }
  | { id: number; op: "save"; dir: string }
  | { id: number; op: "load"; ns: string; file: string }
  | { id: number; op: "reset" }
  | { id: number; op: "close" };

/** What the worker is started with. */
export interface UsearchWorkerData {
  readonly dimensions: number;
  readonly connectivity: number;
  readonly expansionAdd: number;
  readonly expansionSearch: number;
  /** One Int32 shared with the owner: 1 once the index is closing (queued requests are then skipped). */
  readonly stop: SharedArrayBuffer;
}

/** The worker's answer to a request. */
export type WorkerReply =
  | { id: number; ok: true; keys?: Float64Array; similarities?: Float32Array; saved?: { ns: string; file: string }[] }
  | { id: number; ok: false; error: string };

const opts = workerData as UsearchWorkerData;
const stopping = new Int32Array(opts.stop);
const indexes = new Map<string, InstanceType<typeof usearch.Index>>();

function indexOf(ns: string): InstanceType<typeof usearch.Index> {
  let index = indexes.get(ns);
  if (!index) {
    index = new usearch.Index({
      dimensions: opts.dimensions,
      metric: "cos" as never,
      quantization: "f16" as never,
      connectivity: opts.connectivity,
      expansion_add: opts.expansionAdd,
      expansion_search: opts.expansionSearch,
      multi: false,
    });
    indexes.set(ns, index);
  }
  return index;
}

/**
 * Vectors inserted between two turns of this thread's loop (~0.3 ms each at 384 dimensions,
 * connectivity 16, expansion 128 on this project's reference machine: ~2.5 ms a chunk).
 */
const ADD_CHUNK = 8;

type Work = Exclude<WorkerRequest, { op: "close" }>;
/** An add in progress: how many of its vectors are in the index already. */
type Queued = { m: Work; done: number };

/** Requests not yet answered, in arrival order (searches that overtook adds are answered at once). */
const queue: Queued[] = [];
let scheduled = false;
let closed = false;

function reply(r: WorkerReply): void {
  parentPort?.postMessage(r);
}

/** Answers a request at once (everything but an add's chunks). */
function handle(m: Work): WorkerReply {
  if (m.op === "save") {
    const saved: { ns: string; file: string }[] = [];
    for (const [ns, index] of indexes) {
      if (index.size() === 0) continue;
      const file = join(m.dir, `${createHash("sha256").update(ns).digest("hex")}.usearch`);
      index.save(file);
      saved.push({ ns, file });
    }
    return { id: m.id, ok: true, saved };
  }
  if (m.op === "reset") {
    indexes.clear();
    return { id: m.id, ok: true };
  }
  if (m.op === "load") {
    indexOf(m.ns).load(m.file);
    return { id: m.id, ok: true };
  }
  if (m.op === "remove") {
    const index = indexes.get(m.ns);
    if (index) {
      const keys = BigUint64Array.from(m.keys, (k) => BigInt(k)).filter((k) => index.contains(k) as boolean);
      if (keys.length) index.remove(keys);
    }
    return { id: m.id, ok: true };
  }
  if (m.op === "add") throw new Error("an add runs in chunks");
  const index = indexes.get(m.ns);
  if (!index || index.size() === 0) return { id: m.id, ok: true, keys: new Float64Array(0), similarities: new Float32Array(0) };
  const r = index.search(m.query, Math.min(m.k, index.size()), 1);
  const n = r.keys.length;
  const keys = new Float64Array(n);
  const similarities = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    keys[i] = Number(r.keys[i]);
    similarities[i] = 1 - (r.distances[i] as number);
  }
  return { id: m.id, ok: true, keys, similarities };
}

/** Inserts the next chunk of an add; true once all of it is in. */
function addChunk(q: Queued & { m: { op: "add" } }): boolean {
  const { m } = q;
  const index = indexOf(m.ns);
  const end = Math.min(m.keys.length, q.done + ADD_CHUNK);
  const keys = BigUint64Array.from(m.keys.subarray(q.done, end), (k) => BigInt(k));
  // A key re-added replaces its vector: usearch (multi: false) refuses duplicates otherwise.
  const present = keys.filter((k) => index.contains(k) as boolean);
  if (present.length) index.remove(present);
  // One thread: the other core belongs to the event loop serving requests.
  index.add(keys, m.vectors.subarray(q.done * opts.dimensions, end * opts.dimensions), 1);
  q.done = end;
  return end === m.keys.length;
}

/** Runs the head of the queue (one chunk of an add, or one whole request), then hands the loop back. */
function pump(): void {
  scheduled = false;
  const head = queue[0];
  if (closed || !head) return;
  if (Atomics.load(stopping, 0) === 1) {
    for (const q of queue.splice(0)) reply({ id: q.m.id, ok: false, error: "closed" });
    return;
  }
  let answer: WorkerReply | undefined;
  try {
    if (head.m.op !== "add") answer = handle(head.m);
    else if (addChunk(head as Queued & { m: { op: "add" } })) answer = { id: head.m.id, ok: true };
  } catch (err) {
    answer = { id: head.m.id, ok: false, error: (err as Error).message };
  }
  if (answer) {
    queue.shift();
    reply(answer);
  }
  schedule();
}

function schedule(): void {
  if (scheduled || closed || queue.length === 0) return;
  scheduled = true;
  // A macrotask: messages that arrived meanwhile (searches) are read before the next chunk.
  setImmediate(pump);
}

parentPort?.on("message", (m: WorkerRequest) => {
  if (m.op === "close") {
    // Between two native calls (this thread runs one thing at a time): what is still queued is refused.
    closed = true;
    for (const q of queue.splice(0)) reply({ id: q.m.id, ok: false, error: "closed" });
    reply({ id: m.id, ok: true });
    // The native indexes are freed with this thread's environment, after its last call returned.
    indexes.clear();
    parentPort?.close();
    return;
  }
  if (closed || Atomics.load(stopping, 0) === 1) {
    reply({ id: m.id, ok: false, error: "closed" });
    return;
  }
  // A search overtakes adds (their vectors are still in the owner's overlay), nothing else.
  if (m.op === "search" && queue.every((q) => q.m.op === "add")) {
    let answer: WorkerReply;
    try {
      answer = handle(m);
    } catch (err) {
      answer = { id: m.id, ok: false, error: (err as Error).message };
    }
    reply(answer);
    return;
  }
  queue.push({ m, done: 0 });
  schedule();
});
