import type { BloodstainResult, DeathEffects, DeathRecord, DeathStore, GraveyardCursor } from "../../core/coordination/death.js";
import type { DepositOutcome } from "../../core/coordination/pheromone-store.js";
import type { Entry } from "../../core/knowledge/types.js";
import { deathFinalColumns, type DeathRow as Row, toDeathRecord } from "../sql/coordination-rows.js";
import type { SqliteDatabase } from "./database.js";
import type { SqliteEntryStore } from "./sqlite-entry-store.js";
import type { SqlitePheromoneStore } from "./sqlite-pheromone-store.js";

/**
 * The death registry in SQLite. A death and all its effects share one transaction on the one
 * database that also holds golems, entries and the pheromone field, so the entry and
 * pheromone stores' synchronous twins run inside it.
 */
export class SqliteDeathStore implements DeathStore {
  readonly #db: SqliteDatabase;
  readonly #entries: Pick<SqliteEntryStore, "insertManySync">;
  readonly #pheromones: Pick<SqlitePheromoneStore, "depositSync" | "discardMirror">;
  readonly #q;

  constructor(
    db: SqliteDatabase,
    stores: { entries: Pick<SqliteEntryStore, "insertManySync">; pheromones: Pick<SqlitePheromoneStore, "depositSync" | "discardMirror"> },
  ) {
    this.#db = db;
    this.#entries = stores.entries;
    this.#pheromones = stores.pheromones;
    this.#q = {
      find: db.prepare("SELECT * FROM deaths WHERE golem_id = ?"),
      kill: db.prepare(
        "UPDATE golems SET status = 'dead', died_at = ?, death_cause = ?, ticks_lived = ? WHERE id = ? AND status != 'dead'",
      ),
      insert: db.prepare(
        `INSERT INTO deaths (golem_id, user_id, generation, death_cause, died_at, recorded_at, ticks_lived, warnings, causal_edges,
           testament_excerpt, somatic_fragment, signed, born_at, final_phase, final_pad, final_nav, domains, result)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      page: db.prepare("SELECT * FROM deaths WHERE user_id = ? ORDER BY died_at DESC, golem_id DESC LIMIT ?"),
      pageAfter: db.prepare(
        "SELECT * FROM deaths WHERE user_id = ? AND (died_at < ? OR (died_at = ? AND golem_id < ?)) ORDER BY died_at DESC, golem_id DESC LIMIT ?",
      ),
      recent: db.prepare("SELECT * FROM deaths ORDER BY died_at DESC, golem_id DESC LIMIT ?"),
      first: db.prepare("SELECT golem_id FROM deaths WHERE user_id = ? ORDER BY rowid LIMIT 1"),
      counts: db.prepare("SELECT COUNT(*) AS total, COALESCE(SUM(died_at >= ?), 0) AS since FROM deaths"),
    };
  }

  async find(golemId: string): Promise<DeathRecord | undefined> {
    const r = this.#q.find.get(golemId) as Row | undefined;
    return r ? toDeathRecord(r) : undefined;
  }

  async record(
    death: Omit<DeathRecord, "result">,
    effects: DeathEffects,
    now: number,
    resultOf: (entries: readonly Entry[], deposits: readonly DepositOutcome[]) => BloodstainResult,
  ): Promise<{ record: DeathRecord; created: boolean; entries: readonly Entry[]; deposits: readonly DepositOutcome[] }> {
    try {
      return this.#apply(death, effects, now, resultOf);
    } catch (err) {
      // The deposits made inside the rolled-back transaction must not stay in the read mirror.
      this.#pheromones.discardMirror();
      throw err;
    }
  }

  #apply(
    death: Omit<DeathRecord, "result">,
    effects: DeathEffects,
    now: number,
    resultOf: (entries: readonly Entry[], deposits: readonly DepositOutcome[]) => BloodstainResult,
  ): { record: DeathRecord; created: boolean; entries: readonly Entry[]; deposits: readonly DepositOutcome[] } {
    return this.#db.transaction(() => {
      const q = this.#q;
      const first = q.find.get(death.golemId) as Row | undefined;
      if (first) return { record: toDeathRecord(first), created: false, entries: [], deposits: [] };
      q.kill.run(death.diedAt, death.deathCause, death.ticksLived, death.golemId);
      const entries = this.#entries.insertManySync(effects.entries).map((s) => s.entry);
      const deposits = effects.deposits.map((d) => this.#pheromones.depositSync(d, now, effects.outbox?.get(d.id)));
      const record: DeathRecord = { ...death, result: resultOf(entries, deposits) };
      q.insert.run(
        death.golemId,
        death.userId,
        death.generation,
        death.deathCause,
        death.diedAt,
        death.recordedAt,
        death.ticksLived,
        death.warnings,
        death.causalEdges,
        death.testamentExcerpt,
        death.somaticFragment === null ? null : JSON.stringify(death.somaticFragment),
        death.signed ? 1 : 0,
        ...deathFinalColumns(death),
        JSON.stringify(record.result),
      );
      return { record, created: true, entries, deposits };
    })();
  }

  async graveyard(userId: string, limit: number, after?: GraveyardCursor): Promise<DeathRecord[]> {
    const rows = after ? this.#q.pageAfter.all(userId, after.diedAt, after.diedAt, after.golemId, limit) : this.#q.page.all(userId, limit);
    return (rows as Row[]).map(toDeathRecord);
  }

  async recent(limit: number): Promise<DeathRecord[]> {
    return (this.#q.recent.all(limit) as Row[]).map(toDeathRecord);
  }

  async firstOfUser(userId: string): Promise<string | undefined> {
    return (this.#q.first.get(userId) as { golem_id: string } | undefined)?.golem_id;
  }

  async counts(since: number): Promise<{ total: number; since: number }> {
    return this.#q.counts.get(since) as { total: number; since: number };
  }
}
