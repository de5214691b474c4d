import type { LimitsOverride } from "../../core/quota/limits.js";
import type { QuotaStore } from "../../core/quota/quota-store.js";
import { decodeOverride, encodeOverride } from "../sql/quota-rows.js";
import type { PgSql } from "./database.js";

/** QuotaStore on the macronode PostgreSQL database (table `user_quotas`, migration 9). */
export class PostgresQuotaStore implements QuotaStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async getOverride(userId: string): Promise<LimitsOverride | undefined> {
    const [row] = await this.#sql<{ override: string | null }[]>`SELECT override FROM user_quotas WHERE user_id = ${userId}`;
    return decodeOverride(row?.override);
  }
  async setOverride(userId: string, override: LimitsOverride | undefined, at: number): Promise<void> {
    await this
      .#sql`INSERT INTO user_quotas (user_id, override, blob_bytes, updated_at) VALUES (${userId}, ${encodeOverride(override)}, 0, ${at})
      ON CONFLICT (user_id) DO UPDATE SET override = excluded.override, updated_at = excluded.updated_at`;
  }
  async blobBytes(userId: string): Promise<number> {
    const [row] = await this.#sql<{ blob_bytes: number }[]>`SELECT blob_bytes FROM user_quotas WHERE user_id = ${userId}`;
    return Number(row?.blob_bytes ?? 0);
  }
  async addBlobBytes(userId: string, bytes: number): Promise<void> {
    await this
      .#sql`INSERT INTO user_quotas (user_id, override, blob_bytes, updated_at) VALUES (${userId}, NULL, GREATEST(0, ${bytes}::bigint), 0)
      ON CONFLICT (user_id) DO UPDATE SET blob_bytes = GREATEST(0, user_quotas.blob_bytes + ${bytes}::bigint)`;
  }
}
