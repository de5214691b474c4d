import type { AchievementCode, AchievementStore, Unlocked } from "../../core/coordination/achievements.js";
import type { PgSql } from "./database.js";

/**
 * Unlocked achievements and the sealed source directory in PostgreSQL (macronode). Both are
 * first-write-wins under a primary key, so gateways unlocking at once agree on who was first.
 */
export class PostgresAchievementStore implements AchievementStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async unlock(golemId: string, code: AchievementCode, at: number): Promise<boolean> {
    const r = await this.#sql`
      INSERT INTO achievements (golem_id, code, unlocked_at) VALUES (${golemId}, ${code}, ${at}) ON CONFLICT DO NOTHING`;
    return r.count > 0;
  }

  async list(golemId: string): Promise<Unlocked[]> {
    const rows = await this.#sql<{ code: AchievementCode; unlocked_at: number }[]>`
      SELECT code, unlocked_at FROM achievements WHERE golem_id = ${golemId} ORDER BY unlocked_at, code COLLATE "C"`;
    return rows.map((r) => ({ code: r.code, unlockedAt: r.unlocked_at }));
  }

  async rememberSource(sourceHash: string, sealedGolem: string): Promise<void> {
    await this.#sql`INSERT INTO source_directory (source_hash, sealed_golem) VALUES (${sourceHash}, ${sealedGolem}) ON CONFLICT DO NOTHING`;
  }

  async sealedGolemOf(sourceHash: string): Promise<string | undefined> {
    const [row] = await this.#sql<{ sealed_golem: string }[]>`SELECT sealed_golem FROM source_directory WHERE source_hash = ${sourceHash}`;
    return row?.sealed_golem;
  }
}
