import type { CausalEdge, CausalPublication, CausalStore, DiscoverFilter, PublishOutcome } from "../../core/coordination/causal.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import { type CausalEdgeRow as Row, toEdge } from "../sql/coordination-rows.js";
import type { SqliteDatabase } from "./database.js";
import { insertOutbox } from "./sqlite-federation-store.js";

/** Federated causal edges in SQLite; each publisher's vote is a row, so it counts once. */
export class SqliteCausalStore implements CausalStore {
  readonly #db: SqliteDatabase;
  readonly #q;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#q = {
      byKey: db.prepare("SELECT * FROM causal_edges WHERE from_variable = ? AND to_variable = ? AND domain = ? AND regime = ?"),
      insert: db.prepare(
        `INSERT INTO causal_edges (id, from_variable, to_variable, domain, regime, direction, strength, lag_ticks, evidence_count, confidence,
           validations, contradictions, publisher_hash, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?)`,
      ),
      vote: db.prepare("INSERT INTO causal_votes (edge_id, publisher_hash, direction) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      validate: db.prepare("UPDATE causal_edges SET validations = validations + 1, updated_at = ? WHERE id = ?"),
      contradict: db.prepare("UPDATE causal_edges SET contradictions = contradictions + 1, updated_at = ? WHERE id = ?"),
      get: db.prepare("SELECT * FROM causal_edges WHERE id = ?"),
    };
  }

  async publish(p: CausalPublication, now: number, outbox?: OutboxEntry): Promise<{ edge: CausalEdge; outcome: PublishOutcome }> {
    return this.#db.transaction(() => {
      const q = this.#q;
      const found = q.byKey.get(p.fromVariable, p.toVariable, p.domain, p.regime) as Row | undefined;
      if (!found) {
        q.insert.run(
          p.id,
          p.fromVariable,
          p.toVariable,
          p.domain,
          p.regime,
          p.direction,
          p.strength,
          p.lagTicks,
          p.evidenceCount,
          p.confidence,
          p.publisherHash,
          now,
          now,
        );
        q.vote.run(p.id, p.publisherHash, p.direction);
        if (outbox) insertOutbox(this.#db, outbox);
        return { edge: { ...p, validations: 0, contradictions: 0, createdAt: now, updatedAt: now }, outcome: "created" as const };
      }
      if (q.vote.run(found.id, p.publisherHash, p.direction).changes === 0) return { edge: toEdge(found), outcome: "unchanged" as const };
      const agrees = p.direction === found.direction;
      (agrees ? q.validate : q.contradict).run(now, found.id);
      if (outbox) insertOutbox(this.#db, outbox);
      return { edge: toEdge(q.get.get(found.id) as Row), outcome: agrees ? ("validated" as const) : ("contradicted" as const) };
    })();
  }

  async discover(f: DiscoverFilter): Promise<CausalEdge[]> {
    const where = ["validations >= ?"];
    const args: unknown[] = [f.minValidations];
    if (f.domain !== undefined) where.push("domain = ?"), args.push(f.domain);
    if (f.regime !== undefined) where.push("regime = ?"), args.push(f.regime);
    if (f.variable !== undefined) where.push("(from_variable = ? OR to_variable = ?)"), args.push(f.variable, f.variable);
    const sql = `SELECT * FROM causal_edges WHERE ${where.join(" AND ")} ORDER BY validations DESC, confidence DESC, id LIMIT ?`;
    return (this.#db.prepare(sql).all(...args, f.limit) as Row[]).map(toEdge);
  }

  async pageEdges(domain: string, afterId: string, limit: number): Promise<CausalEdge[]> {
    const sql = "SELECT * FROM causal_edges WHERE domain = ? AND id > ? ORDER BY id LIMIT ?";
    return (this.#db.prepare(sql).all(domain, afterId, limit) as Row[]).map(toEdge);
  }
}
