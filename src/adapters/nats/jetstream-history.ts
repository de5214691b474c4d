import {
  type ConsumerMessages,
  type ConsumerNotification,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type Consumer as JsConsumer,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type StreamInfo,
} from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";
import {
  ERASED_CHANNEL,
  type History,
  HistoryGoneError,
  namesId,
  type Recovery,
  recoverFrom,
  type StreamPosition,
} from "../../core/fabric/history.js";
import { HotRing } from "../../core/fabric/hot-ring.js";
import { type Clock, systemClock } from "../../core/platform/clock.js";
import { noTracer, type Tracer } from "../../core/platform/tracer.js";
import {
  decodeBatch,
  encodeLine,
  epochOf,
  eventSubject,
  eventSubjectPrefix,
  FIRST_SEQ_HEADER,
  jetStreamName,
  LAST_SEQ_HEADER,
  REWRITE_HEADER,
  streamOfSubject,
  TIP_SEQ_HEADER,
  TRACEPARENT_HEADER,
} from "./event-codec.js";
import { type EventStreamLimits, ensureEventStream } from "./event-stream.js";
import { JetStreamAppender, SubjectTips } from "./jetstream-appender.js";
import type { NatsConnection } from "./nats-connection.js";
import { PubAcks } from "./pub-acks.js";
import { type BatchMessage, eventsOf, rewriteOf, SubjectReader } from "./subject-reader.js";

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
  /**
   * How long appenders wait for the next copy of a redaction before numbering after the copies
   * already stored (the rewriter died), ms (default 5,000).
   */
  readonly rewriteFenceMs?: number;
  /** Test hook: called after each copy a redaction stores (a crash test throws there). */
  readonly afterRewriteCopy?: ((copies: number) => void) | undefined;
  /** Tracing on: each publish is a span, its `traceparent` in the message's headers. */
  readonly tracer?: Tracer | undefined;
}

/** Rounds of a redaction before giving up (each is lost to an append that came first). */
const MAX_REWRITES = 20;

const tombstone = (e: SequencedEvent): SequencedEvent => ({ ...e, channel: ERASED_CHANNEL, payloadJson: "{}" });

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
  readonly #tracer: Tracer;
  #epoch = "";
  #jsm: JetStreamManager | undefined;
  #js: JetStreamClient | undefined;
  #maxBatchBytes = 256 * 1024;
  #reader: SubjectReader | undefined;
  #appender: JetStreamAppender | undefined;
  #pubAcks: PubAcks | undefined;
  #consumer: { c: JsConsumer; messages: ConsumerMessages } | undefined;
  #statusIter: (AsyncIterable<unknown> & { stop?: () => void }) | undefined;
  #checking: Promise<void> | undefined;
  #closed = false;

  constructor(options: JetStreamHistoryOptions) {
    this.#conn = options.nats;
    this.#clock = options.clock ?? systemClock;
    this.#o = options;
    this.#tracer = options.tracer ?? noTracer;
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
    this.#js = js;
    this.#reader = new SubjectReader({ direct: jsm.direct, js, stream: this.#name, idleMs: timeout });
    const info = await ensureEventStream(jsm, this.#name, eventSubjectPrefix(this.#o.cluster), this.#o);
    this.#epoch = epochOf(this.#name, info.created);
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    this.#maxBatchBytes = Math.min(this.#o.maxBatchBytes ?? 256 * 1024, maxPayload - 8192);
    this.#pubAcks = new PubAcks(nc);
    this.#appender = new JetStreamAppender({
      publisher: this.#pubAcks,
      reader: this.#reader,
      tips: this.#tips,
      clock: this.#clock,
      cluster: this.#o.cluster,
      epoch: () => this.#epoch,
      assertConnected: (what) => this.#conn.assertConnected(what),
      maxBatchBytes: this.#maxBatchBytes,
      maxPayload,
      publishTimeoutMs: timeout,
      tracer: this.#tracer,
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
   * `StreamEraser.redact` over JetStream, which cannot change a stored message: the messages of
   * the subject from the oldest one holding an event that names `id` up to the last are stored
   * again after it, with those events as ERASED_CHANNEL tombstones under the same seqs and times,
   * then the originals are deleted newest first (what is left always reads without a hole; the
   * copies keep the subject's seqs rising with the JetStream seqs, which resumes rely on).
   * Every copy but the last carries a fence (REWRITE_HEADER) with the subject's tip: appenders
   * of every gateway wait for the last copy (or the fence's time, should the rewriter die)
   * before numbering after it, and every gateway's delivery applies the tombstones to its hot
   * ring instead of delivering the copies again. An append that got in first makes the rewrite
   * start over; one cut short leaves copies of stored events, which readers skip as duplicates
   * and the next run (an erasure step is run again until done) deletes with the originals.
   * The copies restart their retention (STYX_HISTORY_RETENTION) from the rewrite.
   */
  async redact(stream: string, id: string): Promise<boolean> {
    if (!this.#jsm || !this.#js) throw new Error("JetStreamHistory.redact before open()");
    await this.flush();
    const subject = eventSubject(this.#o.cluster, stream);
    const needle = JSON.stringify(id);
    const names = (m: BatchMessage) => m.body.includes(needle) && eventsOf(m, this.#epoch).some((e) => namesId(e.payloadJson, id));
    for (let round = 0; ; round++) {
      if (round >= MAX_REWRITES) throw new Error(`redaction of ${stream} lost ${MAX_REWRITES} rounds to concurrent appends`);
      const reader = this.#readerOrThrow();
      const tip = await reader.last(subject);
      if (!tip) break;
      // Another rewrite of the subject is under way (or died): wait for its end or its fence.
      const fenced = tip.fencedUntil - Date.now();
      if (fenced > 0) {
        await new Promise((r) => setTimeout(r, Math.min(fenced + 1, 100)));
        round--;
        continue;
      }
      const tail = await this.#tailNaming(subject, tip, names);
      if (tail.length === 0) break;
      const fence = await this.#fence(subject, tail, id);
      if (fence === undefined || !(await this.#storeCopies(subject, tail, fence, id))) continue;
      // The fence goes too; newest first, so what is left always reads without a hole.
      for (const js of [fence, ...tail.map((m) => m.js).reverse()]) {
        await this.#jsm.streams.deleteMessage(this.#name, js, true).catch((err: unknown) => {
          // Aged out meanwhile: nothing left to delete.
          if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound)) throw err;
        });
      }
      break;
    }
    this.#ring.rewrite(stream, (e) => namesId(e.payloadJson, id), tombstone);
    return true;
  }

  /** The messages of `subject` from the oldest holding an event `names` picks up to `tip` (none: nothing to rewrite). */
  async #tailNaming(subject: string, tip: BatchMessage, names: (m: BatchMessage) => boolean): Promise<BatchMessage[]> {
    const reader = this.#readerOrThrow();
    const tail: BatchMessage[] = [];
    const oldest = await reader.next(subject, 1);
    if (!oldest) return tail;
    // Leaving the loop early ends the generator, which stops its consumer.
    for await (const m of reader.from(subject, oldest)) {
      if (m.js > tip.js) break;
      if (tail.length > 0 || names(m)) tail.push(m);
      if (m.js === tip.js) break;
    }
    return tail;
  }

  /**
   * Makes appenders of every gateway wait while the copies are written: stores the subject's last
   * event again (a repeat readers skip) as a fenced copy after the subject's last message, then
   * adds to `tail` what other gateways appended after it first. Answers the fence's JetStream
   * seq, or undefined when another rewrite fenced the subject meanwhile (the caller starts over,
   * waiting for it) or appends kept getting in first.
   */
  async #fence(subject: string, tail: BatchMessage[], id: string): Promise<number | undefined> {
    const reader = this.#readerOrThrow();
    const end = tail.at(-1) as BatchMessage;
    let tip = end;
    let fence: number | undefined;
    // Two round trips per try (the tip, the fence): the messages in between are read once fenced.
    for (let n = 0; fence === undefined; n++) {
      if (n >= MAX_REWRITES || tip.fencedUntil > Date.now()) return undefined;
      const last = eventsOf(tip, this.#epoch).at(-1) as SequencedEvent;
      const e = namesId(last.payloadJson, id) ? tombstone(last) : last;
      fence = await this.#publishCopy(subject, [encodeLine(e.seq, e.ts, e.channel, e.payloadJson)], e.seq, tip.tip, true, tip.js);
      if (fence === undefined) tip = (await reader.last(subject)) ?? tip;
    }
    if (tip.js !== end.js) {
      const first = await reader.next(subject, end.js + 1);
      if (first) {
        for await (const m of reader.from(subject, first)) {
          if (m.js > tip.js) break;
          tail.push(m);
          if (m.js === tip.js) break;
        }
      }
    }
    return fence;
  }

  /**
   * Stores the events of `tail` (each seq once, those naming `id` as tombstones) after the fence
   * `afterJs`, each copy expecting the previous one as the subject's last message. Answers false
   * when an append got in first all the same (the fence's time passed): the caller starts over.
   */
  async #storeCopies(subject: string, tail: readonly BatchMessage[], afterJs: number, id: string): Promise<boolean> {
    const tip = tail.at(-1) as BatchMessage;
    const events: SequencedEvent[] = [];
    let expect = (tail[0] as BatchMessage).first;
    for (const m of tail) {
      for (const e of eventsOf(m, this.#epoch)) {
        // A copy left by a rewrite cut short repeats stored events.
        if (e.seq < expect) continue;
        if (e.seq > expect) throw new Error(`${subject} has no event ${expect} before ${e.seq}: not rewritten`);
        events.push(namesId(e.payloadJson, id) ? tombstone(e) : e);
        expect++;
      }
    }
    if (expect - 1 !== tip.tip) throw new Error(`${subject} ends at seq ${expect - 1}, its tip says ${tip.tip}: not rewritten`);
    const chunks: string[][] = [];
    let bytes = 0;
    for (const e of events) {
      const line = encodeLine(e.seq, e.ts, e.channel, e.payloadJson);
      const size = Buffer.byteLength(line) + 1;
      const current = chunks.at(-1);
      if (!current || (current.length > 0 && bytes + size > this.#maxBatchBytes)) {
        chunks.push([line]);
        bytes = size;
      } else {
        current.push(line);
        bytes += size;
      }
    }
    let last = afterJs;
    let first = (events[0] as SequencedEvent).seq;
    for (let i = 0; i < chunks.length; i++) {
      const lines = chunks[i] as string[];
      const js = await this.#publishCopy(subject, lines, first, tip.tip, i < chunks.length - 1, last);
      if (js === undefined) return false;
      last = js;
      first += lines.length;
      this.#o.afterRewriteCopy?.(i + 1);
    }
    return true;
  }

  /** Publishes one copy (`lines` from seq `first`) if the subject's last message is `expectJs`; undefined when it is not. */
  async #publishCopy(
    subject: string,
    lines: readonly string[],
    first: number,
    tipSeq: number,
    fenced: boolean,
    expectJs: number,
  ): Promise<number | undefined> {
    const h = headers();
    h.set(FIRST_SEQ_HEADER, String(first));
    h.set(LAST_SEQ_HEADER, String(first + lines.length - 1));
    h.set(TIP_SEQ_HEADER, String(tipSeq));
    h.set(REWRITE_HEADER, fenced ? String(Date.now() + (this.#o.rewriteFenceMs ?? 5000)) : "done");
    this.#conn.assertConnected("rewrite stream history");
    try {
      const ack = await (this.#js as JetStreamClient).publish(subject, lines.join("\n"), {
        expect: { lastSubjectSequence: expectJs },
        headers: h,
      });
      return ack.seq;
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence) return undefined;
      throw err;
    }
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
    this.#pubAcks?.close();
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
      const rewrite = rewriteOf(m.headers, last);
      if (rewrite.rewrite) {
        this.#applyRewrite(stream, m, rewrite.fencedUntil === 0 ? rewrite.tip : undefined);
        return;
      }
      this.#tips.learn(stream, { seq: last, js: m.seq });
      const prev = this.#delivered.get(stream);
      if (prev !== undefined && last <= prev) return;
      const events = decodeBatch(stream, this.#epoch, m.string());
      if (this.#delivered.size >= 100_000 && prev === undefined) this.#delivered.clear();
      this.#delivered.set(stream, last);
      const hand = () => {
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
      };
      // A message published in a trace is handed to this gateway's subscribers (its sockets) in a consumer span of that trace.
      const traceparent = this.#tracer.enabled ? m.headers?.get(TRACEPARENT_HEADER) : undefined;
      if (!traceparent) hand();
      else
        this.#tracer.span(`nats.deliver ${m.subject}`, hand, {
          kind: "consumer",
          parent: traceparent,
          attributes: { "messaging.system": "nats", "messaging.destination.name": m.subject },
        });
    } catch (err) {
      this.onError(err);
    }
  }

  /**
   * A redaction's copy (see `redact`): its tombstones replace the events of the same seqs in the
   * hot ring; nothing is delivered again. The last copy (`tip` set) is where appends go on.
   */
  #applyRewrite(stream: string, m: JsMsg, tip: number | undefined): void {
    if (tip !== undefined) this.#tips.learn(stream, { seq: tip, js: m.seq });
    const erased = new Map<number, SequencedEvent>();
    for (const e of decodeBatch(stream, this.#epoch, m.string())) if (e.channel === ERASED_CHANNEL) erased.set(e.seq, e);
    if (erased.size === 0) return;
    this.#ring.rewrite(
      stream,
      (e) => e.channel !== ERASED_CHANNEL && erased.has(e.seq),
      (e) => erased.get(e.seq) ?? e,
    );
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
