import type { CladeMember, CladeStore } from "../../core/fabric/clade.js";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { type CladeMemberRow, domainsColumn, toCladeMember } from "../sql/clade-rows.js";
import type { PgSql } from "./database.js";

/**
 * Advisory-lock class of a recipient's outbox (the two-key form, apart from the one-key
 * migration lock): enqueues for one recipient from several gateways take turns, so the
 * `max` bound and the dropped count are exact.
 */
const OUTBOX_LOCK = 0x5759_0003;

/**
 * Clade membership and delta outbox in PostgreSQL (macronode): every gateway shares them.
 * `take` deletes what it returns in one statement and skips rows another taker holds, so two
 * gateways serving the same golem never hand out a delta twice.
 */
export class PostgresCladeStore implements CladeStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async register(m: CladeMember): Promise<void> {
    await this.#sql`
      INSERT INTO clade_members (golem_id, user_id, domains, registered_at)
      VALUES (${m.golemId}, ${m.userId}, ${domainsColumn(m.domains)}, ${m.registeredAt})
      ON CONFLICT (golem_id) DO UPDATE SET domains = excluded.domains`;
  }

  async members(userId: string): Promise<CladeMember[]> {
    const rows = await this.#sql<CladeMemberRow[]>`
      SELECT golem_id, user_id, domains, registered_at FROM clade_members
      WHERE user_id = ${userId} ORDER BY registered_at, golem_id COLLATE "C"`;
    return rows.map(toCladeMember);
  }

  async enqueue(recipients: readonly string[], event: SequencedEvent, expiresAt: number, max: number): Promise<number> {
    const to = [...new Set(recipients)].sort();
    if (to.length === 0) return 0;
    const json = JSON.stringify(event);
    return this.#sql.begin(async (tx) => {
      // Locks are taken in one order (sorted keys) so two multi-recipient enqueues cannot deadlock;
      // keyed by schema too, so clusters sharing a database never wait on each other.
      await tx`
        SELECT pg_advisory_xact_lock(${OUTBOX_LOCK}, k)
        FROM (SELECT DISTINCT hashtext(current_schema() || r) AS k FROM unnest(${tx.array(to)}::text[]) AS r ORDER BY k) AS keys`;
      await tx`
        INSERT INTO clade_outbox (recipient, event, created_at, expires_at)
        SELECT r, ${json}, ${event.ts}, ${expiresAt} FROM unnest(${tx.array(to)}::text[]) AS r`;
      const dropped = await tx`
        DELETE FROM clade_outbox WHERE id IN (
          SELECT id FROM (
            SELECT id, row_number() OVER (PARTITION BY recipient ORDER BY id DESC) AS rank
            FROM clade_outbox WHERE recipient = ANY(${tx.array(to)}::text[])
          ) AS ranked WHERE rank > ${max})`;
      return dropped.count;
    });
  }

  async take(recipient: string, now: number, limit: number): Promise<SequencedEvent[]> {
    if (limit <= 0) return [];
    const rows = await this.#sql<{ id: number; event: string }[]>`
      DELETE FROM clade_outbox WHERE id IN (
        SELECT id FROM clade_outbox WHERE recipient = ${recipient} AND expires_at > ${now}
        ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING id, event`;
    // RETURNING follows no order; the contract promises enqueue order.
    return rows
      .slice()
      .sort((a, b) => a.id - b.id)
      .map((r) => JSON.parse(r.event) as SequencedEvent);
  }

  async purgeExpired(now: number): Promise<number> {
    return (await this.#sql`DELETE FROM clade_outbox WHERE expires_at <= ${now}`).count;
  }
}
