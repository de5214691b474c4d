import { fadesAt, HV_MAX_MEMBERS, mostSimilar, type Pheromone } from "../../core/coordination/pheromone.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import { addedMember, newPheromone, reinforcedBy } from "../../core/coordination/pheromone-store.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import { hvBytes } from "../sql/codec.js";
import { type PheromoneRow as Row, toPheromone } from "../sql/coordination-rows.js";
import type { SqliteDatabase } from "./database.js";
import { insertOutbox } from "./sqlite-federation-store.js";
import { type TurnTransaction, turnTransaction } from "./turn-transaction.js";

/**
 * The pheromone field in SQLite. Each row keeps its intensity as of its last deposit and the
 * time it falls under the evaporation threshold (`fades_at`), so "live" is an indexed range
 * and decay is never written.
 */
export class SqlitePheromoneStore implements PheromoneStore {
  readonly #db: SqliteDatabase;
  readonly #q;
  readonly #turn: TurnTransaction;
  /**
   * Reads come from a mirror of the table in memory, by domain: this process is the only
   * writer of its database, so every change passes through here. Loaded on the first read;
   * dropped (and reloaded on the next read) whenever a transaction that wrote it rolls back.
   * Materialising rows costs ~10 µs each on this machine; the mirror makes `sense` of 200 live
   * pheromones a walk over objects already in memory.
   */
  #mirror: Map<string, Map<string, { readonly p: Pheromone; readonly fadesAt: number }>> | null = null;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#turn = turnTransaction(db);
    this.#q = {
      byKey: db.prepare(
        "SELECT * FROM pheromones WHERE domain = ? AND regime = ? AND layer = ? AND class = ? AND hv IS NULL AND fades_at > ? LIMIT 1",
      ),
      withHv: db.prepare("SELECT * FROM pheromones WHERE domain = ? AND regime = ? AND layer = ? AND hv IS NOT NULL AND fades_at > ?"),
      insert: db.prepare(
        `INSERT INTO pheromones (id, layer, class, domain, regime, intensity, confirmations, deposited_at, created_at, fades_at, source_hash, metadata, hv)
         VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)`,
      ),
      update: db.prepare("UPDATE pheromones SET intensity = ?, confirmations = ?, deposited_at = ?, fades_at = ?, hv = ? WHERE id = ?"),
      addSource: db.prepare("INSERT INTO pheromone_sources (pheromone_id, source_hash) VALUES (?, ?) ON CONFLICT DO NOTHING"),
      addMember: db.prepare(
        "INSERT INTO pheromone_vectors (pheromone_id, n, hv) VALUES (?, (SELECT COALESCE(MAX(n), 0) + 1 FROM pheromone_vectors WHERE pheromone_id = ?), ?)",
      ),
      trimMembers: db.prepare(
        "DELETE FROM pheromone_vectors WHERE pheromone_id = ? AND n <= (SELECT MAX(n) FROM pheromone_vectors WHERE pheromone_id = ?) - ?",
      ),
      members: db.prepare("SELECT hv FROM pheromone_vectors WHERE pheromone_id = ? ORDER BY n"),
      all: db.prepare("SELECT * FROM pheromones"),
      countLive: db.prepare("SELECT COUNT(*) AS n FROM pheromones WHERE fades_at > ?"),
      evaporate: db.prepare("DELETE FROM pheromones WHERE fades_at <= ?"),
    };
  }

  /**
   * Deposits made in the same event-loop turn (concurrent requests) are applied in arrival
   * order inside one transaction, each in its own savepoint (turn-transaction.ts, shared with the
   * entry store's writes on the same database): one commit for the group, and a deposit that
   * fails rejects alone (its outbox row, written in its savepoint, with it). Resolved after the commit.
   */
  deposit(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    return this.#turn.run(
      () => this.#deposit(d, now, outbox),
      () => this.discardMirror(),
    );
  }

  /**
   * `deposit` inside the caller's transaction on the same database (a death deposits with
   * everything else it changes); synchronous, so a failure rolls the caller back. The outbox
   * row is written last, before the mirror learns of the deposit: if it fails, so does the deposit.
   */
  depositSync(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): DepositOutcome {
    return this.#db.transaction(() => this.#deposit(d, now, outbox))();
  }

  /** A deposit's rows, its outbox row, then the mirror (inside the caller's transaction or savepoint). */
  #deposit(d: PheromoneDeposit, now: number, outbox: OutboxEntry | undefined): DepositOutcome {
    const outcome = this.#depositRows(d, now);
    if (outbox) insertOutbox(this.#db, outbox);
    this.#mirrorPut(outcome.pheromone);
    return outcome;
  }

  /** The row writes of a deposit. */
  #depositRows(d: PheromoneDeposit, now: number): DepositOutcome {
    const match = this.#match(d, now);
    if (!match) {
      const p = newPheromone(d, now);
      const q = this.#q;
      q.insert.run(
        p.id,
        p.layer,
        p.class,
        p.domain,
        p.regime,
        p.intensity,
        now,
        now,
        fadesAt(p),
        p.sourceHash,
        JSON.stringify(p.metadata),
        hvBytes(p.hv),
      );
      // Its first source is the row's own source_hash: pheromone_sources holds the later ones only
      // (one b-tree insert less on a random page for every new pheromone; rows written before this
      // rule hold their first source too, which the test below treats the same).
      if (d.hv) q.addMember.run(p.id, p.id, hvBytes(d.hv));
      return { pheromone: p, reinforced: false, confirmed: false };
    }
    const newSource = d.sourceHash !== match.sourceHash && this.#q.addSource.run(match.id, d.sourceHash).changes > 0;
    const member = addedMember(match, d);
    const outcome = reinforcedBy(match, d, newSource, now, member ? this.#addMember(match.id, member) : null);
    const p = outcome.pheromone;
    this.#q.update.run(p.intensity, p.confirmations, now, fadesAt(p), hvBytes(p.hv), p.id);
    return outcome;
  }

  /** The live pheromone a deposit reinforces: same cell and class, or (with a hypervector) the most similar one of the cell above 0.6. */
  #match(d: PheromoneDeposit, now: number): Pheromone | undefined {
    if (!d.hv) {
      const row = this.#q.byKey.get(d.domain, d.regime, d.layer, d.class, now) as Row | undefined;
      return row ? toPheromone(row) : undefined;
    }
    return mostSimilar((this.#q.withHv.all(d.domain, d.regime, d.layer, now) as Row[]).map(toPheromone), d.hv);
  }

  /** Adds a member vector, keeps the newest HV_MAX_MEMBERS, and returns them, oldest first. */
  #addMember(id: string, hv: Uint8Array): Uint8Array[] {
    this.#q.addMember.run(id, id, hvBytes(hv));
    this.#q.trimMembers.run(id, id, HV_MAX_MEMBERS);
    return (this.#q.members.all(id) as { hv: Buffer }[]).map((m) => new Uint8Array(m.hv));
  }

  async live(domains: readonly string[], regime: string | undefined, now: number): Promise<Pheromone[]> {
    const mirror = this.#loadMirror();
    const out: Pheromone[] = [];
    for (const domain of new Set(domains)) {
      for (const { p, fadesAt } of mirror.get(domain)?.values() ?? []) {
        if (fadesAt > now && (regime === undefined || p.regime === regime)) out.push(p);
      }
    }
    return out;
  }

  async allLive(now: number): Promise<Pheromone[]> {
    const out: Pheromone[] = [];
    for (const byId of this.#loadMirror().values()) for (const { p, fadesAt } of byId.values()) if (fadesAt > now) out.push(p);
    return out;
  }

  async countLive(now: number): Promise<number> {
    return (this.#q.countLive.get(now) as { n: number }).n;
  }

  async evaporate(now: number): Promise<number> {
    const gone = this.#q.evaporate.run(now).changes;
    for (const [domain, byId] of this.#mirror ?? []) {
      for (const [id, { fadesAt }] of byId) if (fadesAt <= now) byId.delete(id);
      if (byId.size === 0) this.#mirror?.delete(domain);
    }
    return gone;
  }

  async pageLive(domain: string, afterId: string, limit: number, now: number): Promise<Pheromone[]> {
    const sql = "SELECT * FROM pheromones WHERE domain = ? AND id > ? AND fades_at > ? ORDER BY id LIMIT ?";
    return (this.#db.prepare(sql).all(domain, afterId, now, limit) as Row[]).map(toPheromone);
  }

  /** Forgets the read mirror: for a caller whose transaction, holding deposits of this store, rolled back. */
  discardMirror(): void {
    this.#mirror = null;
  }

  #loadMirror(): Map<string, Map<string, { readonly p: Pheromone; readonly fadesAt: number }>> {
    if (this.#mirror) return this.#mirror;
    this.#mirror = new Map();
    for (const row of this.#q.all.all() as Row[]) this.#mirrorPut(toPheromone(row));
    return this.#mirror;
  }

  #mirrorPut(p: Pheromone): void {
    const mirror = this.#mirror;
    if (!mirror) return;
    let byId = mirror.get(p.domain);
    if (!byId) {
      byId = new Map();
      mirror.set(p.domain, byId);
    }
    byId.set(p.id, { p, fadesAt: fadesAt(p) });
  }
}
