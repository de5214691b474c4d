import {
  type ConsumerMessages,
  type ConsumerNotification,
  type JetStreamClient,
  type JetStreamManager,
  type Consumer as JsConsumer,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";
import { type History, HistoryGoneError, type Recovery, recoverFrom, type StreamPosition } from "../../core/fabric/history.js";
import { HotRing } from "../../core/fabric/hot-ring.js";
import { type Clock, systemClock } from "../../core/platform/clock.js";
import { decodeBatch, epochOf, eventSubject, eventSubjectPrefix, jetStreamName, LAST_SEQ_HEADER, streamOfSubject } from "./event-codec.js";
import { type EventStreamLimits, ensureEventStream } from "./event-stream.js";
import { JetStreamAppender, SubjectTips } from "./jetstream-appender.js";
import type { NatsConnection } from "./nats-connection.js";
import { type BatchMessage, eventsOf, SubjectReader } from "./subject-reader.js";

/** Sizes, limits and timeouts of a JetStream history (SPEC §9 numbers by default). */
export interface JetStreamHistoryOptions extends EventStreamLimits {
  /** The gateway's NATS connection (shared; the history never closes it). */
  readonly nats: NatsConnection;
  /** Source of event timestamps (default: the system clock). */
  readonly clock?: Clock;
  /** The Styx on these services: names the JetStream stream (`<CLUSTER>_EVENTS`) and subjects. */
  readonly cluster: string;
  /** Events per stream kept in this gateway's memory (default 1,000). */
  readonly hotPerStream?: number;
  /** Memory for all hot rings together (default 64 MiB). */
  readonly hotMaxBytes?: number;
  /** How long a publish (or a read) may wait for JetStream, ms (default 5,000): past it, it fails rather than hangs. */
  readonly timeoutMs?: number;
  /** NDJSON bytes per message (default 256 KiB, always capped under the server's max_payload). */
  readonly maxBatchBytes?: number;
}

/** A note from the delivery consumer or the stream identity check, for logs and metrics. */
export type HistoryStatus =
  | { readonly type: "consumer"; readonly note: ConsumerNotification }
  | { readonly type: "epoch_changed"; readonly from: string; readonly to: string };

/**
 * Stream history and delivery of a macronode gateway, over one JetStream stream per cluster
 * (one subject per Styx stream). JetStream is the sequencer (optimistic concurrency on the
 * subject's last message, see JetStreamAppender) and the history (direct gets); every
 * gateway runs one ordered consumer over the whole stream and hands each event, in seq
 * order, to its subscribers and its hot ring, so an event published on any gateway reaches
 * every gateway by the same path. The epoch is a hash of the stream's name and creation
 * time: gateways agree on it without talking, and a recreated stream gets a new one.
 */
export class JetStreamHistory implements History {
  /** Called with a subscriber's exception or an undecodable message (delivery goes on). */
  onError: (err: unknown) => void = () => {};
  /** Called on consumer notifications (recreated after a reconnect, heartbeats missed, …). */
  onStatus: (status: HistoryStatus) => void = () => {};
  readonly #conn: NatsConnection;
  readonly #clock: Clock;
  readonly #o: JetStreamHistoryOptions;
  readonly #name: string;
  readonly #ring: HotRing;
  readonly #tips = new SubjectTips();
  /** The last seq handed to subscribers per stream, to drop anything delivered twice. */
  readonly #delivered = new Map<string, number>();
  readonly #handlers = new Set<(event: SequencedEvent) => void>();
  #epoch = "";
  #jsm: JetStreamManager | undefined;
  #reader: SubjectReader | undefined;
  #appender: JetStreamAppender | undefined;
  #consumer: { c: JsConsumer; messages: ConsumerMessages } | undefined;
  #statusIter: (AsyncIterable<unknown> & { stop?: () => void }) | undefined;
  #checking: Promise<void> | undefined;
  #closed = false;

  constructor(options: JetStreamHistoryOptions) {
    this.#conn = options.nats;
    this.#clock = options.clock ?? systemClock;
    this.#o = options;
    this.#name = jetStreamName(options.cluster);
    this.#ring = new HotRing({ perStream: this.#o.hotPerStream ?? 1000, maxBytes: this.#o.hotMaxBytes ?? 64 * 1024 * 1024 });
  }

  /** Creates (or adopts) the JetStream stream and starts delivery from its end; call once before use. */
  async open(): Promise<void> {
    const nc = this.#conn.nc;
    const timeout = this.#o.timeoutMs ?? 5000;
    const jsm = await jetstreamManager(nc, { timeout });
    const js: JetStreamClient = jetstream(nc, { timeout });
    this.#jsm = jsm;
    this.#reader = new SubjectReader({ direct: jsm.direct, js, stream: this.#name, idleMs: timeout });
    const info = await ensureEventStream(jsm, this.#name, eventSubjectPrefix(this.#o.cluster), this.#o);
    this.#epoch = epochOf(this.#name, info.created);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#appender = new JetStreamAppender({
      js,
      reader: this.#reader,
      tips: this.#tips,
      clock: this.#clock,
      cluster: this.#o.cluster,
      epoch: () => this.#epoch,
      assertConnected: (what) => this.#conn.assertConnected(what),
      maxBatchBytes: Math.min(this.#o.maxBatchBytes ?? 256 * 1024, maxPayload - 8192),
      maxPayload,
      publishTimeoutMs: timeout,
    });
    await this.#startDelivery(info.state.last_seq + 1);
    void this.#watchConnection();
  }

  /** The history generation of every stream of this history. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Memory held by the hot tier (estimated bytes). */
  get hotBytes(): number {
    return this.#ring.bytes;
  }

  /** Gives `event` the next seq of its stream across all gateways; resolves once JetStream acknowledged it. */
  append(event: StyxEvent): Promise<SequencedEvent> {
    if (!this.#appender) return Promise.reject(new Error("JetStreamHistory.append before open()"));
    return this.#appender.append(event);
  }

  /** Resolves when every append made so far has been acknowledged (or failed). */
  async flush(): Promise<void> {
    await this.#appender?.flush();
  }

  /** Calls `handler` for every event delivered from now on (any gateway's), per stream in seq order. */
  subscribe(handler: (event: SequencedEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /**
   * Forgets `stream` (an erasure, SPEC §3): its subject is purged from the JetStream stream and
   * its hot ring dropped here. Other gateways' hot rings keep their copy until it ages out; only
   * the stream's tenant could read it, and the erasure removed that tenant first.
   */
  async eraseStream(stream: string): Promise<void> {
    if (!this.#jsm) throw new Error("JetStreamHistory.eraseStream before open()");
    await this.flush();
    await this.#jsm.streams.purge(this.#name, { filter: eventSubject(this.#o.cluster, stream) });
    this.#ring.drop(stream);
    this.#tips.forget(stream);
    this.#delivered.delete(stream);
  }

  /**
   * JetStream cannot rewrite a stored message (a batch of events) in place, and deleting one
   * would leave a hole a replay cannot see: events naming an erased id age out with the
   * stream's retention (STYX_HISTORY_RETENTION) instead. Answers false.
   */
  async redact(_stream: string, _id: string): Promise<boolean> {
    return false;
  }

  async position(stream: string): Promise<StreamPosition> {
    return { epoch: this.#epoch, seq: (await this.#tip(stream)).seq };
  }

  async recover(stream: string, since: StreamPosition, pageSize = 1000): Promise<Recovery> {
    const seq = (await this.#tip(stream)).seq;
    return recoverFrom(
      since,
      { epoch: this.#epoch, seq },
      // Missed events in the hot ring are kept; otherwise JetStream's oldest message of the subject says.
      async () =>
        this.#ring.slice(stream, since.seq, seq)?.length
          ? since.seq + 1
          : (await this.#readerOrThrow().next(eventSubject(this.#o.cluster, stream), 1))?.first,
      () => this.#pages(stream, since.seq, seq, Math.max(1, pageSize)),
    );
  }

  /** Stops delivery and waits for pending appends; the connection stays open (it is shared). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    this.#statusIter?.stop?.();
    await this.#stopDelivery();
    this.#handlers.clear();
  }

  async #tip(stream: string) {
    return this.#tips.get(stream) ?? this.#tips.learn(stream, await this.#readerOrThrow().tip(eventSubject(this.#o.cluster, stream)));
  }

  #readerOrThrow(): SubjectReader {
    if (!this.#reader) throw new Error("JetStreamHistory used before open()");
    this.#conn.assertConnected("read stream history");
    return this.#reader;
  }

  async *#pages(stream: string, after: number, until: number, pageSize: number): AsyncGenerator<readonly SequencedEvent[]> {
    let cursor = after;
    while (cursor < until) {
      const hot = this.#ring.slice(stream, cursor, until);
      const last = hot?.[Math.min(hot.length, pageSize) - 1];
      // Fewer ringed events than promised (not delivered here yet): the rest comes from JetStream.
      if (!hot || !last) break;
      yield hot.length > pageSize ? hot.slice(0, pageSize) : hot;
      cursor = last.seq;
    }
    if (cursor < until) yield* this.#coldPages(stream, cursor, until, pageSize);
  }

  async *#coldPages(stream: string, after: number, until: number, pageSize: number): AsyncGenerator<readonly SequencedEvent[]> {
    const reader = this.#readerOrThrow();
    const subject = eventSubject(this.#o.cluster, stream);
    const gone = () => new HistoryGoneError(`history of ${stream} after seq ${after} is no longer kept`);
    const oldest = await reader.next(subject, 1);
    if (!oldest || oldest.first > after + 1) throw gone();
    let m: BatchMessage = oldest;
    if (oldest.last <= after) {
      const upper = await reader.last(subject);
      if (!upper || upper.last <= after) throw gone();
      m = await reader.locate(subject, after + 1, oldest.js + 1, upper);
    }
    let expect = after + 1;
    let page: SequencedEvent[] = [];
    // Leaving the loop early ends the generator, which stops its consumer.
    for await (const msg of reader.from(subject, m)) {
      if (msg.first > expect) throw gone();
      for (const e of eventsOf(msg, this.#epoch)) {
        if (e.seq < expect || e.seq > until) continue;
        page.push(e);
        expect = e.seq + 1;
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
      if (expect > until) break;
    }
    if (expect <= until) throw gone();
    if (page.length > 0) yield page;
  }

  async #startDelivery(fromJs: number): Promise<void> {
    const js = jetstream(this.#conn.nc, { timeout: this.#o.timeoutMs ?? 5000 });
    // filter_subjects as a string becomes filter_subject, which a 2.9 server understands.
    const c = await js.consumers.get(this.#name, { filter_subjects: `${eventSubjectPrefix(this.#o.cluster)}>`, opt_start_seq: fromJs });
    // Pull requests expire every 5 s (default 30 s): after a NATS restart the client recreates
    // the ordered consumer but keeps the old request's pending count (client 3.4), so delivery
    // only resumes when that request expires — within 5 s instead of 30 s.
    const messages = await c.consume({ max_messages: 1000, expires: 5000, callback: (m) => this.#deliver(m) });
    this.#consumer = { c, messages };
    void (async () => {
      for await (const note of messages.status()) {
        this.#emit({ type: "consumer", note });
        if (note.type === "stream_not_found" || note.type === "consumer_deleted") void this.#checkIdentity();
        // Third-party edge: resetPending (public in the JS, absent from the types) re-pulls a full batch at once.
        if (note.type === "ordered_consumer_recreated")
          void (messages as unknown as { resetPending?: () => Promise<boolean> }).resetPending?.();
      }
    })();
  }

  async #stopDelivery(): Promise<void> {
    const current = this.#consumer;
    this.#consumer = undefined;
    if (!current) return;
    current.messages.stop();
    // The ordered consumer would expire on its own after 5 minutes of inactivity; no need to wait.
    await current.c.delete().catch(() => false);
  }

  #deliver(m: JsMsg): void {
    try {
      const stream = streamOfSubject(m.subject);
      const last = Number(m.headers?.get(LAST_SEQ_HEADER));
      this.#tips.learn(stream, { seq: last, js: m.seq });
      const prev = this.#delivered.get(stream);
      if (prev !== undefined && last <= prev) return;
      const events = decodeBatch(stream, this.#epoch, m.string());
      if (this.#delivered.size >= 100_000 && prev === undefined) this.#delivered.clear();
      this.#delivered.set(stream, last);
      for (const e of events) {
        if (prev !== undefined && e.seq <= prev) continue;
        this.#ring.push(e);
        for (const h of this.#handlers) {
          try {
            h(e);
          } catch (err) {
            this.onError(err);
          }
        }
      }
    } catch (err) {
      this.onError(err);
    }
  }

  /** Re-reads the stream's identity after a reconnect or a lost stream: a recreated stream is a new epoch. */
  #checkIdentity(): Promise<void> {
    this.#checking ??= (async () => {
      try {
        if (this.#closed || !this.#jsm) return;
        const info: StreamInfo = await ensureEventStream(this.#jsm, this.#name, eventSubjectPrefix(this.#o.cluster), this.#o);
        const epoch = epochOf(this.#name, info.created);
        if (epoch === this.#epoch) return;
        const from = this.#epoch;
        this.#epoch = epoch;
        this.#tips.forget();
        this.#ring.clear();
        this.#delivered.clear();
        await this.#stopDelivery();
        if (!this.#closed) await this.#startDelivery(info.state.first_seq || 1);
        this.#emit({ type: "epoch_changed", from, to: epoch });
      } catch (err) {
        this.onError(err);
      } finally {
        this.#checking = undefined;
      }
    })();
    return this.#checking;
  }

  async #watchConnection(): Promise<void> {
    const iter = this.#conn.nc.status() as AsyncIterable<{ type: string }> & { stop?: () => void };
    this.#statusIter = iter;
    for await (const s of iter) {
      if (this.#closed) break;
      if (s.type === "reconnect") void this.#checkIdentity();
    }
  }

  #emit(status: HistoryStatus): void {
    try {
      this.onStatus(status);
    } catch (err) {
      this.onError(err);
    }
  }
}
