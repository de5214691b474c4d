import type { AchievementCode, AchievementStore, Unlocked } from "../../core/coordination/achievements.js";
import type { SqliteDatabase } from "./database.js";

/** Unlocked achievements and the source-hash directory in SQLite. */
export class SqliteAchievementStore implements AchievementStore {
  readonly #q;

  constructor(db: SqliteDatabase) {
    this.#q = {
      unlock: db.prepare("INSERT INTO achievements (golem_id, code, unlocked_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"),
      list: db.prepare("SELECT code, unlocked_at FROM achievements WHERE golem_id = ? ORDER BY unlocked_at, code"),
      remember: db.prepare("INSERT INTO sources (source_hash, golem_id) VALUES (?, ?) ON CONFLICT DO NOTHING"),
      golemOf: db.prepare("SELECT golem_id FROM sources WHERE source_hash = ?"),
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

  async rememberSource(sourceHash: string, golemId: string): Promise<void> {
    this.#q.remember.run(sourceHash, golemId);
  }

  async golemOfSource(sourceHash: string): Promise<string | undefined> {
    return (this.#q.golemOf.get(sourceHash) as { golem_id: string } | undefined)?.golem_id;
  }
}
