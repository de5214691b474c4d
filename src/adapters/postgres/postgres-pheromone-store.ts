import { fadesAt, HV_MAX_MEMBERS, mostSimilar, type Pheromone } from "../../core/coordination/pheromone.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import { addedMember, newPheromone, reinforcedBy } from "../../core/coordination/pheromone-store.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import { hvBytes } from "../sql/codec.js";
import { type PheromoneRow as Row, toPheromone } from "../sql/coordination-rows.js";
import type { PgSql, PgTx } from "./database.js";
import { insertOutbox } from "./postgres-federation-store.js";

/** Columns read back into a Pheromone (`fades_at` is derived from them). */
const COLUMNS = "id, layer, class, domain, regime, intensity, confirmations, deposited_at, created_at, source_hash, metadata, hv";

/**
 * Advisory-lock class of a pheromone cell (the two-key form, apart from the one-key migration
 * lock). A deposit matches within its (domain, regime), so serialising deposits per cell is
 * what keeps two gateways from both inserting the same pheromone.
 */
const CELL_LOCK = 0x5759_0004;

/**
 * Takes the cell locks of `cells` in the caller's transaction, in one global order (sorted
 * hash keys), so a transaction depositing into several cells cannot deadlock with another.
 * Keys include the schema: clusters sharing a database never wait on each other's cells.
 * Re-taking a held lock is free, so `depositWith` may follow.
 */
export async function lockPheromoneCells(tx: PgTx, cells: readonly Pick<PheromoneDeposit, "domain" | "regime">[]): Promise<void> {
  const keys = [...new Set(cells.map(cellKey))];
  if (keys.length === 0) return;
  await tx`
    SELECT pg_advisory_xact_lock(${CELL_LOCK}, k)
    FROM (SELECT DISTINCT hashtext(current_schema() || c) AS k FROM unnest(${tx.array(keys)}::text[]) AS c ORDER BY k) AS keys`;
}

/** One text per cell; JSON keeps ("a|b", "c") apart from ("a", "b|c"). */
function cellKey(c: Pick<PheromoneDeposit, "domain" | "regime">): string {
  return JSON.stringify([c.domain, c.regime]);
}

/**
 * The pheromone field in PostgreSQL (macronode), shared by every gateway. Rows keep their
 * intensity as of the last deposit and the time they fall under the evaporation threshold
 * (`fades_at`), so "live" is an indexed range and decay is never written. There is no
 * in-process read mirror as in SQLite: other gateways write too; a read cache belongs in
 * front of this store (Redis), not inside it.
 */
export class PostgresPheromoneStore implements PheromoneStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  deposit(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    return this.#sql.begin((tx) => this.depositWith(tx, d, now, outbox));
  }

  /**
   * `deposit` inside the caller's transaction (a death deposits with everything else it
   * changes): a failure rolls the caller back, and the cell stays locked until it ends. The
   * outbox row (if any) is written in `tx` too.
   */
  async depositWith(tx: PgTx, d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    const outcome = await this.#depositRows(tx, d, now);
    if (outbox) await insertOutbox(tx, outbox);
    return outcome;
  }

  /** The row writes of a deposit (inside depositWith's transaction). */
  async #depositRows(tx: PgTx, d: PheromoneDeposit, now: number): Promise<DepositOutcome> {
    await lockPheromoneCells(tx, [d]);
    const match = await this.#match(tx, d, now);
    if (!match) {
      const p = newPheromone(d, now);
      const hv = hvBytes(p.hv);
      await tx`
        INSERT INTO pheromones (id, layer, class, domain, regime, intensity, confirmations, deposited_at, created_at, fades_at,
          source_hash, metadata, hv)
        VALUES (${p.id}, ${p.layer}, ${p.class}, ${p.domain}, ${p.regime}, ${p.intensity}, 0, ${now}, ${now}, ${fadesAt(p)},
          ${p.sourceHash}, ${JSON.stringify(p.metadata)}, ${hv})`;
      await tx`INSERT INTO pheromone_sources (pheromone_id, source_hash) VALUES (${p.id}, ${d.sourceHash})`;
      if (hv) await tx`INSERT INTO pheromone_vectors (pheromone_id, n, hv) VALUES (${p.id}, 1, ${hv})`;
      return { pheromone: p, reinforced: false, confirmed: false };
    }
    const added = await tx`
      INSERT INTO pheromone_sources (pheromone_id, source_hash) VALUES (${match.id}, ${d.sourceHash}) ON CONFLICT DO NOTHING`;
    const member = addedMember(match, d);
    const members = member ? await this.#addMember(tx, match.id, member) : null;
    const outcome = reinforcedBy(match, d, added.count > 0, now, members);
    const p = outcome.pheromone;
    await tx`
      UPDATE pheromones SET intensity = ${p.intensity}, confirmations = ${p.confirmations}, deposited_at = ${now},
        fades_at = ${fadesAt(p)}, hv = ${hvBytes(p.hv)}
      WHERE id = ${p.id}`;
    return outcome;
  }

  /**
   * The live pheromone a deposit reinforces: same cell and class, or (with a hypervector) the
   * most similar one of the cell above 0.6. FOR UPDATE because evaporation takes no cell lock:
   * a gateway whose clock runs ahead must not delete the row between this read and the update.
   */
  async #match(tx: PgTx, d: PheromoneDeposit, now: number): Promise<Pheromone | undefined> {
    if (!d.hv) {
      const [row] = await tx<Row[]>`
        SELECT ${tx.unsafe(COLUMNS)} FROM pheromones
        WHERE domain = ${d.domain} AND regime = ${d.regime} AND layer = ${d.layer} AND class = ${d.class}
          AND hv IS NULL AND fades_at > ${now}
        LIMIT 1 FOR UPDATE`;
      return row ? toPheromone(row) : undefined;
    }
    const rows = await tx<Row[]>`
      SELECT ${tx.unsafe(COLUMNS)} FROM pheromones
      WHERE domain = ${d.domain} AND regime = ${d.regime} AND layer = ${d.layer} AND hv IS NOT NULL AND fades_at > ${now}
      FOR UPDATE`;
    return mostSimilar(rows.map(toPheromone), d.hv);
  }

  /** Adds a member vector, keeps the newest HV_MAX_MEMBERS, and returns them, oldest first. */
  async #addMember(tx: PgTx, id: string, hv: Uint8Array): Promise<Uint8Array[]> {
    await tx`
      INSERT INTO pheromone_vectors (pheromone_id, n, hv)
      SELECT ${id}, COALESCE(MAX(n), 0) + 1, ${hvBytes(hv)} FROM pheromone_vectors WHERE pheromone_id = ${id}`;
    await tx`
      DELETE FROM pheromone_vectors WHERE pheromone_id = ${id}
        AND n <= (SELECT MAX(n) FROM pheromone_vectors WHERE pheromone_id = ${id}) - ${HV_MAX_MEMBERS}`;
    const members = await tx<{ hv: Buffer }[]>`SELECT hv FROM pheromone_vectors WHERE pheromone_id = ${id} ORDER BY n`;
    return members.map((m) => new Uint8Array(m.hv));
  }

  async live(domains: readonly string[], regime: string | undefined, now: number): Promise<Pheromone[]> {
    const ds = [...new Set(domains)];
    if (ds.length === 0) return [];
    const sql = this.#sql;
    const rows =
      regime === undefined
        ? await sql<Row[]>`
            SELECT ${sql.unsafe(COLUMNS)} FROM pheromones WHERE domain = ANY(${sql.array(ds)}::text[]) AND fades_at > ${now}`
        : await sql<Row[]>`
            SELECT ${sql.unsafe(COLUMNS)} FROM pheromones
            WHERE domain = ANY(${sql.array(ds)}::text[]) AND regime = ${regime} AND fades_at > ${now}`;
    return rows.map(toPheromone);
  }

  async allLive(now: number): Promise<Pheromone[]> {
    const rows = await this.#sql<Row[]>`SELECT ${this.#sql.unsafe(COLUMNS)} FROM pheromones WHERE fades_at > ${now}`;
    return rows.map(toPheromone);
  }

  async countLive(now: number): Promise<number> {
    const [row] = await this.#sql<{ n: number }[]>`SELECT count(*) AS n FROM pheromones WHERE fades_at > ${now}`;
    return row?.n ?? 0;
  }

  async evaporate(now: number): Promise<number> {
    return (await this.#sql`DELETE FROM pheromones WHERE fades_at <= ${now}`).count;
  }

  async pageLive(domain: string, afterId: string, limit: number, now: number): Promise<Pheromone[]> {
    const rows = await this.#sql<Row[]>`
      SELECT ${this.#sql.unsafe(COLUMNS)} FROM pheromones
      WHERE domain = ${domain} AND id COLLATE "C" > ${afterId} AND fades_at > ${now}
      ORDER BY id COLLATE "C" LIMIT ${limit}`;
    return rows.map(toPheromone);
  }
}
