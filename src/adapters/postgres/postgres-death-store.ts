import type { BloodstainResult, DeathEffects, DeathRecord, DeathStore, GraveyardCursor } from "../../core/coordination/death.js";
import type { DepositOutcome, PheromoneDeposit } from "../../core/coordination/pheromone-store.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import type { Entry, LetheCandidate, NewEntry } from "../../core/knowledge/types.js";
import { deathFinalColumns, type DeathRow as Row, toDeathRecord } from "../sql/coordination-rows.js";
import type { PgSql, PgTx } from "./database.js";
import { lockPheromoneCells } from "./postgres-pheromone-store.js";

/** The part of the PostgreSQL entry store a death needs: entries written in the death's transaction. */
export interface DeathEntryWriter {
  insertManyWith(
    tx: PgTx,
    items: readonly { entry: NewEntry; lethe?: LetheCandidate | undefined }[],
  ): Promise<{ entry: Entry; created: boolean }[]>;
}

/** The part of the PostgreSQL pheromone store a death needs: deposits in the death's transaction. */
export interface DeathPheromoneWriter {
  depositWith(tx: PgTx, d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome>;
}

/** Columns of a record (`seq` only orders `firstOfUser`). */
const COLUMNS = `golem_id, user_id, generation, death_cause, died_at, recorded_at, ticks_lived, warnings, causal_edges,
  testament_excerpt, somatic_fragment, signed, born_at, final_phase, final_pad, final_nav, domains, result`;

/**
 * The death registry in PostgreSQL (macronode). A death and all its effects are one
 * transaction on the database that also holds golems, entries and the pheromone field; the
 * golem's row is locked first, so two gateways receiving the same bloodstain take turns and
 * the second finds the first's record.
 */
export class PostgresDeathStore implements DeathStore {
  readonly #sql: PgSql;
  readonly #entries: DeathEntryWriter;
  readonly #pheromones: DeathPheromoneWriter;

  constructor(sql: PgSql, stores: { entries: DeathEntryWriter; pheromones: DeathPheromoneWriter }) {
    this.#sql = sql;
    this.#entries = stores.entries;
    this.#pheromones = stores.pheromones;
  }

  async find(golemId: string): Promise<DeathRecord | undefined> {
    const [r] = await this.#sql<Row[]>`SELECT ${this.#sql.unsafe(COLUMNS)} FROM deaths WHERE golem_id = ${golemId}`;
    return r ? toDeathRecord(r) : undefined;
  }

  async record(
    death: Omit<DeathRecord, "result">,
    effects: DeathEffects,
    now: number,
    resultOf: (entries: readonly Entry[], deposits: readonly DepositOutcome[]) => BloodstainResult,
  ): Promise<{ record: DeathRecord; created: boolean; entries: readonly Entry[]; deposits: readonly DepositOutcome[] }> {
    return this.#sql.begin(async (tx) => {
      // NO KEY UPDATE serialises deaths of this golem without blocking inserts that reference it (FK share locks).
      await tx`SELECT 1 FROM golems WHERE id = ${death.golemId} FOR NO KEY UPDATE`;
      const [first] = await tx<Row[]>`SELECT ${tx.unsafe(COLUMNS)} FROM deaths WHERE golem_id = ${death.golemId}`;
      if (first) return { record: toDeathRecord(first), created: false, entries: [], deposits: [] };
      await tx`
        UPDATE golems SET status = 'dead', died_at = ${death.diedAt}, death_cause = ${death.deathCause}, ticks_lived = ${death.ticksLived}
        WHERE id = ${death.golemId} AND status <> 'dead'`;
      const entries = (await this.#entries.insertManyWith(tx, effects.entries)).map((s) => s.entry);
      // All cells up front, in one order: deposits one by one would lock them in the warnings' order and could deadlock another death.
      await lockPheromoneCells(tx, effects.deposits);
      const deposits: DepositOutcome[] = [];
      for (const d of effects.deposits) deposits.push(await this.#pheromones.depositWith(tx, d, now, effects.outbox?.get(d.id)));
      const record: DeathRecord = { ...death, result: resultOf(entries, deposits) };
      const [bornAt, finalPhase, finalPad, finalNav, domains] = deathFinalColumns(death);
      await tx`
        INSERT INTO deaths (golem_id, user_id, generation, death_cause, died_at, recorded_at, ticks_lived, warnings, causal_edges,
          testament_excerpt, somatic_fragment, signed, born_at, final_phase, final_pad, final_nav, domains, result)
        VALUES (${death.golemId}, ${death.userId}, ${death.generation}, ${death.deathCause}, ${death.diedAt}, ${death.recordedAt},
          ${death.ticksLived}, ${death.warnings}, ${death.causalEdges}, ${death.testamentExcerpt},
          ${death.somaticFragment === null ? null : JSON.stringify(death.somaticFragment)}, ${death.signed},
          ${bornAt}, ${finalPhase}, ${finalPad}, ${finalNav}, ${domains}, ${JSON.stringify(record.result)})`;
      return { record, created: true, entries, deposits };
    });
  }

  async graveyard(userId: string, limit: number, after?: GraveyardCursor): Promise<DeathRecord[]> {
    const sql = this.#sql;
    const rows = await sql<Row[]>`
      SELECT ${sql.unsafe(COLUMNS)} FROM deaths
      WHERE user_id = ${userId}
        ${after ? sql`AND (died_at, golem_id COLLATE "C") < (${after.diedAt}, ${after.golemId} COLLATE "C")` : sql``}
      ORDER BY died_at DESC, golem_id COLLATE "C" DESC
      LIMIT ${limit}`;
    return rows.map(toDeathRecord);
  }

  async recent(limit: number): Promise<DeathRecord[]> {
    const sql = this.#sql;
    const rows = await sql<Row[]>`
      SELECT ${sql.unsafe(COLUMNS)} FROM deaths ORDER BY died_at DESC, golem_id COLLATE "C" DESC LIMIT ${limit}`;
    return rows.map(toDeathRecord);
  }

  async firstOfUser(userId: string): Promise<string | undefined> {
    const [row] = await this.#sql<{ golem_id: string }[]>`SELECT golem_id FROM deaths WHERE user_id = ${userId} ORDER BY seq LIMIT 1`;
    return row?.golem_id;
  }

  async counts(since: number): Promise<{ total: number; since: number }> {
    const [row] = await this.#sql<{ total: number; since: number }[]>`
      SELECT count(*) AS total, count(*) FILTER (WHERE died_at >= ${since}) AS since FROM deaths`;
    return { total: row?.total ?? 0, since: row?.since ?? 0 };
  }
}
