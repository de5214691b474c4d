import type { StreamPosition } from "../../core/fabric/history.js";
import type { FederationLink, FederationStore, OutboxEntry, OutboxItem, RelayItem } from "../../core/federation/federation-store.js";
import {
  countsByKind,
  type FederationCursorRow,
  type FederationLinkRow,
  federationLinkRow,
  type OutboxRow,
  outboxRow,
  type RelayRow,
  relayRow,
  toFederationLink,
  toOutboxItem,
  toRelayItem,
  toStreamPosition,
} from "../sql/federation-rows.js";
import type { PgSql, PgTx } from "./database.js";

/**
 * Inserts an own record's rows in `tx` — the outbox's when it goes up, the relay outbox's when it
 * goes down: called by the fact stores inside their write's transaction, so the rows commit or
 * roll back with the fact (SPEC §17.2).
 */
export async function insertOutbox(tx: PgSql | PgTx, entry: OutboxEntry): Promise<void> {
  for (const insert of outboxInserts(tx, entry)) await insert;
}

/**
 * The INSERTs of `insertOutbox` (the outbox's when the record goes up, the relay outbox's when it
 * goes down), not yet sent: a pipelined transaction sends them with the fact's statements.
 */
export function outboxInserts(tx: PgSql | PgTx, entry: OutboxEntry) {
  const inserts = [];
  if (entry.up) {
    const r = outboxRow(entry);
    inserts.push(tx`
      INSERT INTO federation_outbox (kind, domain, record, enqueued_at, attempts, next_at)
      VALUES (${r.kind}, ${r.domain}, ${r.record}, ${r.enqueued_at}, ${r.attempts}, ${r.next_at})`);
  }
  if (entry.down) {
    const r = relayRow(entry);
    inserts.push(
      tx`INSERT INTO federation_relay (kind, domain, record, enqueued_at) VALUES (${r.kind}, ${r.domain}, ${r.record}, ${r.enqueued_at})`,
    );
  }
  return inserts;
}

/**
 * FederationStore on the macronode PostgreSQL database (migrations 18 and 19), shared by the
 * gateways (only the leader runs the link and the relay). A claim is one INSERT … ON CONFLICT DO
 * NOTHING: of concurrent claims of a pair on any gateway, the primary key lets exactly one insert.
 */
export class PostgresFederationStore implements FederationStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async saveLink(link: FederationLink): Promise<void> {
    const r = federationLinkRow(link);
    await this.#sql`
      INSERT INTO federation_links (key_id, user_id, instance_id, version, flows, domains, embed_dim, hello_at, last_seen_at)
      VALUES (${r.key_id}, ${r.user_id}, ${r.instance_id}, ${r.version}, ${r.flows}, ${r.domains}, ${r.embed_dim}, ${r.hello_at},
        ${r.last_seen_at})
      ON CONFLICT (key_id) DO UPDATE SET user_id = excluded.user_id, instance_id = excluded.instance_id,
        version = excluded.version, flows = excluded.flows, domains = excluded.domains, embed_dim = excluded.embed_dim,
        hello_at = excluded.hello_at, last_seen_at = excluded.last_seen_at`;
  }

  async link(keyId: string): Promise<FederationLink | undefined> {
    const [row] = await this.#sql<FederationLinkRow[]>`SELECT * FROM federation_links WHERE key_id = ${keyId}`;
    return row ? toFederationLink(row) : undefined;
  }

  async links(): Promise<FederationLink[]> {
    const rows = await this.#sql<FederationLinkRow[]>`SELECT * FROM federation_links ORDER BY hello_at, key_id COLLATE "C"`;
    return rows.map(toFederationLink);
  }

  async touchLink(keyId: string, at: number): Promise<void> {
    await this.#sql`UPDATE federation_links SET last_seen_at = ${at} WHERE key_id = ${keyId}`;
  }

  async claim(origin: string, id: string, now: number): Promise<boolean> {
    const r = await this.#sql`
      INSERT INTO federation_claims (origin, id, claimed_at) VALUES (${origin}, ${id}, ${now}) ON CONFLICT DO NOTHING`;
    return r.count === 1;
  }

  async release(origin: string, id: string): Promise<void> {
    await this.#sql`DELETE FROM federation_claims WHERE origin = ${origin} AND id = ${id}`;
  }

  async cursor(stream: string): Promise<StreamPosition | undefined> {
    const [row] = await this.#sql<FederationCursorRow[]>`SELECT stream, epoch, seq FROM federation_cursors WHERE stream = ${stream}`;
    return row ? toStreamPosition(row) : undefined;
  }

  async saveCursor(stream: string, position: StreamPosition): Promise<void> {
    // One statement: a position of the same epoch behind the stored one leaves it as it is.
    await this.#sql`
      INSERT INTO federation_cursors AS c (stream, epoch, seq) VALUES (${stream}, ${position.epoch}, ${position.seq})
      ON CONFLICT (stream) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq
      WHERE c.epoch <> excluded.epoch OR c.seq <= excluded.seq`;
  }

  async cursors(): Promise<ReadonlyMap<string, StreamPosition>> {
    const rows = await this.#sql<FederationCursorRow[]>`SELECT stream, epoch, seq FROM federation_cursors ORDER BY stream COLLATE "C"`;
    return new Map(rows.map((r) => [r.stream, toStreamPosition(r)]));
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    if (limit <= 0) return [];
    const rows = await this.#sql<OutboxRow[]>`
      SELECT * FROM federation_outbox WHERE next_at <= ${now} ORDER BY seq LIMIT ${limit}`;
    return rows.map(toOutboxItem);
  }

  async ack(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.#sql`DELETE FROM federation_outbox WHERE seq = ANY(${this.#sql.array([...seqs])}::bigint[])`;
  }

  async retry(seqs: readonly number[], nextAt: number): Promise<void> {
    if (seqs.length === 0) return;
    await this.#sql`
      UPDATE federation_outbox SET attempts = attempts + 1, next_at = ${nextAt}
      WHERE seq = ANY(${this.#sql.array([...seqs])}::bigint[])`;
  }

  async drop(before: number): Promise<ReadonlyMap<string, number>> {
    const rows = await this.#sql<{ kind: string; n: number | string }[]>`
      WITH gone AS (DELETE FROM federation_outbox WHERE enqueued_at < ${before} RETURNING kind)
      SELECT kind, count(*) AS n FROM gone GROUP BY kind`;
    return countsByKind(rows);
  }

  async depth(): Promise<number> {
    const [row] = await this.#sql<{ n: number | string }[]>`SELECT count(*) AS n FROM federation_outbox`;
    return Number(row?.n ?? 0);
  }

  async forgetClaims(before: number): Promise<number> {
    return (await this.#sql`DELETE FROM federation_claims WHERE claimed_at < ${before}`).count;
  }

  async relayPending(limit: number): Promise<RelayItem[]> {
    if (limit <= 0) return [];
    const rows = await this.#sql<RelayRow[]>`SELECT seq, record, enqueued_at FROM federation_relay ORDER BY seq LIMIT ${limit}`;
    return rows.map(toRelayItem);
  }

  async relayed(seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.#sql`DELETE FROM federation_relay WHERE seq = ANY(${this.#sql.array([...seqs])}::bigint[])`;
  }

  async relayDepth(): Promise<number> {
    const [row] = await this.#sql<{ n: number | string }[]>`SELECT count(*) AS n FROM federation_relay`;
    return Number(row?.n ?? 0);
  }
}
