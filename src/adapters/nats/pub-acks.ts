import { type ApiError, JetStreamApiError } from "@nats-io/jetstream";
import { createInbox, type Msg, type MsgHdrs, type NatsConnection as Nc, type Subscription, TimeoutError } from "@nats-io/transport-node";

/** What JetStream answers a stored publish (the part the appender reads). */
export interface StoredAck {
  /** The stream's own sequence of the message. */
  readonly seq: number;
}

/** Options of one publish. */
export interface PublishOptions {
  /** The JetStream seq the subject's last message must have (0: the subject must be empty). */
  readonly lastSubjectSequence: number;
  readonly headers: MsgHdrs;
  /** Rejects with TimeoutError after this many ms without an answer. */
  readonly timeout: number;
}

/** The header JetStream checks a publish's expected subject tip against (the client's `expect.lastSubjectSequence`). */
const EXPECTED_LAST_SUBJECT_SEQ = "Nats-Expected-Last-Subject-Sequence";

interface Waiter {
  readonly resolve: (ack: StoredAck) => void;
  readonly reject: (err: unknown) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * JetStream publishes with their acknowledgements (PubAcks) answered on one subscription
 * (`<inbox>.<n>`) instead of `JetStreamClient.publish`'s request per message: that request
 * path (client 3.4) builds a request object, a deferred, a timeout and a RequestError for
 * every call (its `cancel` after a successful answer), ~50 µs of CPU per publish on the
 * machine of docs/benchmarks.md (a third of a publish's client CPU), and every event of a
 * macronode is one publish. The wire is the same: a message with a reply subject and the
 * `Nats-Expected-Last-Subject-Sequence` header; errors are the client's (JetStreamApiError,
 * TimeoutError). A reply lost to a reconnect times out, as a request's would.
 */
export class PubAcks {
  readonly #nc: Nc;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #waiting = new Map<string, Waiter>();
  #next = 0;

  constructor(nc: Nc) {
    this.#nc = nc;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, m) => (err ? this.#failAll(err) : this.#answer(m)) });
  }

  /** Publishes `body` on `subject` if the subject's last message is `lastSubjectSequence`; resolves with its PubAck. */
  publish(subject: string, body: string, options: PublishOptions): Promise<StoredAck> {
    const token = (this.#next++).toString(36);
    options.headers.set(EXPECTED_LAST_SUBJECT_SEQ, String(options.lastSubjectSequence));
    return new Promise<StoredAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(token);
        reject(new TimeoutError());
      }, options.timeout);
      this.#waiting.set(token, { resolve, reject, timer });
      try {
        this.#nc.publish(subject, body, { reply: `${this.#inbox}.${token}`, headers: options.headers });
      } catch (err) {
        clearTimeout(timer);
        this.#waiting.delete(token);
        reject(err);
      }
    });
  }

  /** Stops answering: every publish still waiting fails. */
  close(): void {
    this.#sub.unsubscribe();
    this.#failAll(new Error("JetStream publisher closed"));
  }

  #answer(m: Msg): void {
    const token = m.subject.slice(this.#inbox.length + 1);
    const w = this.#waiting.get(token);
    if (w === undefined) return; // timed out already
    this.#waiting.delete(token);
    clearTimeout(w.timer);
    try {
      w.resolve(parseAck(m));
    } catch (err) {
      w.reject(err);
    }
  }

  #failAll(err: unknown): void {
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiting.clear();
  }
}

/** A PubAck, or the error it names; a 503 with no body: nothing listens on the subject (no stream, JetStream off). */
function parseAck(m: Msg): StoredAck {
  if (m.data.length === 0) {
    const code = m.headers?.code ?? 0;
    throw new Error(code === 503 ? "no responders: no JetStream stream takes this subject" : `empty JetStream answer (status ${code})`);
  }
  const r = JSON.parse(m.string()) as { stream?: string; seq?: number; error?: ApiError };
  if (r.error) throw new JetStreamApiError(r.error);
  if (!r.stream || typeof r.seq !== "number") throw new Error("invalid JetStream ack");
  return { seq: r.seq };
}
