import type { SequencedEvent } from "./event-bus.js";

/** Rough memory cost of one ringed event beyond its payload text (object, strings, slot). */
const EVENT_OVERHEAD_BYTES = 160;

interface Ring {
  readonly slots: (SequencedEvent | undefined)[];
  /** Index of the oldest event. */
  start: number;
  length: number;
  bytes: number;
}

/**
 * The hot tier: the last `perStream` events of each stream in memory, for replay without
 * touching the store. Memory is bounded twice: per stream (`perStream` events) and in total
 * (`maxBytes`); past the total, the rings of the streams written least recently are dropped
 * whole (their events are still in the warm tier).
 */
export class HotRing {
  readonly #rings = new Map<string, Ring>();
  readonly #perStream: number;
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(options: { perStream?: number; maxBytes?: number } = {}) {
    this.#perStream = options.perStream ?? 1000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** Bytes held now (estimated). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Streams with a ring now. */
  get streams(): number {
    return this.#rings.size;
  }

  /** Adds the next event of its stream (events arrive in seq order). */
  push(event: SequencedEvent): void {
    let ring = this.#rings.get(event.stream);
    if (ring) {
      // Map order doubles as recency: re-inserting moves the stream to the young end.
      this.#rings.delete(event.stream);
    } else {
      ring = { slots: new Array(this.#perStream), start: 0, length: 0, bytes: 0 };
    }
    this.#rings.set(event.stream, ring);
    const size = event.payloadJson.length + event.channel.length + EVENT_OVERHEAD_BYTES;
    if (ring.length === this.#perStream) {
      const old = ring.slots[ring.start] as SequencedEvent;
      const oldSize = old.payloadJson.length + old.channel.length + EVENT_OVERHEAD_BYTES;
      ring.bytes -= oldSize;
      this.#bytes -= oldSize;
      ring.slots[ring.start] = event;
      ring.start = (ring.start + 1) % this.#perStream;
    } else {
      ring.slots[(ring.start + ring.length) % this.#perStream] = event;
      ring.length++;
    }
    ring.bytes += size;
    this.#bytes += size;
    for (const [stream, r] of this.#rings) {
      if (this.#bytes <= this.#maxBytes || r === ring) break;
      this.#rings.delete(stream);
      this.#bytes -= r.bytes;
    }
  }

  /**
   * The ringed events of `stream` with seq in (`afterSeq`, `untilSeq`], oldest first — or
   * undefined when the ring does not reach back to `afterSeq` + 1 (read a colder tier then).
   */
  slice(stream: string, afterSeq: number, untilSeq: number): SequencedEvent[] | undefined {
    const ring = this.#rings.get(stream);
    if (!ring || ring.length === 0) return undefined;
    const first = ring.slots[ring.start] as SequencedEvent;
    if (first.seq > afterSeq + 1) return undefined;
    const out: SequencedEvent[] = [];
    for (let i = 0; i < ring.length; i++) {
      const e = ring.slots[(ring.start + i) % this.#perStream] as SequencedEvent;
      if (e.seq > untilSeq) break;
      if (e.seq > afterSeq) out.push(e);
    }
    return out;
  }

  /** Replaces the ringed events of `stream` that `match` by `replace(event)` (same seq), bytes recounted. */
  rewrite(stream: string, match: (e: SequencedEvent) => boolean, replace: (e: SequencedEvent) => SequencedEvent): void {
    const ring = this.#rings.get(stream);
    if (!ring) return;
    for (let i = 0; i < ring.length; i++) {
      const at = (ring.start + i) % this.#perStream;
      const e = ring.slots[at] as SequencedEvent;
      if (!match(e)) continue;
      const next = replace(e);
      const delta = next.payloadJson.length + next.channel.length - e.payloadJson.length - e.channel.length;
      ring.slots[at] = next;
      ring.bytes += delta;
      this.#bytes += delta;
    }
  }

  /** Drops the ring of `stream` (an erased stream). */
  drop(stream: string): void {
    const ring = this.#rings.get(stream);
    if (!ring) return;
    this.#rings.delete(stream);
    this.#bytes -= ring.bytes;
  }

  /** Drops every ring (history in colder tiers is untouched). */
  clear(): void {
    this.#rings.clear();
    this.#bytes = 0;
  }
}
