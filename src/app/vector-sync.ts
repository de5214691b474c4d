import type { EntryStore, SeqMarks } from "../core/knowledge/entry-store.js";
import type { VectorSearch } from "../core/knowledge/vector-search.js";
import type { Signals } from "../core/platform/signals.js";

/** Signal topic of vector-index changes. */
const TOPIC = "vectors";
/** How often a gateway re-reads recent vectors from the store, for signals lost in an outage (ms). */
const CATCH_UP_MS = 30_000;

interface PutWire {
  readonly ns: string;
  readonly key: number;
  /** Float32 little-endian, base64. */
  readonly v: string;
}

/**
 * Keeps this gateway's vector indexes in step with the other gateways of a macronode. Every
 * put or remove made here goes out as a signal (batched per event-loop turn) and every other
 * gateway applies it, so an entry written on one gateway is found by a vector query on any
 * other within milliseconds. Signals are at most once, so every `CATCH_UP_MS` the gateway also
 * re-reads from the store the vectors stored since the catch-up before last (a transaction
 * that committed late still falls in that window). A gateway that starts late loads everything
 * from the store at start (`rebuild`); it subscribes first, so nothing falls between the two.
 * Returns the stop function.
 */
export function syncVectors(deps: {
  vectors: VectorSearch;
  signals: Signals;
  entries: Pick<EntryStore, "scanVectors" | "seqMarks">;
  dimensions: number;
  warn: (msg: string, err?: unknown) => void;
}): { stop(): void } {
  const { vectors, signals, entries, dimensions } = deps;
  // Keys put or applied here during the last two catch-up periods: a catch-up skips them.
  let seen = [new Map<string, Set<number>>(), new Map<string, Set<number>>()] as const;
  const note = (ns: string, key: number) => {
    const set = seen[1].get(ns) ?? new Set<number>();
    set.add(key);
    seen[1].set(ns, set);
  };
  let puts: PutWire[] = [];
  const removes = new Map<string, number[]>();
  let flushing = false;
  const flush = () => {
    flushing = false;
    if (puts.length) signals.publish(TOPIC, { puts });
    if (removes.size) signals.publish(TOPIC, { removes: [...removes].map(([ns, keys]) => ({ ns, keys })) });
    puts = [];
    removes.clear();
  };
  const later = () => {
    if (flushing) return;
    flushing = true;
    setImmediate(flush);
  };
  vectors.onPut = (ns, key, vector) => {
    note(ns, key);
    puts.push({ ns, key, v: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString("base64") });
    later();
  };
  vectors.onRemove = (ns, keys) => {
    removes.set(ns, [...(removes.get(ns) ?? []), ...keys]);
    later();
  };
  const unsubscribe = signals.subscribe(TOPIC, (p, origin) => {
    if (origin === signals.origin) return;
    for (const put of Array.isArray(p.puts) ? (p.puts as PutWire[]) : []) {
      const bytes = Buffer.from(put.v, "base64");
      if (bytes.byteLength !== dimensions * 4) continue;
      const v = new Float32Array(dimensions);
      new Uint8Array(v.buffer).set(bytes);
      vectors.restore(put.ns, put.key, v);
      note(put.ns, put.key);
    }
    for (const r of Array.isArray(p.removes) ? (p.removes as { ns: string; keys: number[] }[]) : []) {
      void vectors.forget(r.ns, r.keys).catch((err: unknown) => deps.warn("vector removal from another gateway failed", err));
    }
  });

  // Catch-up: [before last, last] marks; each run re-reads from the older one.
  let marks: [SeqMarks | undefined, SeqMarks | undefined] = [undefined, undefined];
  let running = false;
  const catchUp = async () => {
    if (running) return;
    running = true;
    try {
      const now = await entries.seqMarks();
      const from = marks[0];
      marks = [marks[1], now];
      const window = seen;
      seen = [seen[1], new Map()];
      if (!from) return;
      for await (const batch of entries.scanVectors(4096, from)) {
        batch.seqs.forEach((seq, i) => {
          const ns = batch.namespace;
          if (window[0].get(ns)?.has(seq) || window[1].get(ns)?.has(seq)) return;
          vectors.restore(ns, seq, batch.vectors.subarray(i * dimensions, (i + 1) * dimensions));
        });
      }
    } catch (err) {
      deps.warn("vector catch-up from the store failed; retried at the next period", err);
    } finally {
      running = false;
    }
  };
  void catchUp();
  const timer = setInterval(() => void catchUp(), CATCH_UP_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      unsubscribe();
      vectors.onPut = undefined;
      vectors.onRemove = undefined;
    },
  };
}
