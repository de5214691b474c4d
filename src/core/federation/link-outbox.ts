import { currentIntensity, EVAPORATION_THRESHOLD } from "../coordination/pheromone.js";
import type { Clock } from "../platform/clock.js";
import type { FederationStore, OutboxItem } from "./federation-store.js";
import { type FederatedDomains, type Flows, type RecordKind, sendsUp } from "./flows.js";
import { backoffMs } from "./link-timing.js";
import { type FederationRecord, MAX_RECORDS_PER_PUSH, OUTBOX_TTL_MS } from "./records.js";
import { type PushReply, UpstreamError } from "./upstream-transport.js";

/**
 * What became of records, for `styx_federation_records_total{direction,kind,outcome}`. Up:
 * accepted, duplicate, rejected (answered by the upstream, each for good), expired (7 days in
 * the outbox, or a deposit that faded before it could leave), dropped (its flow or domain no
 * longer goes up). Down: accepted, duplicate, rejected (by the applier, or a record that did
 * not decode), skipped (of this Styx's own origin, or of a kind or domain not taken down).
 */
export type RecordOutcome = "accepted" | "duplicate" | "rejected" | "expired" | "dropped" | "skipped";

/** Counts records by direction, kind and outcome (the link's metrics hook). */
export type RecordCounter = (direction: "up" | "down", kind: RecordKind | "unknown", outcome: RecordOutcome, n: number) => void;

/** How one drain ended: how many records the upstream answered for, and the failure that stopped it, if any. */
export interface DrainResult {
  readonly sent: number;
  readonly failure: UpstreamError | undefined;
}

/**
 * The up half of the link (SPEC §17.2 step 3): drains the outbox in pushes of at most 500,
 * oldest first. Every record the upstream answered for is acknowledged (accepted, duplicate,
 * or refused for good); on no answer, a 5xx or a 429 the batch is deferred with backoff (or the
 * upstream's Retry-After) and the drain stops until then; a 413 halves the batch (a record
 * too big alone is refused for good). Records 7 days old, and deposits that faded, are dropped
 * and counted. The link calls `drain` from its tick while connected (every second), so a
 * local record leaves within about a second plus the push's round trip.
 */
export class OutboxPump {
  readonly #store: Pick<FederationStore, "due" | "ack" | "retry" | "drop">;
  readonly #push: (records: readonly FederationRecord[]) => Promise<PushReply>;
  readonly #clock: Clock;
  readonly #flows: Flows;
  readonly #domains: FederatedDomains;
  readonly #random: () => number;
  readonly #count: RecordCounter;
  #batch = MAX_RECORDS_PER_PUSH;
  #failures = 0;
  #nextAt = 0;

  constructor(deps: {
    store: Pick<FederationStore, "due" | "ack" | "retry" | "drop">;
    push: (records: readonly FederationRecord[]) => Promise<PushReply>;
    clock: Clock;
    flows: Flows;
    domains: FederatedDomains;
    random: () => number;
    count: RecordCounter;
  }) {
    this.#store = deps.store;
    this.#push = deps.push;
    this.#clock = deps.clock;
    this.#flows = deps.flows;
    this.#domains = deps.domains;
    this.#random = deps.random;
    this.#count = deps.count;
  }

  /** When the next drain may push (after a failure: its backoff or Retry-After). */
  get nextAt(): number {
    return this.#nextAt;
  }

  /** Forgets the failures' backoff (a fresh connection pushes at once). */
  reset(): void {
    this.#failures = 0;
    this.#nextAt = 0;
  }

  /** Drops what expired, then pushes due records until none is due or a push failed. */
  async drain(): Promise<DrainResult> {
    const now = this.#clock.now();
    for (const [kind, n] of await this.#store.drop(now - OUTBOX_TTL_MS)) this.#count("up", kind as RecordKind, "expired", n);
    let sent = 0;
    for (;;) {
      const items = await this.#store.due(this.#clock.now(), this.#batch);
      if (items.length === 0) return { sent, failure: undefined };
      const send = await this.#sift(items);
      if (send.length === 0) continue;
      let reply: PushReply;
      try {
        reply = await this.#push(send.map((i) => i.record));
      } catch (err) {
        const failure = err instanceof UpstreamError ? err : new UpstreamError("network", String(err), { cause: err });
        if (failure.failure === "too_large" && this.#batch > 1) {
          this.#batch = Math.max(1, Math.floor(send.length / 2));
          continue;
        }
        if (failure.failure === "too_large") {
          // One record alone is too big for the upstream: it will never go.
          await this.#store.ack(send.map((i) => i.seq));
          this.#countItems(send, "rejected");
          continue;
        }
        await this.#defer(send, failure);
        return { sent, failure };
      }
      await this.#store.ack(send.map((i) => i.seq));
      this.#countReply(send, reply);
      sent += send.length;
      this.#failures = 0;
      this.#batch = Math.min(MAX_RECORDS_PER_PUSH, this.#batch * 2);
    }
  }

  /** Acks (and counts) the items that must not leave; answers the others. */
  async #sift(items: readonly OutboxItem[]): Promise<OutboxItem[]> {
    const now = this.#clock.now();
    const send: OutboxItem[] = [];
    const gone: OutboxItem[] = [];
    for (const i of items) {
      const r = i.record;
      if (!sendsUp(this.#flows, this.#domains, r.kind, r.domain)) {
        gone.push(i);
        this.#count("up", r.kind, "dropped", 1);
      } else if (r.kind === "pheromone" && faded(r, now)) {
        gone.push(i);
        this.#count("up", r.kind, "expired", 1);
      } else send.push(i);
    }
    if (gone.length > 0) await this.#store.ack(gone.map((i) => i.seq));
    return send;
  }

  async #defer(items: readonly OutboxItem[], failure: UpstreamError): Promise<void> {
    const wait = failure.retryAfterMs ?? backoffMs(this.#failures++, this.#random);
    this.#nextAt = this.#clock.now() + wait;
    await this.#store.retry(
      items.map((i) => i.seq),
      this.#nextAt,
    );
  }

  /**
   * Counts an answered push. Refusals carry their index, so their kinds are exact; the answer
   * gives accepted and duplicates as totals only, so the first `accepted` of the others (in
   * outbox order) count as accepted and the rest as duplicates, by kind (exact whenever a push
   * was all of one or the other, which is the rule: duplicates come from a resent push).
   */
  #countReply(items: readonly OutboxItem[], reply: PushReply): void {
    const refused = new Set(reply.rejected.map((r) => r.index));
    let accepted = reply.accepted;
    items.forEach((item, index) => {
      if (refused.has(index)) this.#count("up", item.record.kind, "rejected", 1);
      else if (accepted-- > 0) this.#count("up", item.record.kind, "accepted", 1);
      else this.#count("up", item.record.kind, "duplicate", 1);
    });
  }

  #countItems(items: readonly OutboxItem[], outcome: RecordOutcome): void {
    for (const i of items) this.#count("up", i.record.kind, outcome, 1);
  }
}

/** Whether a deposit record has decayed under the evaporation threshold since it was made (the upstream would refuse it). */
function faded(r: Extract<FederationRecord, { kind: "pheromone" }>, now: number): boolean {
  const p = r.pheromone;
  return currentIntensity({ layer: p.layer, intensity: p.intensity, confirmations: 0, depositedAt: r.at }, now) < EVAPORATION_THRESHOLD;
}
