import {
  type AuditInput,
  type AuditLog,
  type AuditRecord,
  type AuditVerification,
  chainRecord,
  GENESIS_HASH,
  verifyChain,
} from "../../core/platform/audit.js";
import type { Clock } from "../../core/platform/clock.js";
import { toAuditRecord } from "../sql/audit-rows.js";
import type { PgSql } from "./database.js";

/**
 * AuditLog on the macronode PostgreSQL database. Every gateway appends to the same chain:
 * each append locks the head row, chains the record and moves the head in one transaction,
 * so concurrent appends from any number of processes queue on that row and never fork.
 * The lock is a row lock rather than an advisory lock because advisory keys are
 * database-wide, and clusters sharing a database (one schema each) must not wait on each other.
 */
export class PostgresAuditLog implements AuditLog {
  readonly #sql: PgSql;
  readonly #clock: Clock;

  constructor(sql: PgSql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    return this.#sql.begin(async (tx) => {
      // A no-op upsert instead of SELECT … FOR UPDATE: it also locks the head when the log is
      // empty (FOR UPDATE on a missing row locks nothing, and two first appends would race),
      // and after waiting for a concurrent append it returns the head that append committed.
      const [head] = await tx<{ seq: number; hash: string }[]>`
        INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ${GENESIS_HASH})
        ON CONFLICT (id) DO UPDATE SET seq = audit_head.seq
        RETURNING seq, hash`;
      const r = chainRecord(head ?? { seq: 0, hash: GENESIS_HASH }, this.#clock.now(), input);
      await tx`INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash)
        VALUES (${r.seq}, ${r.ts}, ${r.actor}, ${r.action}, ${r.target}, ${r.requestId}, ${r.ip}, ${r.details}, ${r.prevHash}, ${r.hash})`;
      await tx`UPDATE audit_head SET seq = ${r.seq}, hash = ${r.hash} WHERE id = 1`;
      return r;
    });
  }

  async latest(action: string): Promise<AuditRecord | undefined> {
    const [row] = await this.#sql`SELECT * FROM audit_log WHERE action = ${action} ORDER BY seq DESC LIMIT 1`;
    return row && toAuditRecord(row as never);
  }

  async list(after: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.#sql`SELECT * FROM audit_log WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`;
    return rows.map(toAuditRecord);
  }

  async verify(): Promise<AuditVerification> {
    // One snapshot for the head and the records, or an append landing between the two reads
    // would look like a record beyond the head (or a missing one).
    return this.#sql.begin("isolation level repeatable read read only", async (tx) => {
      const [head] = await tx<{ seq: number; hash: string }[]>`SELECT seq, hash FROM audit_head WHERE id = 1`;
      const records: AuditRecord[] = [];
      for await (const rows of tx`SELECT * FROM audit_log ORDER BY seq`.cursor(1000)) {
        for (const r of rows) records.push(toAuditRecord(r));
      }
      return verifyChain(records, head);
    });
  }
}
