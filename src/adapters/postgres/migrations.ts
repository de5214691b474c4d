import { COORDINATION_SCHEMA } from "./schema/coordination.js";
import { FABRIC_SCHEMA } from "./schema/fabric.js";
import { IDENTITY_SCHEMA } from "./schema/identity.js";
import { KNOWLEDGE_SCHEMA } from "./schema/knowledge.js";

/**
 * Versioned schema of the macronode database, the PostgreSQL twin of the SQLite migrations
 * (same tables and meaning; types and indexes are PostgreSQL's own). Applied by `styx migrate`
 * (and at gateway start). Never edit a shipped migration: add the next one.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  { version: 1, name: "identity and audit", sql: IDENTITY_SCHEMA },
  { version: 2, name: "knowledge: entries, lethe queue, lethe entries, full-text indexes", sql: KNOWLEDGE_SCHEMA },
  { version: 3, name: "event fabric: clade sync", sql: FABRIC_SCHEMA },
  { version: 4, name: "coordination: pheromones, causal edges, deaths, achievements", sql: COORDINATION_SCHEMA },
  // The newest record of an action (the backup gauge reads backup.created at each scrape).
  { version: 5, name: "audit records by action", sql: "CREATE INDEX audit_log_action ON audit_log (action, seq);" },
  // SPEC §3/§4.2: no table links a source hash to a golem without STYX_SECRET_KEY. The plain
  // directory goes (its salted SHA-256 hashes cannot be converted to keyed hashes), and so does
  // the salt: with it and the golems table, a copy of the schema recomputed every old hash.
  // The new directory holds each golem id sealed under a key derived from STYX_SECRET_KEY.
  {
    version: 6,
    name: "sealed source directory",
    sql: `
      DROP TABLE sources;
      DELETE FROM server_secrets WHERE name = 'lethe-salt';
      CREATE TABLE source_directory (
        source_hash text PRIMARY KEY,
        sealed_golem text NOT NULL
      );
    `,
  },
  // Counting starts here: domains published before keep their entries; their new candidates wait
  // for k writers counted from this version on. Queued rows are kept as they were (due).
  {
    version: 7,
    name: "lethe k-anonymity: distinct writers per domain, waiting candidates",
    sql: `
      CREATE TABLE lethe_writers (
        domain text NOT NULL,
        source text NOT NULL,
        PRIMARY KEY (domain, source)
      );
      ALTER TABLE lethe_queue ADD COLUMN domain text NOT NULL DEFAULT '';
      ALTER TABLE lethe_queue ADD COLUMN delay_ms bigint NOT NULL DEFAULT 0;
      ALTER TABLE lethe_queue ADD COLUMN waiting boolean NOT NULL DEFAULT false;
      UPDATE lethe_queue SET domain = (payload::jsonb)->>'domain';
      DROP INDEX lethe_queue_due;
      CREATE INDEX lethe_queue_due ON lethe_queue (due_at) WHERE NOT waiting;
      CREATE INDEX lethe_queue_waiting ON lethe_queue (domain) WHERE waiting;
      ALTER TABLE entries ADD COLUMN lethe_waiting boolean NOT NULL DEFAULT false;
    `,
  },
  // A member's domains become JSON text, as in SQLite and as every other list column (one row
  // codec for both engines, adapters/sql). array_to_json writes the JSON.stringify form.
  {
    version: 8,
    name: "clade member domains as JSON text",
    sql: "ALTER TABLE clade_members ALTER COLUMN domains TYPE text USING array_to_json(domains)::text;",
  },
  // SPEC §12: the admin's override of a user's limits (JSON cells, null: none) and the bytes of the
  // blobs the user stored (entries' bytes are summed from the entries themselves).
  {
    version: 9,
    name: "per-user quotas: admin overrides, blob bytes",
    sql: `
      CREATE TABLE user_quotas (
        user_id text PRIMARY KEY,
        override text,
        blob_bytes bigint NOT NULL DEFAULT 0,
        updated_at bigint NOT NULL
      );
    `,
  },
  // Issue 17: the graveyard shows lifespan, final phase, PAD and NAV and the bloodstain's domains.
  // Birth is the golem's registration (backfilled); older deaths have no final heartbeat and no domains.
  {
    version: 10,
    name: "death records: birth, final heartbeat, domains",
    sql: `
      ALTER TABLE deaths ADD COLUMN born_at bigint;
      ALTER TABLE deaths ADD COLUMN final_phase text;
      ALTER TABLE deaths ADD COLUMN final_pad text;
      ALTER TABLE deaths ADD COLUMN final_nav double precision;
      ALTER TABLE deaths ADD COLUMN domains text NOT NULL DEFAULT '[]';
      UPDATE deaths SET born_at = golems.created_at FROM golems WHERE golems.id = deaths.golem_id;
    `,
  },
  // SPEC §4.1: GET /v1/styx/entries pages a user's entries in (created_at, id) order; one vote per
  // golem (entries) or per source, a user's keyed hash (lethe entries), counted once.
  {
    version: 11,
    name: "entries listed by creation time; validations of entries and lethe entries",
    sql: `
      CREATE INDEX entries_user_created ON entries (user_id, created_at, id);
      CREATE TABLE entry_validations (
        entry_seq bigint NOT NULL,
        golem_id text NOT NULL,
        agrees boolean NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (entry_seq, golem_id)
      );
      CREATE TABLE lethe_validations (
        lethe_seq bigint NOT NULL,
        source text NOT NULL,
        agrees boolean NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (lethe_seq, source)
      );
    `,
  },
  // SPEC §10: a blob is referenced while an entry of its user names it in content_blob (counted from
  // the entries through this index, no counter to drift); a reference whose last entry was deleted
  // or purged is marked in blob_orphans in the removal's transaction, and released by the blob
  // collection once STYX_BLOB_GRACE has passed since the mark.
  {
    version: 12,
    name: "blob references of entries; orphaned blob references",
    sql: `
      CREATE INDEX entries_user_blob ON entries (user_id, content_blob) WHERE content_blob IS NOT NULL;
      CREATE TABLE blob_orphans (
        user_id text NOT NULL,
        cid text NOT NULL,
        since bigint NOT NULL,
        PRIMARY KEY (user_id, cid)
      );
      CREATE INDEX blob_orphans_since ON blob_orphans (since);
    `,
  },
  // SPEC §11.2–11.3 (issue 18): the payments ledger; the unique (network, asset, payer, nonce) is
  // the replay protection across gateways and restarts.
  {
    version: 13,
    name: "payments ledger",
    sql: `
      CREATE TABLE payments (
        id text PRIMARY KEY,
        network text NOT NULL,
        asset text NOT NULL,
        payer text NOT NULL,
        nonce text NOT NULL,
        amount bigint NOT NULL,
        operation text NOT NULL,
        purpose text NOT NULL,
        user_id text,
        key_id text,
        golem_id text,
        status text NOT NULL,
        payload text NOT NULL,
        requirements text NOT NULL,
        valid_before bigint NOT NULL,
        transaction_hash text,
        error text,
        attempts integer NOT NULL DEFAULT 0,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        UNIQUE (network, asset, payer, nonce)
      );
      CREATE INDEX payments_status ON payments (status, valid_before);
      CREATE INDEX payments_user ON payments (user_id, created_at);
      CREATE INDEX payments_payer ON payments (payer, status, updated_at);
    `,
  },
  // SPEC §3: an erasure is one durable job (its finished steps counted, so a restart resumes it);
  // its target's ids are cleared when it finishes. A dead golem's record stays, anonymized, once
  // the golem row is gone: deaths loses its foreign key to golems.
  {
    version: 14,
    name: "erasure jobs; death records outlive their golem",
    sql: `
      CREATE TABLE erasure_jobs (
        id text PRIMARY KEY,
        kind text NOT NULL,
        user_id text,
        golem_id text,
        requested_by text,
        state text NOT NULL,
        step integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        finished_at bigint
      );
      CREATE INDEX erasure_jobs_running ON erasure_jobs (created_at) WHERE state = 'running';
      CREATE UNIQUE INDEX erasure_jobs_target ON erasure_jobs (kind, user_id, coalesce(golem_id, '')) WHERE state = 'running';
      ALTER TABLE deaths DROP CONSTRAINT IF EXISTS deaths_golem_id_fkey;
    `,
  },
  // The micronode's migration 15 moved full-text indexing out of the write's transaction; a
  // PostgreSQL entry's tsvector is a column of its row, so nothing changes here. The number is
  // taken so that a version means the same change on both dialects.
  {
    version: 15,
    name: "full-text rows indexed after the write (SQLite only)",
    sql: "SELECT 1;",
  },
  // SPEC §11.4 (issue 18): prepaid relay credit per user (atomic units; may go below 0 when a
  // failed top-up is taken back) and spend limits per key (atomic units per UTC day and month).
  {
    version: 16,
    name: "relay credit and key spend limits",
    sql: `
      CREATE TABLE credit_balances (
        user_id text PRIMARY KEY,
        balance bigint NOT NULL,
        low_sent boolean NOT NULL DEFAULT false,
        updated_at bigint NOT NULL
      );
      CREATE TABLE key_spend_limits (
        key_id text PRIMARY KEY,
        per_day bigint,
        per_month bigint,
        updated_at bigint NOT NULL
      );
      CREATE INDEX payments_key ON payments (key_id, created_at);
    `,
  },
  // SPEC §16 (issue 19): the marketplace. Listings (public fields already anonymized; the escrow
  // wrap dropped at the purge), purchases (one unrevoked per listing and buyer; state pending →
  // payable → due → paid, or revoked when the payment failed), ratings (one per listing and
  // buyer), payouts (one per seller and address per run). Amounts atomic, times in ms.
  {
    version: 17,
    name: "marketplace: listings, purchases, ratings, payouts",
    sql: `
      CREATE TABLE market_listings (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        golem_id text,
        kind text NOT NULL,
        title text NOT NULL,
        description text NOT NULL,
        preview text NOT NULL,
        domain text NOT NULL,
        price bigint NOT NULL,
        entry_count bigint NOT NULL,
        content_cid text NOT NULL,
        content_size bigint NOT NULL,
        content_b3 text NOT NULL,
        escrow_kid text NOT NULL,
        escrow_wrapped_cek text,
        embedding text,
        payout_address text NOT NULL,
        provenance text,
        status text NOT NULL,
        created_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        ended_at bigint,
        purged_at bigint,
        sales bigint NOT NULL DEFAULT 0,
        rating_sum bigint NOT NULL DEFAULT 0,
        rating_count bigint NOT NULL DEFAULT 0
      );
      CREATE INDEX market_listings_active ON market_listings (status, created_at);
      CREATE INDEX market_listings_user ON market_listings (user_id, status);
      CREATE INDEX market_listings_blob ON market_listings (user_id, content_cid) WHERE purged_at IS NULL;
      CREATE UNIQUE INDEX market_listings_archive ON market_listings (golem_id) WHERE kind = 'death_archive' AND status = 'active';
      CREATE INDEX market_listings_ended ON market_listings (ended_at) WHERE purged_at IS NULL AND ended_at IS NOT NULL;
      CREATE TABLE market_purchases (
        id text PRIMARY KEY,
        listing_id text NOT NULL,
        seller_user_id text NOT NULL,
        payout_address text NOT NULL,
        buyer_user_id text NOT NULL,
        buyer_golem_id text,
        wrapped_cek text NOT NULL,
        price bigint NOT NULL,
        fee bigint NOT NULL,
        payment_id text NOT NULL UNIQUE,
        state text NOT NULL,
        payout_id text,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      );
      CREATE UNIQUE INDEX market_purchases_once ON market_purchases (listing_id, buyer_user_id) WHERE state <> 'revoked';
      CREATE INDEX market_purchases_buyer ON market_purchases (buyer_user_id, created_at);
      CREATE INDEX market_purchases_seller ON market_purchases (seller_user_id, state, payout_address);
      CREATE INDEX market_purchases_pending ON market_purchases (created_at) WHERE state = 'pending';
      CREATE INDEX market_purchases_payout ON market_purchases (payout_id) WHERE payout_id IS NOT NULL;
      CREATE TABLE market_ratings (
        listing_id text NOT NULL,
        buyer_user_id text NOT NULL,
        rating bigint NOT NULL,
        comment text,
        created_at bigint NOT NULL,
        PRIMARY KEY (listing_id, buyer_user_id)
      );
      CREATE INDEX market_ratings_recent ON market_ratings (listing_id, created_at);
      CREATE TABLE market_payouts (
        id text PRIMARY KEY,
        seller_user_id text NOT NULL,
        address text NOT NULL,
        amount bigint NOT NULL,
        purchases bigint NOT NULL,
        status text NOT NULL,
        transaction_hash text,
        created_at bigint NOT NULL,
        paid_at bigint
      );
      CREATE INDEX market_payouts_status ON market_payouts (status, created_at);
      CREATE INDEX market_payouts_seller ON market_payouts (seller_user_id, created_at);
    `,
  },
  // SPEC §17 (issue 20): the SQLite migration 18's tables (links by federate key, claims of applied
  // records, down-link cursors, the up-link's outbox written in the fact's transaction).
  {
    version: 18,
    name: "federation: links, claims, cursors, outbox",
    sql: `
      CREATE TABLE federation_links (
        key_id text PRIMARY KEY,
        user_id text NOT NULL,
        instance_id text NOT NULL,
        version text NOT NULL,
        flows text NOT NULL,
        domains text NOT NULL,
        embed_dim integer NOT NULL,
        hello_at bigint NOT NULL,
        last_seen_at bigint NOT NULL
      );
      CREATE INDEX federation_links_user ON federation_links (user_id);
      CREATE TABLE federation_claims (
        origin text NOT NULL,
        id text NOT NULL,
        claimed_at bigint NOT NULL,
        PRIMARY KEY (origin, id)
      );
      CREATE INDEX federation_claims_at ON federation_claims (claimed_at);
      CREATE TABLE federation_cursors (
        stream text PRIMARY KEY,
        epoch text NOT NULL,
        seq bigint NOT NULL
      );
      CREATE TABLE federation_outbox (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        domain text NOT NULL,
        record text NOT NULL,
        enqueued_at bigint NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_at bigint NOT NULL
      );
      CREATE INDEX federation_outbox_due ON federation_outbox (next_at, seq);
      CREATE INDEX federation_outbox_enqueued ON federation_outbox (enqueued_at);
    `,
  },
  // SPEC §17.2 (down): the SQLite migration 19's relay outbox (own records for the
  // downstreams, written in the fact's transaction, published and deleted by the leader's relay).
  {
    version: 19,
    name: "federation: relay outbox of own records for the downstreams",
    sql: `
      CREATE TABLE federation_relay (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        domain text NOT NULL,
        record text NOT NULL,
        enqueued_at bigint NOT NULL
      );
    `,
  },
  // The SQLite migration 20's queue column: there a queued lethe copy's text left the payload's
  // JSON for a column of its own. Here the gateways still write it in the payload (the column
  // stays null; both are read, sql/entry-rows.ts toCandidate); the column lets a micronode backup
  // of the newest schema restore into a cluster as it is, its queued texts in it.
  {
    version: 20,
    name: "lethe queue: the text column of SQLite's migration 20",
    sql: "ALTER TABLE lethe_queue ADD COLUMN content text;",
  },
  {
    version: 21,
    name: "full-text segments merged a step per turn (SQLite only)",
    sql: "SELECT 1;",
  },
];
