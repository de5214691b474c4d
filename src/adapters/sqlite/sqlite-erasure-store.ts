import type { DeathRecord } from "../../core/coordination/death.js";
import type { ErasureJob, ErasureStore } from "../../core/identity/erasure.js";
import { anonymizedDeathColumns, type ErasureJobRow, erasureJobRow, toErasureJob } from "../sql/erasure-rows.js";
import type { SqliteDatabase } from "./database.js";

/** ErasureStore on the micronode SQLite database (table `erasure_jobs`, migration 14; the rows it erases). */
export class SqliteErasureStore implements ErasureStore {
  readonly #db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  async create(job: ErasureJob): Promise<ErasureJob> {
    const row = erasureJobRow(job);
    return this.#db.transaction(() => {
      const running = this.#db
        .prepare("SELECT * FROM erasure_jobs WHERE state = 'running' AND kind = ? AND user_id = ? AND coalesce(golem_id, '') = ?")
        .get(row.kind, row.user_id, row.golem_id ?? "") as ErasureJobRow | undefined;
      if (running) return toErasureJob(running);
      this.#db
        .prepare(
          `INSERT INTO erasure_jobs (id, kind, user_id, golem_id, requested_by, state, step, created_at, updated_at, finished_at)
           VALUES (@id, @kind, @user_id, @golem_id, @requested_by, @state, @step, @created_at, @updated_at, @finished_at)`,
        )
        .run(row);
      return job;
    })();
  }

  async get(id: string): Promise<ErasureJob | undefined> {
    const row = this.#db.prepare("SELECT * FROM erasure_jobs WHERE id = ?").get(id) as ErasureJobRow | undefined;
    return row && toErasureJob(row);
  }

  async unfinished(limit: number): Promise<ErasureJob[]> {
    const rows = this.#db
      .prepare("SELECT * FROM erasure_jobs WHERE state = 'running' ORDER BY created_at, id LIMIT ?")
      .all(limit) as ErasureJobRow[];
    return rows.map(toErasureJob);
  }

  async advance(id: string, step: number, at: number): Promise<void> {
    this.#db.prepare("UPDATE erasure_jobs SET step = MAX(step, ?), updated_at = ? WHERE id = ?").run(step, at, id);
  }

  async finish(id: string, at: number): Promise<void> {
    this.#db
      .prepare("UPDATE erasure_jobs SET state = 'done', user_id = NULL, golem_id = NULL, updated_at = ?, finished_at = ? WHERE id = ?")
      .run(at, at, id);
  }

  async eraseGolemRecords(golemId: string, sourceHash: string, death: DeathRecord | undefined): Promise<void> {
    const db = this.#db;
    db.transaction(() => {
      const run = (sql: string) => db.prepare(sql).run(golemId);
      run("DELETE FROM clade_members WHERE golem_id = ?");
      db.prepare("DELETE FROM clade_outbox WHERE recipient = ? OR instr(event, ?) > 0").run(golemId, JSON.stringify(golemId));
      run("DELETE FROM achievements WHERE golem_id = ?");
      db.prepare("DELETE FROM source_directory WHERE source_hash = ?").run(sourceHash);
      run("DELETE FROM entry_validations WHERE golem_id = ?");
      run("DELETE FROM sessions WHERE golem_id = ?");
      run("DELETE FROM key_spend_limits WHERE key_id IN (SELECT id FROM api_keys WHERE golem_id = ?)");
      run("DELETE FROM federation_links WHERE key_id IN (SELECT id FROM api_keys WHERE golem_id = ?)");
      run("DELETE FROM api_keys WHERE golem_id = ?");
      if (death) {
        db.prepare(
          `UPDATE deaths SET golem_id = @golem_id, user_id = @user_id, testament_excerpt = @testament_excerpt,
             somatic_fragment = @somatic_fragment, result = @result WHERE golem_id = @old`,
        ).run({ ...anonymizedDeathColumns(death), old: golemId });
      }
      run("UPDATE market_listings SET golem_id = NULL WHERE golem_id = ?");
      run("UPDATE market_purchases SET buyer_golem_id = NULL WHERE buyer_golem_id = ?");
      run("UPDATE golems SET parent_golem_id = NULL WHERE parent_golem_id = ?");
      run("DELETE FROM golems WHERE id = ?");
    })();
  }

  async eraseUserRecords(userId: string, alias: string, now: number): Promise<void> {
    const db = this.#db;
    db.transaction(() => {
      // The marketplace (ErasureStore.eraseUserRecords): listings ended and purged, financial rows kept under `alias`.
      db.prepare(
        `UPDATE market_listings SET status = CASE WHEN status = 'active' THEN 'withdrawn' ELSE status END,
           ended_at = COALESCE(ended_at, @now), purged_at = COALESCE(purged_at, @now), escrow_wrapped_cek = NULL,
           embedding = NULL, description = '', preview = '', golem_id = NULL, provenance = NULL, user_id = @alias
         WHERE user_id = @user`,
      ).run({ now, alias, user: userId });
      db.prepare("UPDATE market_purchases SET seller_user_id = ? WHERE seller_user_id = ?").run(alias, userId);
      // As a buyer: its own purchases and ratings, and those of a linked Styx's buyers it bought for (a federate key's,
      // `<user>:<ref>`: core/marketplace/buyer.ts), which keep their reference after the alias so they stay distinct buyers.
      const buyer = "buyer_user_id = @user OR substr(buyer_user_id, 1, length(@user) + 1) = @user || ':'";
      const renamed = "@alias || substr(buyer_user_id, length(@user) + 1)";
      db.prepare(`UPDATE market_purchases SET buyer_user_id = ${renamed}, buyer_golem_id = NULL, wrapped_cek = '' WHERE ${buyer}`).run({
        alias,
        user: userId,
      });
      db.prepare(`UPDATE market_ratings SET buyer_user_id = ${renamed}, comment = NULL WHERE ${buyer}`).run({ alias, user: userId });
      db.prepare("UPDATE market_payouts SET seller_user_id = ? WHERE seller_user_id = ?").run(alias, userId);
      // A key's spend limits and the user's relay credit go with them (SPEC §11.4); the payments ledger stays (settlement, accounts).
      db.prepare("DELETE FROM key_spend_limits WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ?)").run(userId);
      for (const table of ["api_keys", "sessions", "user_quotas", "blob_orphans", "clade_members", "credit_balances", "federation_links"]) {
        db.prepare(`DELETE FROM ${table} WHERE user_id = ?`).run(userId);
      }
      db.prepare("UPDATE erasure_jobs SET requested_by = NULL WHERE requested_by = ?").run(`user:${userId}`);
      db.prepare("DELETE FROM users WHERE id = ?").run(userId);
    })();
  }
}
