import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { headers, TimeoutError } from "@nats-io/transport-node";
import type { SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";
import type { Clock } from "../../core/platform/clock.js";
import type { Tracer } from "../../core/platform/tracer.js";
import { encodeLine, eventSubject, FIRST_SEQ_HEADER, LAST_SEQ_HEADER, TRACEPARENT_HEADER } from "./event-codec.js";
import { NatsUnavailableError } from "./nats-connection.js";
import type { PubAcks, PublishOptions, StoredAck } from "./pub-acks.js";
import type { SubjectReader, SubjectTip } from "./subject-reader.js";

/** Raised when an event could not be stored in JetStream; nothing of it is delivered. */
export class EventPublishError extends Error {
  override readonly name = "EventPublishError";
}

/** Room kept under the server's max_payload for the headers and the protocol line. */
const HEADER_ROOM = 4096;
/** Renumbering rounds per batch before giving up (each round, some gateway's batch wins). */
const MAX_CONFLICTS = 50;
/** How often an append waiting behind a redaction's fence looks at the subject again, ms. */
const FENCE_POLL_MS = 20;

interface Pending {
  readonly channel: string;
  readonly ts: number;
  readonly payloadJson: string;
  readonly resolve: (e: SequencedEvent) => void;
  readonly reject: (err: unknown) => void;
  /** The trace the append was made in (tracing on), continued by the publish that carries it. */
  readonly traceparent: string | undefined;
}

interface Queue {
  items: Pending[];
  busy: boolean;
}

/**
 * The last known tip of each subject, learnt from our PubAcks and from every delivered
 * message; it only moves forward (by JetStream seq), so a late answer never rewinds it.
 */
export class SubjectTips {
  readonly #tips = new Map<string, SubjectTip>();

  /** The tip of `stream`, if known. */
  get(stream: string): SubjectTip | undefined {
    return this.#tips.get(stream);
  }

  /** Records `tip` unless a newer one is known; returns the newest. */
  learn(stream: string, tip: SubjectTip): SubjectTip {
    const known = this.#tips.get(stream);
    if (known && known.js >= tip.js) return known;
    // Bounded: beyond 100k streams the map starts over and tips are read again on demand.
    if (!known && this.#tips.size >= 100_000) this.#tips.clear();
    this.#tips.set(stream, tip);
    return tip;
  }

  /** Forgets `stream` (after an outcome we cannot know), or every stream. */
  forget(stream?: string): void {
    if (stream === undefined) this.#tips.clear();
    else this.#tips.delete(stream);
  }
}

/** What the appender needs from its history. */
export interface AppenderDeps {
  /** Publishes with their acknowledgements (one inbox subscription for all). */
  readonly publisher: Pick<PubAcks, "publish">;
  readonly reader: SubjectReader;
  readonly tips: SubjectTips;
  readonly clock: Clock;
  readonly cluster: string;
  readonly epoch: () => string;
  readonly assertConnected: (what: string) => void;
  /** Bytes of NDJSON per message (already capped under the server's max_payload). */
  readonly maxBatchBytes: number;
  /** Largest message the server accepts. */
  readonly maxPayload: number;
  readonly publishTimeoutMs: number;
  /** Each publish a span `nats.publish` (a producer) whose `traceparent` travels in the message's headers. */
  readonly tracer: Tracer;
}

/**
 * Sequences events through JetStream: the appends of one stream made in one event-loop turn
 * (and those queued while its previous batch was in flight) go out as one message, with the
 * expectation that the subject's last message is the one this process knows. When another
 * gateway got there first (API error 10071) the batch is renumbered after the subject's real
 * tip and sent again, so seqs stay contiguous across gateways without any coordinator.
 * One publish per subject is in flight at a time; subjects publish concurrently.
 */
export class JetStreamAppender {
  readonly #d: AppenderDeps;
  readonly #queues = new Map<string, Queue>();

  constructor(deps: AppenderDeps) {
    this.#d = deps;
  }

  /** Resolves once the event is stored and numbered. */
  append(event: StyxEvent): Promise<SequencedEvent> {
    try {
      this.#d.assertConnected("publish an event");
    } catch (err) {
      return Promise.reject(err);
    }
    const payloadJson = JSON.stringify(event.payload);
    const ts = this.#d.clock.now();
    return new Promise((resolve, reject) => {
      let q = this.#queues.get(event.stream);
      if (!q) {
        q = { items: [], busy: false };
        this.#queues.set(event.stream, q);
      }
      const traceparent = this.#d.tracer.enabled ? this.#d.tracer.traceparent() : undefined;
      q.items.push({ channel: event.channel, ts, payloadJson, resolve, reject, traceparent });
      if (q.items.length === 1 && !q.busy) setImmediate(() => void this.#run(event.stream, q));
    });
  }

  /** Resolves when every append made so far has been stored (or failed). */
  async flush(): Promise<void> {
    while (this.#queues.size > 0) await new Promise((r) => setTimeout(r, 1));
  }

  async #run(stream: string, q: Queue): Promise<void> {
    if (q.busy) return;
    q.busy = true;
    try {
      while (q.items.length > 0) {
        const items = q.items;
        q.items = [];
        for (let i = 0; i < items.length; ) i += await this.#publishChunk(stream, items, i);
      }
    } finally {
      q.busy = false;
      if (q.items.length === 0) this.#queues.delete(stream);
      else void this.#run(stream, q);
    }
  }

  /** Publishes the longest run of `items` from `start` that fits one message; returns how many it settled. */
  async #publishChunk(stream: string, items: readonly Pending[], start: number): Promise<number> {
    const d = this.#d;
    const subject = eventSubject(d.cluster, stream);
    const deadline = performance.now() + d.publishTimeoutMs;
    try {
      let tip = d.tips.get(stream) ?? d.tips.learn(stream, await this.#serverTip(subject, deadline));
      for (let conflicts = 0; ; conflicts++) {
        const chunk = encodeChunk(items, start, tip.seq, d.maxBatchBytes);
        if (Buffer.byteLength(chunk.body) > d.maxPayload - HEADER_ROOM) {
          (items[start] as Pending).reject(new EventPublishError(`event larger than the NATS max_payload (${d.maxPayload} bytes)`));
          return 1;
        }
        const h = headers();
        h.set(FIRST_SEQ_HEADER, String(tip.seq + 1));
        h.set(LAST_SEQ_HEADER, String(tip.seq + chunk.count));
        const timeout = Math.max(1, Math.round(deadline - performance.now()));
        try {
          d.assertConnected("publish an event");
          const options = { lastSubjectSequence: tip.js, headers: h, timeout };
          // A batch travels in the trace of its first event (one message has one traceparent header).
          const ack = d.tracer.enabled
            ? await this.#tracedPublish(subject, chunk.body, options, chunk.count, (items[start] as Pending).traceparent)
            : await d.publisher.publish(subject, chunk.body, options);
          const first = tip.seq;
          d.tips.learn(stream, { seq: first + chunk.count, js: ack.seq });
          const epoch = d.epoch();
          for (let i = 0; i < chunk.count; i++) {
            const p = items[start + i] as Pending;
            p.resolve({ stream, epoch, seq: first + i + 1, ts: p.ts, channel: p.channel, payloadJson: p.payloadJson });
          }
          return chunk.count;
        } catch (err) {
          if (!isWrongLastSequence(err) || conflicts >= MAX_CONFLICTS) throw err;
          // Another gateway appended first: number after what is really there.
          tip = await this.#serverTip(subject, deadline);
          d.tips.learn(stream, tip);
        }
      }
    } catch (err) {
      // After a timeout the message may still land; the next publish must re-read the tip.
      d.tips.forget(stream);
      const e = describe(err, d.publishTimeoutMs);
      for (let i = start; i < items.length; i++) (items[i] as Pending).reject(e);
      return items.length - start;
    }
  }

  /** A publish as a producer span `nats.publish <subject>` (in the trace `parent`, else the active one) whose traceparent travels in its headers. */
  #tracedPublish(subject: string, body: string, options: PublishOptions, count: number, parent: string | undefined): Promise<StoredAck> {
    const { publisher, tracer } = this.#d;
    const publish = () => {
      const traceparent = tracer.traceparent();
      if (traceparent) options.headers.set(TRACEPARENT_HEADER, traceparent);
      return publisher.publish(subject, body, options);
    };
    return tracer.span(`nats.publish ${subject}`, publish, {
      kind: "producer",
      attributes: { "messaging.system": "nats", "messaging.destination.name": subject, "messaging.batch.message_count": count },
      ...(parent ? { parent } : {}),
    });
  }

  /**
   * The subject's tip as the server has it. While a redaction rewrites the subject (its last
   * message is a copy with more to follow) this waits for the rewrite's end, at most until the
   * fence's time (a rewriter that died) or this append's deadline.
   */
  async #serverTip(subject: string, deadline: number): Promise<SubjectTip> {
    for (;;) {
      const tip = await this.#d.reader.tip(subject);
      // Wall-clock time: the fence is set by another process.
      const wait = (tip.fencedUntil ?? 0) - Date.now();
      if (wait <= 0) return { seq: tip.seq, js: tip.js };
      if (performance.now() >= deadline) throw new EventPublishError("the stream is being rewritten by an erasure; try again shortly");
      await new Promise((r) => setTimeout(r, Math.min(FENCE_POLL_MS, wait)));
    }
  }
}

function encodeChunk(items: readonly Pending[], start: number, afterSeq: number, maxBytes: number): { body: string; count: number } {
  const lines: string[] = [];
  let bytes = 0;
  for (let i = start; i < items.length; i++) {
    const p = items[i] as Pending;
    const line = encodeLine(afterSeq + lines.length + 1, p.ts, p.channel, p.payloadJson);
    const size = Buffer.byteLength(line) + 1;
    if (lines.length > 0 && bytes + size > maxBytes) break;
    lines.push(line);
    bytes += size;
  }
  return { body: lines.join("\n"), count: lines.length };
}

function isWrongLastSequence(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamWrongLastSequence;
}

function describe(err: unknown, timeoutMs: number): Error {
  if (err instanceof EventPublishError || err instanceof NatsUnavailableError) return err;
  if (err instanceof TimeoutError) {
    return new EventPublishError(
      `JetStream did not acknowledge within ${timeoutMs} ms (NATS down or overloaded); the event may or may not be stored`,
      {
        cause: err,
      },
    );
  }
  return new EventPublishError(`JetStream publish failed: ${(err as Error).message}`, { cause: err });
}
