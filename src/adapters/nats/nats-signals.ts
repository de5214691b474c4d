import { randomBytes } from "node:crypto";
import { headers, type Subscription } from "@nats-io/transport-node";
import type { Signals } from "../../core/platform/signals.js";
import type { NatsConnection } from "./nats-connection.js";

/** Header naming the process that sent a signal. */
const ORIGIN_HEADER = "Styx-Origin";
const TOPIC = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Signals between the gateways of one cluster over core NATS (`<cluster>.sig.<topic>`), e.g.
 * vector-index updates, key revocations, task wake-ups. At most once, no history: a gateway that is
 * disconnected misses what was sent meanwhile (and a publish while down is dropped).
 */
export class NatsSignals implements Signals {
  /** Called with a handler's exception, an undecodable signal or a failed publish. */
  onError: (err: unknown) => void = () => {};
  readonly origin = randomBytes(8).toString("hex");
  readonly #nats: NatsConnection;
  readonly #prefix: string;
  readonly #subs = new Set<Subscription>();

  constructor(nats: NatsConnection, cluster: string) {
    this.#nats = nats;
    this.#prefix = `${cluster}.sig.`;
  }

  publish(topic: string, payload: Record<string, unknown>): void {
    try {
      // While reconnecting the client would buffer it and send it late: dropped instead.
      this.#nats.assertConnected(`signal ${topic}`);
      const h = headers();
      h.set(ORIGIN_HEADER, this.origin);
      this.#nats.nc.publish(this.#subject(topic), JSON.stringify(payload), { headers: h });
    } catch (err) {
      this.onError(err);
    }
  }

  subscribe(topic: string, handler: (payload: Record<string, unknown>, origin: string) => void): () => void {
    const sub = this.#nats.nc.subscribe(this.#subject(topic), {
      callback: (err, msg) => {
        if (err) return this.onError(err);
        try {
          handler(msg.json<Record<string, unknown>>(), msg.headers?.get(ORIGIN_HEADER) ?? "");
        } catch (e) {
          this.onError(e);
        }
      },
    });
    this.#subs.add(sub);
    return () => {
      if (this.#subs.delete(sub)) sub.unsubscribe();
    };
  }

  /** Resolves once every signal published so far reached the server. */
  flush(): Promise<void> {
    return this.#nats.nc.flush();
  }

  /** Unsubscribes every handler (the connection is shared and stays open). */
  close(): void {
    for (const s of this.#subs) s.unsubscribe();
    this.#subs.clear();
  }

  #subject(topic: string): string {
    if (!TOPIC.test(topic)) throw new Error(`invalid signal topic ${JSON.stringify(topic)}: dot-separated tokens of A-Z a-z 0-9 _ -`);
    return this.#prefix + topic;
  }
}
