import type { DeathRecord } from "../../core/coordination/death.js";
import type { ErasureJob, ErasureStore } from "../../core/identity/erasure.js";
import { anonymizedDeathColumns, type ErasureJobRow, erasureJobRow, toErasureJob } from "../sql/erasure-rows.js";
import type { PgSql } from "./database.js";

/** ErasureStore on the macronode PostgreSQL database (table `erasure_jobs`, migration 14; the rows it erases). */
export class PostgresErasureStore implements ErasureStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async create(job: ErasureJob): Promise<ErasureJob> {
    const r = erasureJobRow(job);
    // The partial unique index on running targets decides a race: the loser reads the winner's job.
    const inserted = await this.#sql<ErasureJobRow[]>`
      INSERT INTO erasure_jobs (id, kind, user_id, golem_id, requested_by, state, step, created_at, updated_at, finished_at)
      VALUES (${r.id}, ${r.kind}, ${r.user_id}, ${r.golem_id}, ${r.requested_by}, ${r.state}, ${r.step}, ${r.created_at}, ${r.updated_at}, ${r.finished_at})
      ON CONFLICT DO NOTHING RETURNING *`;
    if (inserted[0]) return toErasureJob(inserted[0]);
    const [running] = await this.#sql<ErasureJobRow[]>`
      SELECT * FROM erasure_jobs WHERE state = 'running' AND kind = ${r.kind} AND user_id = ${r.user_id}
        AND coalesce(golem_id, '') = ${r.golem_id ?? ""}`;
    if (!running) throw new Error("erasure job neither inserted nor running");
    return toErasureJob(running);
  }

  async get(id: string): Promise<ErasureJob | undefined> {
    const [row] = await this.#sql<ErasureJobRow[]>`SELECT * FROM erasure_jobs WHERE id = ${id}`;
    return row && toErasureJob(row);
  }

  async unfinished(limit: number): Promise<ErasureJob[]> {
    const rows = await this.#sql<ErasureJobRow[]>`
      SELECT * FROM erasure_jobs WHERE state = 'running' ORDER BY created_at, id LIMIT ${limit}`;
    return rows.map(toErasureJob);
  }

  async advance(id: string, step: number, at: number): Promise<void> {
    await this.#sql`UPDATE erasure_jobs SET step = GREATEST(step, ${step}), updated_at = ${at} WHERE id = ${id}`;
  }

  async finish(id: string, at: number): Promise<void> {
    await this.#sql`
      UPDATE erasure_jobs SET state = 'done', user_id = NULL, golem_id = NULL, updated_at = ${at}, finished_at = ${at}
      WHERE id = ${id}`;
  }

  async eraseGolemRecords(golemId: string, sourceHash: string, death: DeathRecord | undefined): Promise<void> {
    const quoted = JSON.stringify(golemId);
    await this.#sql.begin(async (tx) => {
      await tx`DELETE FROM clade_members WHERE golem_id = ${golemId}`;
      await tx`DELETE FROM clade_outbox WHERE recipient = ${golemId} OR strpos(event, ${quoted}) > 0`;
      await tx`DELETE FROM achievements WHERE golem_id = ${golemId}`;
      await tx`DELETE FROM source_directory WHERE source_hash = ${sourceHash}`;
      await tx`DELETE FROM entry_validations WHERE golem_id = ${golemId}`;
      await tx`DELETE FROM sessions WHERE golem_id = ${golemId}`;
      await tx`DELETE FROM key_spend_limits WHERE key_id IN (SELECT id FROM api_keys WHERE golem_id = ${golemId})`;
      await tx`DELETE FROM federation_links WHERE key_id IN (SELECT id FROM api_keys WHERE golem_id = ${golemId})`;
      await tx`DELETE FROM api_keys WHERE golem_id = ${golemId}`;
      if (death) {
        const c = anonymizedDeathColumns(death);
        await tx`
          UPDATE deaths SET golem_id = ${c.golem_id}, user_id = ${c.user_id}, testament_excerpt = ${c.testament_excerpt},
            somatic_fragment = ${c.somatic_fragment}, result = ${c.result}
          WHERE golem_id = ${golemId}`;
      }
      await tx`UPDATE market_listings SET golem_id = NULL WHERE golem_id = ${golemId}`;
      await tx`UPDATE market_purchases SET buyer_golem_id = NULL WHERE buyer_golem_id = ${golemId}`;
      await tx`UPDATE golems SET parent_golem_id = NULL WHERE parent_golem_id = ${golemId}`;
      await tx`DELETE FROM golems WHERE id = ${golemId}`;
    });
  }

  async eraseUserRecords(userId: string, alias: string, now: number): Promise<void> {
    await this.#sql.begin(async (tx) => {
      // The marketplace (ErasureStore.eraseUserRecords): listings ended and purged, financial rows kept under `alias`.
      await tx`UPDATE market_listings SET status = CASE WHEN status = 'active' THEN 'withdrawn' ELSE status END,
          ended_at = COALESCE(ended_at, ${now}), purged_at = COALESCE(purged_at, ${now}), escrow_wrapped_cek = NULL,
          embedding = NULL, description = '', preview = '', golem_id = NULL, provenance = NULL, user_id = ${alias}
        WHERE user_id = ${userId}`;
      await tx`UPDATE market_purchases SET seller_user_id = ${alias} WHERE seller_user_id = ${userId}`;
      // As a buyer: its own purchases and ratings, and those of a linked Styx's buyers it bought for (a federate key's,
      // `<user>:<ref>`: core/marketplace/buyer.ts), which keep their reference after the alias so they stay distinct buyers.
      const fed = `${userId}:`;
      await tx`UPDATE market_purchases SET buyer_user_id = ${alias}::text || substr(buyer_user_id, length(${userId}::text) + 1),
          buyer_golem_id = NULL, wrapped_cek = ''
        WHERE buyer_user_id = ${userId} OR left(buyer_user_id, length(${fed}::text)) = ${fed}`;
      await tx`UPDATE market_ratings SET buyer_user_id = ${alias}::text || substr(buyer_user_id, length(${userId}::text) + 1),
          comment = NULL
        WHERE buyer_user_id = ${userId} OR left(buyer_user_id, length(${fed}::text)) = ${fed}`;
      await tx`UPDATE market_payouts SET seller_user_id = ${alias} WHERE seller_user_id = ${userId}`;
      // A key's spend limits and the user's relay credit go with them (SPEC §11.4); the payments ledger stays (settlement, accounts).
      await tx`DELETE FROM key_spend_limits WHERE key_id IN (SELECT id FROM api_keys WHERE user_id = ${userId})`;
      await tx`DELETE FROM credit_balances WHERE user_id = ${userId}`;
      await tx`DELETE FROM api_keys WHERE user_id = ${userId}`;
      await tx`DELETE FROM sessions WHERE user_id = ${userId}`;
      await tx`DELETE FROM user_quotas WHERE user_id = ${userId}`;
      await tx`DELETE FROM blob_orphans WHERE user_id = ${userId}`;
      await tx`DELETE FROM clade_members WHERE user_id = ${userId}`;
      await tx`DELETE FROM federation_links WHERE user_id = ${userId}`;
      await tx`UPDATE erasure_jobs SET requested_by = NULL WHERE requested_by = ${`user:${userId}`}`;
      await tx`DELETE FROM users WHERE id = ${userId}`;
    });
  }
}
