import type { CladeMember, CladeStore } from "../../core/fabric/clade.js";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { type CladeMemberRow, domainsColumn, toCladeMember } from "../sql/clade-rows.js";
import type { SqliteDatabase } from "./database.js";

/** Clade membership and delta outbox in SQLite (micronode; `:memory:` under amnesia). */
export class SqliteCladeStore implements CladeStore {
  readonly #db: SqliteDatabase;
  readonly #register;
  readonly #members;
  readonly #enqueue;
  readonly #trim;
  readonly #take;
  readonly #delete;
  readonly #purge;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#register = db.prepare(
      `INSERT INTO clade_members (golem_id, user_id, domains, registered_at) VALUES (?, ?, ?, ?)
       ON CONFLICT(golem_id) DO UPDATE SET domains = excluded.domains`,
    );
    this.#members = db.prepare("SELECT * FROM clade_members WHERE user_id = ? ORDER BY registered_at, golem_id");
    this.#enqueue = db.prepare("INSERT INTO clade_outbox (recipient, event, created_at, expires_at) VALUES (?, ?, ?, ?)");
    this.#trim = db.prepare(
      `DELETE FROM clade_outbox WHERE recipient = ? AND id NOT IN
         (SELECT id FROM clade_outbox WHERE recipient = ? ORDER BY id DESC LIMIT ?)`,
    );
    this.#take = db.prepare("SELECT id, event FROM clade_outbox WHERE recipient = ? AND expires_at > ? ORDER BY id LIMIT ?");
    this.#delete = db.prepare("DELETE FROM clade_outbox WHERE id = ?");
    this.#purge = db.prepare("DELETE FROM clade_outbox WHERE expires_at <= ?");
  }

  async register(m: CladeMember): Promise<void> {
    this.#register.run(m.golemId, m.userId, domainsColumn(m.domains), m.registeredAt);
  }

  async members(userId: string): Promise<CladeMember[]> {
    return (this.#members.all(userId) as CladeMemberRow[]).map(toCladeMember);
  }

  async enqueue(recipients: readonly string[], event: SequencedEvent, expiresAt: number, max: number): Promise<number> {
    const json = JSON.stringify(event);
    return this.#db.transaction(() => {
      let dropped = 0;
      // A recipient named twice is one recipient: one copy, its drops counted once (as in PostgreSQL).
      for (const r of new Set(recipients)) {
        this.#enqueue.run(r, json, event.ts, expiresAt);
        dropped += this.#trim.run(r, r, max).changes;
      }
      return dropped;
    })();
  }

  async take(recipient: string, now: number, limit: number): Promise<SequencedEvent[]> {
    return this.#db.transaction(() => {
      const rows = this.#take.all(recipient, now, limit) as { id: number; event: string }[];
      for (const r of rows) this.#delete.run(r.id);
      return rows.map((r) => JSON.parse(r.event) as SequencedEvent);
    })();
  }

  async purgeExpired(now: number): Promise<number> {
    return this.#purge.run(now).changes;
  }
}
