import type { StreamPosition } from "../../core/fabric/history.js";
import type { FederationLink, FederationStore, OutboxEntry, OutboxItem, RelayItem } from "../../core/federation/federation-store.js";

/**
 * FederationStore in memory: the unit tests' twin of the SQLite and PostgreSQL stores (a
 * micronode under amnesia keeps these rows in SQLite `:memory:`). `enqueue` stands in for the
 * fact stores, which write both outboxes' rows in their own transactions.
 */
export class MemoryFederationStore implements FederationStore {
  readonly #links = new Map<string, FederationLink>();
  readonly #claims = new Map<string, number>();
  readonly #cursors = new Map<string, StreamPosition>();
  readonly #outbox = new Map<number, OutboxItem>();
  readonly #relay = new Map<number, RelayItem>();
  #nextSeq = 1;
  #nextRelaySeq = 1;

  /** Adds a record to the outbox when it goes up, to the relay outbox when it goes down (what a fact store does inside its write's transaction). */
  enqueue(entry: OutboxEntry): void {
    if (entry.up) {
      const seq = this.#nextSeq++;
      this.#outbox.set(seq, { seq, record: entry.record, enqueuedAt: entry.enqueuedAt, attempts: 0, nextAt: entry.enqueuedAt });
    }
    if (entry.down) {
      const seq = this.#nextRelaySeq++;
      this.#relay.set(seq, { seq, record: entry.record, enqueuedAt: entry.enqueuedAt });
    }
  }

  async saveLink(link: FederationLink): Promise<void> {
    this.#links.set(link.keyId, link);
  }

  async link(keyId: string): Promise<FederationLink | undefined> {
    return this.#links.get(keyId);
  }

  async links(): Promise<FederationLink[]> {
    return [...this.#links.values()];
  }

  async touchLink(keyId: string, at: number): Promise<void> {
    const l = this.#links.get(keyId);
    if (l) this.#links.set(keyId, { ...l, lastSeenAt: at });
  }

  async claim(origin: string, id: string, now: number): Promise<boolean> {
    const k = `${origin}\u0000${id}`;
    if (this.#claims.has(k)) return false;
    this.#claims.set(k, now);
    return true;
  }

  async release(origin: string, id: string): Promise<void> {
    this.#claims.delete(`${origin}\u0000${id}`);
  }

  async cursor(stream: string): Promise<StreamPosition | undefined> {
    return this.#cursors.get(stream);
  }

  async saveCursor(stream: string, position: StreamPosition): Promise<void> {
    const before = this.#cursors.get(stream);
    if (before && before.epoch === position.epoch && before.seq > position.seq) return;
    this.#cursors.set(stream, { epoch: position.epoch, seq: position.seq });
  }

  async cursors(): Promise<ReadonlyMap<string, StreamPosition>> {
    return new Map(this.#cursors);
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    return [...this.#outbox.values()].filter((i) => i.nextAt <= now).slice(0, limit);
  }

  async ack(seqs: readonly number[]): Promise<void> {
    for (const s of seqs) this.#outbox.delete(s);
  }

  async retry(seqs: readonly number[], nextAt: number): Promise<void> {
    for (const s of seqs) {
      const i = this.#outbox.get(s);
      if (i) this.#outbox.set(s, { ...i, attempts: i.attempts + 1, nextAt });
    }
  }

  async drop(before: number): Promise<ReadonlyMap<string, number>> {
    const dropped = new Map<string, number>();
    for (const [s, i] of this.#outbox) {
      if (i.enqueuedAt >= before) continue;
      this.#outbox.delete(s);
      dropped.set(i.record.kind, (dropped.get(i.record.kind) ?? 0) + 1);
    }
    return dropped;
  }

  async depth(): Promise<number> {
    return this.#outbox.size;
  }

  async forgetClaims(before: number): Promise<number> {
    let n = 0;
    for (const [k, at] of this.#claims) {
      if (at >= before) continue;
      this.#claims.delete(k);
      n++;
    }
    return n;
  }

  async relayPending(limit: number): Promise<RelayItem[]> {
    return [...this.#relay.values()].slice(0, Math.max(0, limit));
  }

  async relayed(seqs: readonly number[]): Promise<void> {
    for (const s of seqs) this.#relay.delete(s);
  }

  async relayDepth(): Promise<number> {
    return this.#relay.size;
  }
}
