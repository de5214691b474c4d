import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { streamKind } from "../../core/fabric/streams.js";
import { encodeBatchFrame, encodeEventFrame } from "../../protocol/fabric.js";
import { type Connection, SharedFrame } from "./connection.js";

/**
 * Routes sequenced events from the bus to the sockets of this process. User streams are sent
 * at once; domain and public streams are gathered per fan-out tick and sent as one frame per
 * stream per tick. Each frame is serialised once and the same bytes go to every recipient.
 */
export class Hub {
  readonly #streams = new Map<string, Set<Connection>>();
  readonly #golems = new Map<string, Set<Connection>>();
  readonly #connections = new Set<Connection>();
  readonly #tickMs: number;
  #batch = new Map<string, SequencedEvent[]>();
  #timer: NodeJS.Timeout | undefined;

  /** `tickMs`: the domain fan-out tick (events of a domain within one tick share a frame). */
  constructor(options: { tickMs: number }) {
    this.#tickMs = options.tickMs;
  }

  /** Open connections of this process. */
  get size(): number {
    return this.#connections.size;
  }

  /** Every open connection (for shutdown, pings and queue metrics). */
  connections(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  add(conn: Connection): void {
    this.#connections.add(conn);
  }

  /** Forgets a closed connection everywhere. */
  remove(conn: Connection): void {
    this.#connections.delete(conn);
    for (const s of conn.streams) this.#leaveIndex(this.#streams, s, conn);
    for (const g of conn.speaksFor) this.#leaveIndex(this.#golems, g, conn);
  }

  /**
   * Adds `conn` to a stream. A connection already removed is not indexed again: a message can
   * close mid-way (a subscribe awaiting the history's position, a round trip on a macronode) and
   * a late join would keep the dead socket in the index for good.
   */
  join(conn: Connection, stream: string): void {
    if (!this.#connections.has(conn)) return;
    conn.streams.add(stream);
    entry(this.#streams, stream, () => new Set()).add(conn);
  }

  leave(conn: Connection, stream: string): void {
    conn.streams.delete(stream);
    conn.joinedAt.delete(stream);
    this.#leaveIndex(this.#streams, stream, conn);
  }

  /**
   * Records that `conn` speaks for `golemId`; true the first time. False for a connection
   * already removed (as for `join`): it would keep the golem online for good, and its held clade
   * deltas would be handed to a socket that is gone.
   */
  identify(conn: Connection, golemId: string): boolean {
    if (!this.#connections.has(conn) || conn.speaksFor.has(golemId)) return false;
    conn.speaksFor.add(golemId);
    entry(this.#golems, golemId, () => new Set()).add(conn);
    return true;
  }

  /** Whether a golem has a live socket on this process. */
  online(golemId: string): boolean {
    return (this.#golems.get(golemId)?.size ?? 0) > 0;
  }

  /** Takes one event from the bus. */
  dispatch(event: SequencedEvent): void {
    const kind = streamKind(event.stream);
    if (kind === "user") {
      const set = this.#streams.get(event.stream);
      if (!set || set.size === 0) return;
      const frame = new SharedFrame(Buffer.from(encodeEventFrame(event)));
      for (const conn of set) conn.deliver(event, frame);
      return;
    }
    entry(this.#batch, event.stream, () => []).push(event);
    this.#timer ??= setTimeout(() => this.flush(), this.#tickMs);
  }

  /** Sends the domain and public events gathered since the last tick. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    this.#batch = new Map();
    for (const [stream, events] of batch) {
      const set = this.#streams.get(stream);
      if (!set || set.size === 0) continue;
      const frame = new SharedFrame(Buffer.from(encodeBatchFrame(events)));
      for (const conn of set) conn.deliverBatch(stream, events, frame);
    }
  }

  /** Stops the tick timer (events still gathered are sent first). */
  stop(): void {
    this.flush();
  }

  #leaveIndex(index: Map<string, Set<Connection>>, key: string, conn: Connection): void {
    const set = index.get(key);
    if (!set) return;
    set.delete(conn);
    if (set.size === 0) index.delete(key);
  }
}

/** The value of `key`, created by `make` when absent. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
