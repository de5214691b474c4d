import type { EventBus } from "../fabric/event-bus.js";
import { FEDERATION_RECORD_CHANNEL, federationStream } from "../fabric/streams.js";
import type { FederationStore } from "./federation-store.js";
import type { FederationRecord } from "./records.js";

/** Relay items read, published and deleted at once. */
export const RELAY_BATCH = 200;

/** What the relay works with. */
export interface RelayDeps {
  readonly store: Pick<FederationStore, "relayPending" | "relayed">;
  readonly bus: Pick<EventBus, "publish">;
  /** A record's wire form (the stream payload, the same JSON as pushes and snapshot lines). */
  readonly wire: (record: FederationRecord) => Record<string, unknown>;
  /** Items per batch (default RELAY_BATCH). */
  readonly batch?: number;
}

/**
 * The relay of this Styx's own records to its downstreams (SPEC §17.2 down). The fact stores
 * write each own record a downstream link takes into the relay outbox in the fact's own
 * transaction (OutboxEntry.down); `drain` publishes the waiting items on `federation:{domain}`
 * and deletes each once its publish resolved (the event is in the stream's history), a batch
 * at a time, until none waits. A batch's publishes are issued in `seq` order in one turn, and
 * both histories number one stream's appends in call order, so the stream carries the records
 * in the order their facts were written (a publish that fails leaves its item, and the drain's
 * error, for the next run: that record comes later, out of order).
 *
 * At least once: a process killed between a publish and the delete publishes that record again
 * at its next drain (after a restart, or on the next leader); the downstreams' (origin, id)
 * claims make the repeat a duplicate. A record is never lost: the item is deleted only after
 * its event is stored. One drain at a time (the scheduler's task never overlaps itself, and on a
 * macronode only the leader runs it).
 */
export class RecordRelay {
  readonly #d: RelayDeps;
  readonly #batch: number;

  constructor(deps: RelayDeps) {
    this.#d = deps;
    this.#batch = deps.batch ?? RELAY_BATCH;
  }

  /** Publishes and deletes what waits; answers how many were published. Rejects with the first failed publish (after deleting the published). */
  async drain(): Promise<number> {
    const d = this.#d;
    let sent = 0;
    for (;;) {
      const items = await d.store.relayPending(this.#batch);
      if (items.length === 0) return sent;
      const outcomes = await Promise.allSettled(
        items.map((i) =>
          d.bus.publish({ stream: federationStream(i.record.domain), channel: FEDERATION_RECORD_CHANNEL, payload: d.wire(i.record) }),
        ),
      );
      const published = items.filter((_, n) => outcomes[n]?.status === "fulfilled").map((i) => i.seq);
      await d.store.relayed(published);
      sent += published.length;
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
      if (failed) throw failed.reason;
      if (items.length < this.#batch) return sent;
    }
  }
}

/**
 * `wake` at most once per `windowMs`, and always once after the last call: the first call wakes
 * at once; calls during the window are answered by one wake at its end (a fact written during
 * a drain is read by the drain that wake starts). Keeps a burst of facts from sending a burst of
 * wake-ups (on a macronode gateway that does not lead, each is a signal to the leader).
 */
export function coalesce(wake: () => void, windowMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  let pending = false;
  const tick = (): void => {
    if (!pending) {
      timer = undefined;
      return;
    }
    pending = false;
    wake();
    arm();
  };
  const arm = (): void => {
    timer = setTimeout(tick, windowMs);
    timer.unref();
  };
  return () => {
    if (timer) {
      pending = true;
      return;
    }
    wake();
    arm();
  };
}
