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
import type { SqlRow as Row } from "../sql/codec.js";
import type { SqliteDatabase } from "./database.js";

/**
 * AuditLog on the micronode SQLite database, keyed by `key` (STYX_SECRET_KEY, never stored
 * here). Each append reads the head, chains the record and moves the head in one transaction,
 * so the chain cannot fork within this process and other processes on the same file are
 * serialised by SQLite's write lock.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #db: SqliteDatabase;
  readonly #clock: Clock;
  readonly #key: SecretKey;
  readonly #q;

  constructor(db: SqliteDatabase, clock: Clock, key: SecretKey) {
    this.#db = db;
    this.#clock = clock;
    this.#key = key;
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
    return this.#atHead((head) => this.#put(head, input));
  }

  async seal(): Promise<AuditRecord | undefined> {
    return this.#atHead((head) => {
      const input = sealInput(head);
      return input && this.#put(head, input);
    });
  }

  async latest(action: string): Promise<AuditRecord | undefined> {
    const row = this.#q.latest.get(action) as Row | undefined;
    return row && toAuditRecord(row);
  }

  async list(after: number, limit: number): Promise<AuditRecord[]> {
    return (this.#q.list.all(after, limit) as Row[]).map(toAuditRecord);
  }

  async verify(kept?: ChainHead): Promise<AuditVerification> {
    const head = this.#q.head.get() as ChainHead | undefined;
    const rows = this.#q.all.iterate() as IterableIterator<Row>;
    return verifyChain(this.#key, mapIter(rows, toAuditRecord), head, kept);
  }

  /** Runs `f` on the head inside one write transaction (taken at once: no upgrade deadlock). */
  #atHead<T>(f: (head: ChainHead) => T): T {
    return this.#db.transaction(() => f((this.#q.head.get() as ChainHead | undefined) ?? { seq: 0, hash: GENESIS_HASH })).immediate();
  }

  #put(head: ChainHead, input: AuditInput): AuditRecord {
    const r = chainRecord(this.#key, head, this.#clock.now(), input);
    this.#q.insert.run(r);
    this.#q.moveHead.run(r);
    return r;
  }
}

function* mapIter<A, B>(it: Iterable<A>, f: (a: A) => B): Iterable<B> {
  for (const a of it) yield f(a);
}
