import { createHash } from "node:crypto";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import usearch from "usearch";

/**
 * The thread that owns every usearch index (native indexes cannot cross threads). It applies
 * messages in order, so adds, removes and searches of a namespace never race.
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

function handle(m: Exclude<WorkerRequest, { op: "close" }>): WorkerReply {
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
  if (m.op === "add") {
    const index = indexOf(m.ns);
    const keys = BigUint64Array.from(m.keys, (k) => BigInt(k));
    // A key re-added replaces its vector: usearch (multi: false) refuses duplicates otherwise.
    const present = keys.filter((k) => index.contains(k) as boolean);
    if (present.length) index.remove(present);
    // One thread: the other core belongs to the event loop serving requests.
    index.add(keys, m.vectors, 1);
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

parentPort?.on("message", (m: WorkerRequest) => {
  if (m.op === "close") {
    parentPort?.postMessage({ id: m.id, ok: true } satisfies WorkerReply);
    // The native indexes are freed with this thread's environment, after its last call returned.
    indexes.clear();
    parentPort?.close();
    return;
  }
  if (Atomics.load(stopping, 0) === 1) {
    parentPort?.postMessage({ id: m.id, ok: false, error: "closed" } satisfies WorkerReply);
    return;
  }
  let reply: WorkerReply;
  try {
    reply = handle(m);
  } catch (err) {
    reply = { id: m.id, ok: false, error: (err as Error).message };
  }
  parentPort?.postMessage(reply);
});
