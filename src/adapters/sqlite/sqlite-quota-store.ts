import type { LimitsOverride } from "../../core/quota/limits.js";
import type { QuotaStore } from "../../core/quota/quota-store.js";
import { decodeOverride, encodeOverride } from "../sql/quota-rows.js";
import type { SqliteDatabase } from "./database.js";

/** QuotaStore on the micronode SQLite database (table `user_quotas`, migration 8). */
export class SqliteQuotaStore implements QuotaStore {
  readonly #q;

  constructor(db: SqliteDatabase) {
    this.#q = {
      get: db.prepare("SELECT override, blob_bytes FROM user_quotas WHERE user_id = ?"),
      setOverride: db.prepare(
        `INSERT INTO user_quotas (user_id, override, blob_bytes, updated_at) VALUES (?, ?, 0, ?)
         ON CONFLICT(user_id) DO UPDATE SET override = excluded.override, updated_at = excluded.updated_at`,
      ),
      addBytes: db.prepare(
        `INSERT INTO user_quotas (user_id, override, blob_bytes, updated_at) VALUES (@userId, NULL, MAX(0, @bytes), 0)
         ON CONFLICT(user_id) DO UPDATE SET blob_bytes = MAX(0, blob_bytes + @bytes)`,
      ),
    };
  }

  async getOverride(userId: string): Promise<LimitsOverride | undefined> {
    return decodeOverride((this.#q.get.get(userId) as { override: string | null } | undefined)?.override);
  }
  async setOverride(userId: string, override: LimitsOverride | undefined, at: number): Promise<void> {
    this.#q.setOverride.run(userId, encodeOverride(override), at);
  }
  async blobBytes(userId: string): Promise<number> {
    return (this.#q.get.get(userId) as { blob_bytes: number } | undefined)?.blob_bytes ?? 0;
  }
  async addBlobBytes(userId: string, bytes: number): Promise<void> {
    this.#q.addBytes.run({ userId, bytes });
  }
}
