import {
  type AuditInput,
  type AuditLog,
  type AuditRecord,
  type AuditVerification,
  type ChainHead,
  chainRecord,
  GENESIS_HASH,
  sealInput,
  verifyChain,
} from "../../core/platform/audit.js";
import type { Clock } from "../../core/platform/clock.js";
import type { SecretKey } from "../../core/platform/secret-key.js";
import { toAuditRecord } from "../sql/audit-rows.js";
import type { PgSql, PgTx } from "./database.js";

/**
 * AuditLog on the macronode PostgreSQL database, keyed by `key` (STYX_SECRET_KEY: every
 * gateway's, never in the database). Every gateway appends to the same chain: each append
 * locks the head row, chains the record and moves the head in one transaction, so concurrent
 * appends from any number of processes queue on that row and never fork. The lock is a row
 * lock rather than an advisory lock because advisory keys are database-wide, and clusters
 * sharing a database (one schema each) must not wait on each other.
 */
export class PostgresAuditLog implements AuditLog {
  readonly #sql: PgSql;
  readonly #clock: Clock;
  readonly #key: SecretKey;

  constructor(sql: PgSql, clock: Clock, key: SecretKey) {
    this.#sql = sql;
    this.#clock = clock;
    this.#key = key;
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    return this.#atHead((tx, head) => this.#put(tx, head, input));
  }

  async seal(): Promise<AuditRecord | undefined> {
    return this.#atHead(async (tx, head) => {
      const input = sealInput(head);
      return input && this.#put(tx, head, input);
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

  async verify(kept?: ChainHead): Promise<AuditVerification> {
    // One snapshot for the head and the records, or an append landing between the two reads
    // would look like a record beyond the head (or a missing one).
    return this.#sql.begin("isolation level repeatable read read only", async (tx) => {
      const [head] = await tx<ChainHead[]>`SELECT seq, hash FROM audit_head WHERE id = 1`;
      const records: AuditRecord[] = [];
      for await (const rows of tx`SELECT * FROM audit_log ORDER BY seq`.cursor(1000)) {
        for (const r of rows) records.push(toAuditRecord(r));
      }
      return verifyChain(this.#key, records, head, kept);
    });
  }

  /** Runs `f` on the locked head inside one transaction. */
  async #atHead<T>(f: (tx: PgTx, head: ChainHead) => Promise<T>): Promise<T> {
    return this.#sql.begin(async (tx) => {
      // A no-op upsert instead of SELECT … FOR UPDATE: it also locks the head when the log is
      // empty (FOR UPDATE on a missing row locks nothing, and two first appends would race),
      // and after waiting for a concurrent append it returns the head that append committed.
      const [head] = await tx<ChainHead[]>`
        INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, ${GENESIS_HASH})
        ON CONFLICT (id) DO UPDATE SET seq = audit_head.seq
        RETURNING seq, hash`;
      return f(tx, head ?? { seq: 0, hash: GENESIS_HASH });
    }) as Promise<T>;
  }

  async #put(tx: PgTx, head: ChainHead, input: AuditInput): Promise<AuditRecord> {
    const r = chainRecord(this.#key, head, this.#clock.now(), input);
    await tx`INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash)
      VALUES (${r.seq}, ${r.ts}, ${r.actor}, ${r.action}, ${r.target}, ${r.requestId}, ${r.ip}, ${r.details}, ${r.prevHash}, ${r.hash})`;
    await tx`UPDATE audit_head SET seq = ${r.seq}, hash = ${r.hash} WHERE id = 1`;
    return r;
  }
}
