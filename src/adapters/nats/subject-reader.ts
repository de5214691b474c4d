import type { DirectStreamAPI, JetStreamClient } from "@nats-io/jetstream";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { decodeBatch, FIRST_SEQ_HEADER, LAST_SEQ_HEADER, REWRITE_HEADER, streamOfSubject, TIP_SEQ_HEADER } from "./event-codec.js";
import { withTimeout } from "./nats-connection.js";

/** One batch message as stored on a subject. */
export interface BatchMessage {
  /** Its JetStream stream sequence. */
  readonly js: number;
  /** The Styx seqs of its first and last events. */
  readonly first: number;
  readonly last: number;
  /** The subject's last Styx seq as of this message: `last`, or more for a redaction's copy. */
  readonly tip: number;
  /** A redaction's copy with more to follow: appenders wait until this time (epoch ms); else 0. */
  readonly fencedUntil: number;
  /** Whether a redaction wrote it (a copy of events stored before, see JetStreamHistory.redact). */
  readonly rewrite: boolean;
  readonly body: string;
  readonly subject: string;
}

/** The newest message of a subject as far as one process knows: where the next batch goes. */
export interface SubjectTip {
  /** Styx seq of the last event (0: none). */
  readonly seq: number;
  /** JetStream seq of the message holding it (0: none), the optimistic-concurrency expectation. */
  readonly js: number;
  /** Set while a redaction rewrites the subject: appenders wait until this time (epoch ms). */
  readonly fencedUntil?: number;
}

/** Messages read by direct get before a long read switches to a consumer. */
const DIRECT_READS = 16;

/**
 * Reads of one subject: direct gets for tips, bisection and short reads (stateless, so a
 * storm of resumes costs the server nothing to set up), an ordered consumer for long reads
 * (one round trip per message would cap a replay at a few thousand messages per second).
 */
export class SubjectReader {
  readonly #direct: DirectStreamAPI;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #idleMs: number;

  constructor(deps: { direct: DirectStreamAPI; js: JetStreamClient; stream: string; idleMs: number }) {
    this.#direct = deps.direct;
    this.#js = deps.js;
    this.#stream = deps.stream;
    this.#idleMs = deps.idleMs;
  }

  /** The messages of `subject` from `first` on, in order, until the caller stops iterating. */
  async *from(subject: string, first: BatchMessage): AsyncGenerator<BatchMessage> {
    let m: BatchMessage | undefined = first;
    for (let n = 0; m && n < DIRECT_READS; n++) {
      yield m;
      m = await this.next(subject, m.js + 1);
    }
    if (!m) return;
    yield m;
    const c = await this.#js.consumers.get(this.#stream, { filter_subjects: subject, opt_start_seq: m.js + 1 });
    // Bounded by bytes: 256 messages could be 256 batches of 256 KiB each.
    const messages = await c.consume({ max_bytes: 4 * 1024 * 1024 });
    const it = messages[Symbol.asyncIterator]();
    try {
      for (;;) {
        // Every message asked for exists (or expired): silence means it is gone or NATS is down.
        const r = await withTimeout(it.next(), this.#idleMs, `no message of ${subject} within ${this.#idleMs} ms`);
        if (r.done) return;
        const b = toBatch({ seq: r.value.seq, subject: r.value.subject, header: r.value.headers, string: () => r.value.string() });
        if (b) yield b;
      }
    } finally {
      messages.stop();
      void c.delete().catch(() => false);
    }
  }

  /** The last message of `subject`, or undefined when it has none. */
  async last(subject: string): Promise<BatchMessage | undefined> {
    return toBatch(await this.#direct.getMessage(this.#stream, { last_by_subj: subject }));
  }

  /** The first message of `subject` at or after JetStream seq `fromJs`, or undefined. */
  async next(subject: string, fromJs: number): Promise<BatchMessage | undefined> {
    return toBatch(await this.#direct.getMessage(this.#stream, { seq: Math.max(1, fromJs), next_by_subj: subject }));
  }

  /** The tip of `subject` read from the server. */
  async tip(subject: string): Promise<SubjectTip> {
    const m = await this.last(subject);
    return m ? { seq: m.tip, js: m.js, fencedUntil: m.fencedUntil } : { seq: 0, js: 0 };
  }

  /**
   * The oldest message of `subject` holding an event with seq ≥ `target`, found by bisecting
   * JetStream seqs between `lo` and the message `upper` (which must hold one): O(log n) gets.
   */
  async locate(subject: string, target: number, lo: number, upper: BatchMessage): Promise<BatchMessage> {
    let best = upper;
    let low = lo;
    let high = upper.js - 1;
    while (low <= high) {
      const mid = Math.floor((low + high) / 2);
      const m = await this.next(subject, mid);
      if (!m || m.js > high || m.last >= target) {
        // Either nothing of the subject in [mid, high], or a better candidate: look lower.
        if (m && m.js < best.js && m.last >= target) best = m;
        high = mid - 1;
      } else {
        low = m.js + 1;
      }
    }
    return best;
  }
}

/** The events of a batch message. */
export function eventsOf(m: BatchMessage, epoch: string): SequencedEvent[] {
  return decodeBatch(streamOfSubject(m.subject), epoch, m.body);
}

interface RawMessage {
  readonly seq: number;
  readonly subject: string;
  readonly header: { get(k: string): string } | undefined;
  string(): string;
}

function toBatch(m: RawMessage | null): BatchMessage | undefined {
  if (!m) return undefined;
  const first = Number(m.header?.get(FIRST_SEQ_HEADER));
  const last = Number(m.header?.get(LAST_SEQ_HEADER));
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || first < 1 || last < first) {
    throw new Error(`message ${m.seq} on ${m.subject} lacks valid ${FIRST_SEQ_HEADER}/${LAST_SEQ_HEADER} headers`);
  }
  return { js: m.seq, first, last, ...rewriteOf(m.header, last), body: m.string(), subject: m.subject };
}

/** The redaction headers of a message whose last event is `last` (see REWRITE_HEADER). */
export function rewriteOf(
  header: { get(k: string): string } | undefined,
  last: number,
): { tip: number; fencedUntil: number; rewrite: boolean } {
  const rewrite = header?.get(REWRITE_HEADER) ?? "";
  if (!rewrite) return { tip: last, fencedUntil: 0, rewrite: false };
  const tip = Number(header?.get(TIP_SEQ_HEADER));
  const until = rewrite === "done" ? 0 : Number(rewrite);
  return {
    tip: Number.isSafeInteger(tip) && tip > last ? tip : last,
    fencedUntil: Number.isFinite(until) && until > 0 ? until : 0,
    rewrite: true,
  };
}
