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
import type { SqlRow as Row } from "../sql/codec.js";
import type { SqliteDatabase } from "./database.js";

/**
 * AuditLog on the micronode SQLite database. Each append reads the head, chains the record
 * and moves the head in one transaction, so the chain cannot fork within this process and
 * other processes on the same file are serialised by SQLite's write lock.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #q;

  constructor(db: SqliteDatabase, clock: Clock) {
    this.#db = db;
    this.#clock = clock;
    this.#q = {
      head: db.prepare("SELECT seq, hash FROM audit_head WHERE id = 1"),
      insert: db.prepare(
        `INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash)
         VALUES (@seq, @ts, @actor, @action, @target, @requestId, @ip, @details, @prevHash, @hash)`,
      ),
      moveHead: db.prepare(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, @seq, @hash) ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
      ),
      list: db.prepare("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?"),
      all: db.prepare("SELECT * FROM audit_log ORDER BY seq"),
      latest: db.prepare("SELECT * FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1"),
    };
  }

  async append(input: AuditInput): Promise<AuditRecord> {
    return this.#db
      .transaction(() => {
        const head = (this.#q.head.get() as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: GENESIS_HASH };
        const r = chainRecord(head, this.#clock.now(), input);
        this.#q.insert.run(r);
        this.#q.moveHead.run(r);
        return r;
      })
      .immediate();
  }

  async latest(action: string): Promise<AuditRecord | undefined> {
    const row = this.#q.latest.get(action) as Row | undefined;
    return row && toAuditRecord(row);
  }

  async list(after: number, limit: number): Promise<AuditRecord[]> {
    return (this.#q.list.all(after, limit) as Row[]).map(toAuditRecord);
  }

  async verify(): Promise<AuditVerification> {
    const head = this.#q.head.get() as { seq: number; hash: string } | undefined;
    const rows = this.#q.all.iterate() as IterableIterator<Row>;
    return verifyChain(mapIter(rows, toAuditRecord), head);
  }
}

function* mapIter<A, B>(it: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const a of it) yield f(a);
}
