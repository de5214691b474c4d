import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { type History, HistoryGoneError, type StreamPosition } from "../../core/fabric/history.js";
import { streamKind } from "../../core/fabric/streams.js";
import { StyxError } from "../../core/platform/errors.js";
import { encodeBatchFrame, encodeEventFrame } from "../../protocol/fabric.js";
import type { ResumedStream } from "../../protocol/frames.js";
import { ChannelFilter } from "./channel-filter.js";
import type { Connection } from "./connection.js";
import type { RecordToll } from "./record-toll.js";
import type { SharedFrame } from "./shared-frame.js";

/** Rough memory of an event held during a replay beyond its payload. */
const HELD_EVENT_OVERHEAD = 200;

/**
 * One followed stream: the seq it was joined at, while its history is replayed the live events
 * waiting behind it, and where its events go (the connection, or for a federation stream that
 * pays, the RecordToll in front of it).
 */
interface Follow {
  joinedAt: number;
  held: SequencedEvent[] | null;
  heldBytes: number;
  readonly out: Pick<Connection, "send" | "sendShared">;
}

/** Where the hub indexes this socket's streams. */
export interface StreamIndex {
  join(stream: string): void;
  leave(stream: string): void;
}

/** A resume's answer for one stream, and the replay to run after the answer was sent. */
export interface Resumption {
  readonly answer: ResumedStream;
  readonly replay: () => Promise<void>;
}

/**
 * The streams one socket follows, and the one place that decides what of a stream reaches it:
 * every event after the position it joined at, exactly once, in order, live events held back
 * while older ones are replayed. It also owns the channel filter. Each follow is an object of
 * its own, so a replay notices at once when its stream was left (or left and joined again).
 */
export class Subscriptions {
  readonly #conn: Connection;
  readonly #history: History;
  readonly #index: StreamIndex;
  readonly #follows = new Map<string, Follow>();
  /** The channel filter (`subscribe.categories`). */
  readonly channels = new ChannelFilter();
  #skip: ((event: SequencedEvent) => boolean) | null = null;
  #toll: RecordToll | null = null;

  constructor(conn: Connection, history: History, index: StreamIndex) {
    this.#conn = conn;
    this.#history = history;
    this.#index = index;
  }

  /** The streams followed. */
  streams(): IterableIterator<string> {
    return this.#follows.keys();
  }

  follows(stream: string): boolean {
    return this.#follows.has(stream);
  }

  /** How many domain streams are followed. */
  domainCount(): number {
    return this.#count("domain");
  }

  /** How many federation streams are followed. */
  federationCount(): number {
    return this.#count("federation");
  }

  /**
   * Events never delivered to this socket, live or replayed (a downstream's own records on the
   * federation streams, see federationSkip); they still count as passed in its positions.
   * `toll` (pricing on): the federation streams followed from now on send each record through it.
   */
  skipWhen(skip: (event: SequencedEvent) => boolean, toll?: RecordToll): void {
    this.#skip = skip;
    this.#toll ??= toll ?? null;
  }

  /** Follows `stream` from its current position: every later event reaches the socket exactly once. */
  async join(stream: string): Promise<StreamPosition> {
    const f = this.#start(stream);
    let position: StreamPosition;
    try {
      position = await this.#history.position(stream);
    } catch (err) {
      this.#drop(stream, f);
      throw err;
    }
    if (this.#follows.get(stream) !== f) return position;
    f.joinedAt = position.seq;
    this.#release(f);
    return position;
  }

  /**
   * Follows `stream` again from `since` (or, already followed, fills what it missed before it
   * joined). The answer is sent first, then `replay`, which releases the live events held meanwhile.
   */
  async resume(stream: string, since: StreamPosition): Promise<Resumption> {
    const existing = this.#follows.get(stream);
    const f = existing ?? this.#start(stream);
    let r: Awaited<ReturnType<History["recover"]>>;
    try {
      r = await this.#history.recover(stream, since);
    } catch (err) {
      if (!existing) this.#drop(stream, f);
      throw err;
    }
    // A stream already followed got every event after its join position live: replay only up to it.
    const until = existing ? Math.min(r.seq, existing.joinedAt) : r.seq;
    if (!existing) f.joinedAt = r.seq;
    const answer: ResumedStream = r.recovered
      ? { recovered: true, epoch: r.epoch, seq: r.seq }
      : { recovered: false, epoch: r.epoch, seq: r.seq, reason: r.reason };
    const replay = async () => {
      if (r.recovered) await this.#replay(stream, f, r.pages, until);
      if (!existing && this.#follows.get(stream) === f) this.#release(f);
    };
    return { answer, replay };
  }

  /** Stops following `stream` (live events held for it are dropped; a replay of it stops). */
  leave(stream: string): void {
    const f = this.#follows.get(stream);
    if (f) this.#drop(stream, f);
  }

  /** Forgets everything (the socket closed). */
  clear(): void {
    for (const [stream, f] of [...this.#follows]) this.#drop(stream, f);
  }

  /** Live delivery of one event whose frame the hub serialised once for all its recipients. */
  deliver(event: SequencedEvent, frame: SharedFrame): void {
    // The path every recipient of every live event takes: no allocation, no lookup it can skip.
    if (!this.channels.wants(event.channel)) return;
    const f = this.#follows.get(event.stream);
    if (f === undefined) return;
    if (this.#skip?.(event)) return;
    if (f.held !== null) {
      this.#hold(f, [event]);
      return;
    }
    // A tick's batch or an event sequenced just before the join may still be on its way: the
    // join position (or the replay) already covers those.
    if (event.seq > f.joinedAt) f.out.sendShared(frame);
  }

  /** Live delivery of a tick's events of one stream (re-encoded only when the filter or the join position leaves some out). */
  deliverBatch(stream: string, events: readonly SequencedEvent[], frame: SharedFrame): void {
    const f = this.#follows.get(stream);
    if (f === undefined) return;
    let mine = events;
    if (!this.channels.all || (events[0] as SequencedEvent).seq <= f.joinedAt) {
      mine = events.filter((e) => this.channels.wants(e.channel) && e.seq > f.joinedAt);
      if (mine.length === 0) return;
    }
    if (f.held !== null) {
      this.#hold(f, mine);
      return;
    }
    if (mine === events) this.#conn.sendShared(frame);
    else this.#conn.send(Buffer.from(encodeBatchFrame(mine)));
  }

  #start(stream: string): Follow {
    const out = this.#toll !== null && streamKind(stream) === "federation" ? this.#toll : this.#conn;
    const f: Follow = { joinedAt: 0, held: [], heldBytes: 0, out };
    this.#follows.set(stream, f);
    this.#index.join(stream);
    return f;
  }

  #drop(stream: string, f: Follow): void {
    if (this.#follows.get(stream) !== f) return;
    this.#follows.delete(stream);
    this.#index.leave(stream);
    this.#conn.unhold(f.heldBytes);
    f.held = null;
    f.heldBytes = 0;
  }

  #hold(f: Follow, events: readonly SequencedEvent[]): void {
    let bytes = 0;
    for (const e of events) {
      (f.held as SequencedEvent[]).push(e);
      bytes += e.payloadJson.length + HELD_EVENT_OVERHEAD;
    }
    f.heldBytes += bytes;
    this.#conn.hold(bytes);
  }

  /** Ends a hold: sends the held events after the join position, in order, and resumes live delivery. */
  #release(f: Follow): void {
    const held = f.held;
    f.held = null;
    this.#conn.unhold(f.heldBytes);
    f.heldBytes = 0;
    for (const e of held ?? []) if (e.seq > f.joinedAt && !this.#skip?.(e)) f.out.send(Buffer.from(encodeEventFrame(e)));
  }

  #count(kind: "domain" | "federation"): number {
    let n = 0;
    for (const s of this.#follows.keys()) if (streamKind(s) === kind) n++;
    return n;
  }

  /** Sends the history of a stream up to `until`, a page at a time as the reader takes them. */
  async #replay(stream: string, f: Follow, pages: AsyncIterable<readonly SequencedEvent[]>, until: number): Promise<void> {
    try {
      for await (const page of pages) {
        for (const e of page) {
          if (e.seq > until || this.#follows.get(stream) !== f) return;
          if (!this.channels.wants(e.channel) || this.#skip?.(e)) continue;
          if (this.#conn.backlogged && !(await this.#conn.writable())) return;
          if (f.out === this.#toll && this.#toll.waiting && !(await this.#toll.settled())) return;
          if (this.#follows.get(stream) !== f) return;
          f.out.send(Buffer.from(encodeEventFrame(e)));
        }
      }
    } catch (err) {
      if (err instanceof HistoryGoneError) throw new StyxError("STYX_HISTORY_GONE", undefined, { cause: err });
      throw err;
    }
  }
}
