import type { CausalEdge, CausalPublication, CausalStore, DiscoverFilter, PublishOutcome } from "../../core/coordination/causal.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import { type CausalEdgeRow as Row, toEdge } from "../sql/coordination-rows.js";
import type { PgSql } from "./database.js";
import { insertOutbox } from "./postgres-federation-store.js";

/**
 * Federated causal edges in PostgreSQL (macronode). Each publisher's vote is a row under a
 * primary key and the counters move by `+ 1` in place, so gateways publishing the same edge
 * at once neither create it twice nor count a vote twice.
 */
export class PostgresCausalStore implements CausalStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async publish(p: CausalPublication, now: number, outbox?: OutboxEntry): Promise<{ edge: CausalEdge; outcome: PublishOutcome }> {
    return this.#sql.begin(async (tx) => {
      // ON CONFLICT waits for a concurrent creator of the key and then yields to it.
      const [created] = await tx<Row[]>`
        INSERT INTO causal_edges (id, from_variable, to_variable, domain, regime, direction, strength, lag_ticks, evidence_count,
          confidence, validations, contradictions, publisher_hash, created_at, updated_at)
        VALUES (${p.id}, ${p.fromVariable}, ${p.toVariable}, ${p.domain}, ${p.regime}, ${p.direction}, ${p.strength}, ${p.lagTicks},
          ${p.evidenceCount}, ${p.confidence}, 0, 0, ${p.publisherHash}, ${now}, ${now})
        ON CONFLICT (from_variable, to_variable, domain, regime) DO NOTHING
        RETURNING *`;
      if (created) {
        await tx`INSERT INTO causal_votes (edge_id, publisher_hash, direction) VALUES (${created.id}, ${p.publisherHash}, ${p.direction})`;
        if (outbox) await insertOutbox(tx, outbox);
        return { edge: toEdge(created), outcome: "created" as const };
      }
      const [found] = await tx<Row[]>`
        SELECT * FROM causal_edges
        WHERE from_variable = ${p.fromVariable} AND to_variable = ${p.toVariable} AND domain = ${p.domain} AND regime = ${p.regime}`;
      if (!found) throw new Error(`causal edge ${p.fromVariable} → ${p.toVariable} vanished while publishing`);
      const vote = await tx`
        INSERT INTO causal_votes (edge_id, publisher_hash, direction) VALUES (${found.id}, ${p.publisherHash}, ${p.direction})
        ON CONFLICT DO NOTHING`;
      if (vote.count === 0) return { edge: toEdge(found), outcome: "unchanged" as const };
      const agrees = p.direction === found.direction;
      const counter = agrees ? tx`validations = validations + 1` : tx`contradictions = contradictions + 1`;
      const [edge] = await tx<Row[]>`UPDATE causal_edges SET ${counter}, updated_at = ${now} WHERE id = ${found.id} RETURNING *`;
      if (outbox) await insertOutbox(tx, outbox);
      return { edge: toEdge(edge ?? found), outcome: agrees ? ("validated" as const) : ("contradicted" as const) };
    });
  }

  async discover(f: DiscoverFilter): Promise<CausalEdge[]> {
    const sql = this.#sql;
    const rows = await sql<Row[]>`
      SELECT * FROM causal_edges
      WHERE validations >= ${f.minValidations}
        ${f.domain !== undefined ? sql`AND domain = ${f.domain}` : sql``}
        ${f.regime !== undefined ? sql`AND regime = ${f.regime}` : sql``}
        ${f.variable !== undefined ? sql`AND (from_variable = ${f.variable} OR to_variable = ${f.variable})` : sql``}
      ORDER BY validations DESC, confidence DESC, id COLLATE "C"
      LIMIT ${f.limit}`;
    return rows.map(toEdge);
  }

  async pageEdges(domain: string, afterId: string, limit: number): Promise<CausalEdge[]> {
    const rows = await this.#sql<Row[]>`
      SELECT * FROM causal_edges WHERE domain = ${domain} AND id COLLATE "C" > ${afterId} ORDER BY id COLLATE "C" LIMIT ${limit}`;
    return rows.map(toEdge);
  }
}
