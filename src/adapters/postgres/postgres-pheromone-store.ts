import { fadesAt, HV_MAX_MEMBERS, mostSimilar, type Pheromone } from "../../core/coordination/pheromone.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import { addedMember, newPheromone, reinforcedBy } from "../../core/coordination/pheromone-store.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";
import { hvBytes } from "../sql/codec.js";
import { type PheromoneRow as Row, toPheromone } from "../sql/coordination-rows.js";
import type { PgSql, PgTx } from "./database.js";
import { type Finish, type Pipeline, pipelined, pipelinedIn } from "./pipelined.js";
import { outboxInserts } from "./postgres-federation-store.js";
import { TurnGroup } from "./turn-group.js";

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
  await pipelinedIn(tx, async (p) => {
    sendCellLocks(p, cells);
    return async () => {};
  });
}

/** `lockPheromoneCells`, sent on a pipeline. */
function sendCellLocks(p: Pipeline, cells: readonly Pick<PheromoneDeposit, "domain" | "regime">[]): void {
  const keys = [...new Set(cells.map(cellKey))];
  if (keys.length === 0) return;
  const q = p.q;
  p.send(q`
    SELECT pg_advisory_xact_lock(${CELL_LOCK}, k)
    FROM (SELECT DISTINCT hashtext(current_schema() || c) AS k FROM unnest(${q.array(keys)}::text[]) AS c ORDER BY k) AS keys`);
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
  /** Deposits of one turn (concurrent requests of this gateway): one transaction, at most one deposit per cell a round. */
  readonly #deposits = new TurnGroup<Deposit, DepositOutcome>({
    run: (deposits) => pipelined(this.#sql, (p) => sendDeposits(p, deposits)),
    keys: (x) => [cellKey(x.d)],
    maxWeight: DEPOSITS_PER_GROUP,
  });

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  /**
   * Joins this turn's group of deposits: one transaction whose statements are pipelined (the
   * cells' locks and every deposit's match in one flush, then the rows and the COMMIT); a
   * deposit into a cell another deposit of the turn already touches waits for the next round.
   */
  deposit(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    return this.#deposits.add({ d, now, outbox });
  }

  /**
   * `deposit` inside the caller's transaction (a death deposits with everything else it
   * changes): a failure rolls the caller back, and the cell stays locked until it ends. The
   * outbox row (if any) is written in `tx` too.
   */
  async depositWith(tx: PgTx, d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    const [outcome] = await pipelinedIn(tx, (p) => sendDeposits(p, [{ d, now, outbox }]));
    return outcome as DepositOutcome;
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

/** Most deposits one transaction takes (a busy turn's rest waits for the next round). */
const DEPOSITS_PER_GROUP = 64;

/** A deposit as the group takes it. */
interface Deposit {
  readonly d: PheromoneDeposit;
  readonly now: number;
  readonly outbox: OutboxEntry | undefined;
}

/**
 * The deposits of one transaction, each into a cell of its own: the cells locked first (one
 * statement, one order), then each deposit's match and rows, pipelined side by side. Every
 * deposit has sent its last statement before this resolves (a failed one fails the group).
 */
async function sendDeposits(p: Pipeline, deposits: readonly Deposit[]): Promise<Finish<DepositOutcome[]>> {
  sendCellLocks(
    p,
    deposits.map((x) => x.d),
  );
  const sent = await Promise.allSettled(deposits.map((x) => sendDeposit(p, x)));
  const failed = sent.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  const outcomes = sent.map((s) => (s as PromiseFulfilledResult<DepositOutcome>).value);
  return async () => outcomes;
}

/**
 * One deposit's rows (its cell locked): the live pheromone it matches, read FOR UPDATE with
 * whether this source already confirmed it (what the INSERT of the source would tell; nothing
 * else adds sources to a row under the cell's lock), then a new pheromone or the match reinforced
 * (SPEC §5, the rules in core), and the federation outbox row.
 */
async function sendDeposit(p: Pipeline, { d, now, outbox }: Deposit): Promise<DepositOutcome> {
  const q = p.q;
  const match = await sendMatch(p, d, now);
  let outcome: DepositOutcome;
  if (!match) {
    const ph = newPheromone(d, now);
    const hv = hvBytes(ph.hv);
    p.send(q`
      INSERT INTO pheromones (id, layer, class, domain, regime, intensity, confirmations, deposited_at, created_at, fades_at,
        source_hash, metadata, hv)
      VALUES (${ph.id}, ${ph.layer}, ${ph.class}, ${ph.domain}, ${ph.regime}, ${ph.intensity}, 0, ${now}, ${now}, ${fadesAt(ph)},
        ${ph.sourceHash}, ${JSON.stringify(ph.metadata)}, ${hv})`);
    p.send(q`INSERT INTO pheromone_sources (pheromone_id, source_hash) VALUES (${ph.id}, ${d.sourceHash})`);
    if (hv) p.send(q`INSERT INTO pheromone_vectors (pheromone_id, n, hv) VALUES (${ph.id}, 1, ${hv})`);
    outcome = { pheromone: ph, reinforced: false, confirmed: false };
  } else {
    p.send(
      q`INSERT INTO pheromone_sources (pheromone_id, source_hash) VALUES (${match.pheromone.id}, ${d.sourceHash}) ON CONFLICT DO NOTHING`,
    );
    const member = addedMember(match.pheromone, d);
    const members = member ? await sendMember(p, match.pheromone.id, member) : null;
    outcome = reinforcedBy(match.pheromone, d, !match.confirmedBySource, now, members);
    const ph = outcome.pheromone;
    p.send(q`
      UPDATE pheromones SET intensity = ${ph.intensity}, confirmations = ${ph.confirmations}, deposited_at = ${now},
        fades_at = ${fadesAt(ph)}, hv = ${hvBytes(ph.hv)}
      WHERE id = ${ph.id}`);
  }
  if (outbox) for (const insert of outboxInserts(q, outbox)) p.send(insert);
  return outcome;
}

/**
 * The live pheromone a deposit reinforces: same cell and class, or (with a hypervector) the
 * most similar one of the cell above 0.6. FOR UPDATE because evaporation takes no cell lock:
 * a gateway whose clock runs ahead must not delete the row between this read and the update.
 */
async function sendMatch(
  p: Pipeline,
  d: PheromoneDeposit,
  now: number,
): Promise<{ pheromone: Pheromone; confirmedBySource: boolean } | undefined> {
  const q = p.q;
  const confirmed = q`EXISTS (SELECT 1 FROM pheromone_sources s WHERE s.pheromone_id = pheromones.id AND s.source_hash = ${d.sourceHash})`;
  if (!d.hv) {
    const [row] = await p.send(q<(Row & { has_source: boolean })[]>`
      SELECT ${q.unsafe(COLUMNS)}, ${confirmed} AS has_source FROM pheromones
      WHERE domain = ${d.domain} AND regime = ${d.regime} AND layer = ${d.layer} AND class = ${d.class}
        AND hv IS NULL AND fades_at > ${now}
      LIMIT 1 FOR UPDATE`);
    return row ? { pheromone: toPheromone(row), confirmedBySource: row.has_source } : undefined;
  }
  const rows = await p.send(q<(Row & { has_source: boolean })[]>`
    SELECT ${q.unsafe(COLUMNS)}, ${confirmed} AS has_source FROM pheromones
    WHERE domain = ${d.domain} AND regime = ${d.regime} AND layer = ${d.layer} AND hv IS NOT NULL AND fades_at > ${now}
    FOR UPDATE`);
  const best = mostSimilar(rows.map(toPheromone), d.hv);
  return best ? { pheromone: best, confirmedBySource: rows.some((r) => r.id === best.id && r.has_source) } : undefined;
}

/** Adds a member vector, keeps the newest HV_MAX_MEMBERS, and returns them, oldest first (three statements, one round trip). */
async function sendMember(p: Pipeline, id: string, hv: Uint8Array): Promise<Uint8Array[]> {
  const q = p.q;
  p.send(q`
    INSERT INTO pheromone_vectors (pheromone_id, n, hv)
    SELECT ${id}, COALESCE(MAX(n), 0) + 1, ${hvBytes(hv)} FROM pheromone_vectors WHERE pheromone_id = ${id}`);
  p.send(q`
    DELETE FROM pheromone_vectors WHERE pheromone_id = ${id}
      AND n <= (SELECT MAX(n) FROM pheromone_vectors WHERE pheromone_id = ${id}) - ${HV_MAX_MEMBERS}`);
  const members = await p.send(q<{ hv: Buffer }[]>`SELECT hv FROM pheromone_vectors WHERE pheromone_id = ${id} ORDER BY n`);
  return members.map((m) => new Uint8Array(m.hv));
}
