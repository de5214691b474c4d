import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { diedGolem } from "../../core/fabric/fabric-service.js";
import { isDeliveredAtOnce, streamKind } from "../../core/fabric/streams.js";
import { encodeBatchFrame, encodeEventFrame } from "../../protocol/fabric.js";
import type { SocketSession } from "./session.js";
import { SharedFrame } from "./shared-frame.js";

/**
 * The sockets of this process, indexed by the streams they follow and the golems they speak
 * for, and the fan-out of sequenced events from the bus to them. User, golem and federation streams are sent at once;
 * domain and public streams are gathered per fan-out tick and sent as one frame per stream per
 * tick. Each frame is serialised once and the same bytes go to every recipient. The hub holds
 * indexes only: what a socket follows, and from where, is its Subscriptions'.
 */
export class Hub {
  readonly #streams = new Map<string, Set<SocketSession>>();
  readonly #golems = new Map<string, Set<SocketSession>>();
  readonly #sessions = new Set<SocketSession>();
  readonly #tickMs: number;
  #batch = new Map<string, SequencedEvent[]>();
  #timer: NodeJS.Timeout | undefined;

  /** `tickMs`: the domain fan-out tick (events of a domain within one tick share a frame). */
  constructor(options: { tickMs: number }) {
    this.#tickMs = options.tickMs;
  }

  /** Open sockets of this process. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Every open socket (for shutdown, pings, sweeps and queue metrics). */
  sessions(): IterableIterator<SocketSession> {
    return this.#sessions.values();
  }

  add(session: SocketSession): void {
    this.#sessions.add(session);
  }

  /** Forgets a closed socket everywhere. */
  remove(session: SocketSession): void {
    this.#sessions.delete(session);
    for (const s of session.subscriptions.streams()) this.#unindex(this.#streams, s, session);
    for (const g of session.golems()) this.#unindex(this.#golems, g, session);
  }

  /**
   * Indexes `session` under a stream. A socket already removed is not indexed again: a message
   * can close mid-way (a subscribe awaiting the history's position, a round trip on a macronode)
   * and a late join would keep the dead socket in the index for good.
   */
  join(session: SocketSession, stream: string): void {
    if (this.#sessions.has(session)) entry(this.#streams, stream, () => new Set()).add(session);
  }

  leave(session: SocketSession, stream: string): void {
    this.#unindex(this.#streams, stream, session);
  }

  /**
   * Records that `session` speaks for `golemId`; true the first time. False for a socket
   * already removed (as for `join`): it would keep the golem online for good, and its held clade
   * deltas would be handed to a socket that is gone.
   */
  identify(session: SocketSession, golemId: string): boolean {
    if (!this.#sessions.has(session) || !session.speakFor(golemId)) return false;
    entry(this.#golems, golemId, () => new Set()).add(session);
    return true;
  }

  /** Whether a golem has a live socket on this process. */
  online(golemId: string): boolean {
    return (this.#golems.get(golemId)?.size ?? 0) > 0;
  }

  /** Takes one event from the bus. */
  dispatch(event: SequencedEvent): void {
    if (isDeliveredAtOnce(event.stream)) {
      if (event.channel === "styx:bloodstain" && streamKind(event.stream) === "user") this.#died(event);
      const set = this.#streams.get(event.stream);
      if (!set || set.size === 0) return;
      const frame = new SharedFrame(Buffer.from(encodeEventFrame(event)));
      for (const session of set) session.subscriptions.deliver(event, frame);
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
      for (const session of set) session.subscriptions.deliverBatch(stream, events, frame);
    }
  }

  /** Stops the tick timer (events still gathered are sent first). */
  stop(): void {
    this.flush();
  }

  /** A golem died: no socket speaks for it any more (it is offline at once), none keeps its tenancy cached. */
  #died(event: SequencedEvent): void {
    const golemId = diedGolem(event);
    const set = golemId === undefined ? undefined : this.#golems.get(golemId);
    if (!golemId || !set) return;
    this.#golems.delete(golemId);
    for (const session of set) session.forgetGolem(golemId);
  }

  #unindex(index: Map<string, Set<SocketSession>>, key: string, session: SocketSession): void {
    const set = index.get(key);
    if (!set) return;
    set.delete(session);
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
