import type { AchievementCode, AchievementStore, Unlocked } from "../../core/coordination/achievements.js";
import type { SqliteDatabase } from "./database.js";

/** Unlocked achievements and the sealed source directory in SQLite. */
export class SqliteAchievementStore implements AchievementStore {
  readonly #q;

  constructor(db: SqliteDatabase) {
    this.#q = {
      unlock: db.prepare("INSERT INTO achievements (golem_id, code, unlocked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      list: db.prepare("SELECT code, unlocked_at FROM achievements WHERE golem_id = ? ORDER BY unlocked_at, code"),
      remember: db.prepare("INSERT INTO source_directory (source_hash, sealed_golem) VALUES (?, ?) ON CONFLICT DO NOTHING"),
      sealedOf: db.prepare("SELECT sealed_golem FROM source_directory WHERE source_hash = ?"),
    };
  }

  async unlock(golemId: string, code: AchievementCode, at: number): Promise<boolean> {
    return this.#q.unlock.run(golemId, code, at).changes > 0;
  }

  async list(golemId: string): Promise<Unlocked[]> {
    return (this.#q.list.all(golemId) as { code: AchievementCode; unlocked_at: number }[]).map((r) => ({
      code: r.code,
      unlockedAt: r.unlocked_at,
    }));
  }

  async rememberSource(sourceHash: string, sealedGolem: string): Promise<void> {
    this.#q.remember.run(sourceHash, sealedGolem);
  }

  async sealedGolemOf(sourceHash: string): Promise<string | undefined> {
    return (this.#q.sealedOf.get(sourceHash) as { sealed_golem: string } | undefined)?.sealed_golem;
  }
}
