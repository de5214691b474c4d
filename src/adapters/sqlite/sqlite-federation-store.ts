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
import type { SqliteDatabase } from "./database.js";

/**
 * Inserts an own record's rows on `db` — the outbox's when it goes up, the relay outbox's when it
 * goes down: called by the fact stores inside their write's transaction (or savepoint), so the
 * rows commit or roll back with the fact (SPEC §17.2).
 */
export function insertOutbox(db: SqliteDatabase, entry: OutboxEntry): void {
  let insert = outboxInserts.get(db);
  if (!insert) {
    insert = {
      up: db.prepare(
        `INSERT INTO federation_outbox (kind, domain, record, enqueued_at, attempts, next_at)
           VALUES (@kind, @domain, @record, @enqueued_at, @attempts, @next_at)`,
      ),
      down: db.prepare("INSERT INTO federation_relay (kind, domain, record, enqueued_at) VALUES (@kind, @domain, @record, @enqueued_at)"),
    };
    outboxInserts.set(db, insert);
  }
  if (entry.up) insert.up.run(outboxRow(entry));
  if (entry.down) insert.down.run(relayRow(entry));
}

type Statement = ReturnType<SqliteDatabase["prepare"]>;

/** The outbox inserts prepared once per connection (the fact stores share them). */
const outboxInserts = new WeakMap<SqliteDatabase, { up: Statement; down: Statement }>();

/**
 * FederationStore on the micronode SQLite database (migrations 18 and 19); under amnesia the database
 * is `:memory:`, so links, claims, cursors and both outboxes are gone at restart. One connection
 * serialises every statement, so a claim's INSERT … ON CONFLICT DO NOTHING is atomic; between
 * processes sharing a file, SQLite's write lock does the same.
 */
export class SqliteFederationStore implements FederationStore {
  readonly #db: SqliteDatabase;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  // Prepared on first use: a read-only tool on an older schema never touches them.
  get #q(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  async saveLink(link: FederationLink): Promise<void> {
    this.#q.saveLink.run(federationLinkRow(link));
  }

  async link(keyId: string): Promise<FederationLink | undefined> {
    const row = this.#q.link.get(keyId) as FederationLinkRow | undefined;
    return row ? toFederationLink(row) : undefined;
  }

  async links(): Promise<FederationLink[]> {
    return (this.#q.links.all() as FederationLinkRow[]).map(toFederationLink);
  }

  async touchLink(keyId: string, at: number): Promise<void> {
    this.#q.touchLink.run({ keyId, at });
  }

  async claim(origin: string, id: string, now: number): Promise<boolean> {
    return this.#q.claim.run({ origin, id, now }).changes === 1;
  }

  async release(origin: string, id: string): Promise<void> {
    this.#q.release.run({ origin, id });
  }

  async cursor(stream: string): Promise<StreamPosition | undefined> {
    const row = this.#q.cursor.get(stream) as FederationCursorRow | undefined;
    return row ? toStreamPosition(row) : undefined;
  }

  async saveCursor(stream: string, position: StreamPosition): Promise<void> {
    this.#q.saveCursor.run({ stream, epoch: position.epoch, seq: position.seq });
  }

  async cursors(): Promise<ReadonlyMap<string, StreamPosition>> {
    const rows = this.#q.cursors.all() as FederationCursorRow[];
    return new Map(rows.map((r) => [r.stream, toStreamPosition(r)]));
  }

  async due(now: number, limit: number): Promise<OutboxItem[]> {
    if (limit <= 0) return [];
    return (this.#q.due.all({ now, limit }) as OutboxRow[]).map(toOutboxItem);
  }

  async ack(seqs: readonly number[]): Promise<void> {
    this.#db.transaction(() => {
      for (const seq of seqs) this.#q.ack.run(seq);
    })();
  }

  async retry(seqs: readonly number[], nextAt: number): Promise<void> {
    this.#db.transaction(() => {
      for (const seq of seqs) this.#q.retry.run({ seq, nextAt });
    })();
  }

  async drop(before: number): Promise<ReadonlyMap<string, number>> {
    const rows = this.#q.drop.all(before) as { kind: string }[];
    return countsByKind(rows.map((r) => ({ kind: r.kind, n: 1 })));
  }

  async depth(): Promise<number> {
    return (this.#q.depth.get() as { n: number }).n;
  }

  async forgetClaims(before: number): Promise<number> {
    return this.#q.forgetClaims.run(before).changes;
  }

  async relayPending(limit: number): Promise<RelayItem[]> {
    if (limit <= 0) return [];
    return (this.#q.relayPending.all(limit) as RelayRow[]).map(toRelayItem);
  }

  async relayed(seqs: readonly number[]): Promise<void> {
    this.#db.transaction(() => {
      for (const seq of seqs) this.#q.relayed.run(seq);
    })();
  }

  async relayDepth(): Promise<number> {
    return (this.#q.relayDepth.get() as { n: number }).n;
  }
}

function prepare(db: SqliteDatabase) {
  return {
    saveLink: db.prepare(
      `INSERT INTO federation_links (key_id, user_id, instance_id, version, flows, domains, embed_dim, hello_at, last_seen_at)
         VALUES (@key_id, @user_id, @instance_id, @version, @flows, @domains, @embed_dim, @hello_at, @last_seen_at)
         ON CONFLICT (key_id) DO UPDATE SET user_id = excluded.user_id, instance_id = excluded.instance_id,
           version = excluded.version, flows = excluded.flows, domains = excluded.domains, embed_dim = excluded.embed_dim,
           hello_at = excluded.hello_at, last_seen_at = excluded.last_seen_at`,
    ),
    link: db.prepare("SELECT * FROM federation_links WHERE key_id = ?"),
    links: db.prepare("SELECT * FROM federation_links ORDER BY hello_at, key_id"),
    touchLink: db.prepare("UPDATE federation_links SET last_seen_at = @at WHERE key_id = @keyId"),
    claim: db.prepare("INSERT INTO federation_claims (origin, id, claimed_at) VALUES (@origin, @id, @now) ON CONFLICT DO NOTHING"),
    release: db.prepare("DELETE FROM federation_claims WHERE origin = @origin AND id = @id"),
    forgetClaims: db.prepare("DELETE FROM federation_claims WHERE claimed_at < ?"),
    cursor: db.prepare("SELECT stream, epoch, seq FROM federation_cursors WHERE stream = ?"),
    cursors: db.prepare("SELECT stream, epoch, seq FROM federation_cursors ORDER BY stream"),
    // One statement: a position of the same epoch behind the stored one leaves it as it is.
    saveCursor: db.prepare(
      `INSERT INTO federation_cursors (stream, epoch, seq) VALUES (@stream, @epoch, @seq)
         ON CONFLICT (stream) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq
         WHERE federation_cursors.epoch <> excluded.epoch OR federation_cursors.seq <= excluded.seq`,
    ),
    due: db.prepare("SELECT * FROM federation_outbox WHERE next_at <= @now ORDER BY seq LIMIT @limit"),
    ack: db.prepare("DELETE FROM federation_outbox WHERE seq = ?"),
    retry: db.prepare("UPDATE federation_outbox SET attempts = attempts + 1, next_at = @nextAt WHERE seq = @seq"),
    drop: db.prepare("DELETE FROM federation_outbox WHERE enqueued_at < ? RETURNING kind"),
    depth: db.prepare("SELECT count(*) AS n FROM federation_outbox"),
    relayPending: db.prepare("SELECT seq, record, enqueued_at FROM federation_relay ORDER BY seq LIMIT ?"),
    relayed: db.prepare("DELETE FROM federation_relay WHERE seq = ?"),
    relayDepth: db.prepare("SELECT count(*) AS n FROM federation_relay"),
  };
}
