import { FIRST_MIGRATIONS } from "./migrations-first.js";

/** One schema change: its version (PRAGMA user_version once applied), its name, its SQL. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * Versioned schema of the micronode database. Each migration runs once, in order, inside a
 * transaction; `PRAGMA user_version` records the last applied. Never edit a shipped migration:
 * add the next one. Migrations 1–12 are in migrations-first.ts.
 */
export const MIGRATIONS: readonly Migration[] = [
  ...FIRST_MIGRATIONS,
  {
    version: 13,
    name: "payments ledger",
    // SPEC §11.2–11.3 (issue 18): every signed x402 authorization Styx took. The unique
    // (network, asset, payer, nonce) is the replay protection: a second use, on any gateway or
    // after a restart, finds the row. status: reserved → accepted | voided; accepted → settling →
    // settled | failed. Times in ms, valid_before in unix seconds (the authorization's own unit).
    sql: `
      CREATE TABLE payments (
        id TEXT PRIMARY KEY,
        network TEXT NOT NULL,
        asset TEXT NOT NULL,
        payer TEXT NOT NULL,
        nonce TEXT NOT NULL,
        amount INTEGER NOT NULL,
        operation TEXT NOT NULL,
        purpose TEXT NOT NULL,
        user_id TEXT,
        key_id TEXT,
        golem_id TEXT,
        status TEXT NOT NULL,
        payload TEXT NOT NULL,
        requirements TEXT NOT NULL,
        valid_before INTEGER NOT NULL,
        transaction_hash TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (network, asset, payer, nonce)
      ) STRICT;
      CREATE INDEX payments_status ON payments(status, valid_before);
      CREATE INDEX payments_user ON payments(user_id, created_at);
      CREATE INDEX payments_payer ON payments(payer, status, updated_at);
    `,
  },
  {
    version: 14,
    name: "erasure jobs; death records outlive their golem",
    // SPEC §3: an erasure is one durable job (its finished steps counted, so a restart resumes it);
    // its target's ids are cleared when it finishes. A dead golem's record stays, anonymized, once
    // the golem row is gone: deaths loses its foreign key to golems (SQLite rebuilds the table).
    sql: `
      CREATE TABLE erasure_jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        user_id TEXT,
        golem_id TEXT,
        requested_by TEXT,
        state TEXT NOT NULL,
        step INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX erasure_jobs_running ON erasure_jobs(created_at) WHERE state = 'running';
      CREATE UNIQUE INDEX erasure_jobs_target ON erasure_jobs(kind, user_id, coalesce(golem_id, '')) WHERE state = 'running';
      CREATE TABLE deaths_kept (
        golem_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        death_cause TEXT NOT NULL,
        died_at INTEGER NOT NULL,
        recorded_at INTEGER NOT NULL,
        ticks_lived INTEGER NOT NULL,
        warnings INTEGER NOT NULL,
        causal_edges INTEGER NOT NULL,
        testament_excerpt TEXT,
        somatic_fragment TEXT,
        signed INTEGER NOT NULL,
        result TEXT NOT NULL,
        born_at INTEGER,
        final_phase TEXT,
        final_pad TEXT,
        final_nav REAL,
        domains TEXT NOT NULL DEFAULT '[]'
      ) STRICT;
      INSERT INTO deaths_kept SELECT golem_id, user_id, generation, death_cause, died_at, recorded_at, ticks_lived, warnings,
        causal_edges, testament_excerpt, somatic_fragment, signed, result, born_at, final_phase, final_pad, final_nav, domains FROM deaths;
      DROP TABLE deaths;
      ALTER TABLE deaths_kept RENAME TO deaths;
      CREATE INDEX deaths_user ON deaths(user_id, died_at DESC, golem_id DESC);
      CREATE INDEX deaths_time ON deaths(died_at);
    `,
  },
  {
    version: 15,
    name: "full-text rows indexed after the write",
    // A write's transaction stored its full-text row through the insert trigger: FTS5 tokenizes
    // and flushes a segment inside the commit, ~60 % of a batch write's time on the event loop.
    // Now the trigger only notes the entry as pending (its tenant and content bytes beside it); the
    // entry store indexes pending rows in chunks between turns of the loop, and a tenant's lexical search
    // indexes that tenant's pending rows first. The name keeps the table out of backups as one
    // of entries_fts's own: a restore's inserts note their rows again.
    sql: `
      CREATE TABLE entries_fts_pending (seq INTEGER PRIMARY KEY, user_id TEXT NOT NULL, bytes INTEGER NOT NULL) STRICT;
      CREATE INDEX entries_fts_pending_user ON entries_fts_pending(user_id, seq);
      DROP TRIGGER entries_fts_insert;
      CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts_pending(seq, user_id, bytes) VALUES (new.seq, new.user_id, length(CAST(new.content AS BLOB)));
      END;
      DROP TRIGGER entries_fts_delete;
      CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        DELETE FROM entries_fts WHERE rowid = (SELECT old.seq WHERE NOT EXISTS (SELECT 1 FROM entries_fts_pending WHERE seq = old.seq));
        DELETE FROM entries_fts_pending WHERE seq = old.seq;
      END;
    `,
  },
  {
    version: 16,
    name: "relay credit and key spend limits",
    // SPEC §11.4 (issue 18): each user's prepaid relay credit in atomic units (gateways draw it in
    // blocks; a top-up that fails to settle is taken back, so it may go below 0); low_sent: the
    // styx:credit:low announcement went out since the balance was last at or above the line.
    // Spend limits per key in atomic units per UTC day and month (null: none).
    sql: `
      CREATE TABLE credit_balances (
        user_id TEXT PRIMARY KEY,
        balance INTEGER NOT NULL,
        low_sent INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE key_spend_limits (
        key_id TEXT PRIMARY KEY,
        per_day INTEGER,
        per_month INTEGER,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX payments_key ON payments(key_id, created_at);
    `,
  },
  {
    version: 17,
    name: "marketplace: listings, purchases, ratings, payouts",
    // SPEC §16 (issue 19): the marketplace. Listings (public fields already anonymized; the escrow
    // wrap dropped at the purge), purchases (one unrevoked per listing and buyer; state pending →
    // payable → due → paid, or revoked when the payment failed), ratings (one per listing and
    // buyer), payouts (one per seller and address per run). Amounts atomic, times in ms.
    sql: `
      CREATE TABLE market_listings (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        golem_id TEXT,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        preview TEXT NOT NULL,
        domain TEXT NOT NULL,
        price INTEGER NOT NULL,
        entry_count INTEGER NOT NULL,
        content_cid TEXT NOT NULL,
        content_size INTEGER NOT NULL,
        content_b3 TEXT NOT NULL,
        escrow_kid TEXT NOT NULL,
        escrow_wrapped_cek TEXT,
        embedding TEXT,
        payout_address TEXT NOT NULL,
        provenance TEXT,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        ended_at INTEGER,
        purged_at INTEGER,
        sales INTEGER NOT NULL DEFAULT 0,
        rating_sum INTEGER NOT NULL DEFAULT 0,
        rating_count INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX market_listings_active ON market_listings(status, created_at);
      CREATE INDEX market_listings_user ON market_listings(user_id, status);
      CREATE INDEX market_listings_blob ON market_listings(user_id, content_cid) WHERE purged_at IS NULL;
      CREATE UNIQUE INDEX market_listings_archive ON market_listings(golem_id) WHERE kind = 'death_archive' AND status = 'active';
      CREATE INDEX market_listings_ended ON market_listings(ended_at) WHERE purged_at IS NULL AND ended_at IS NOT NULL;
      CREATE TABLE market_purchases (
        id TEXT PRIMARY KEY,
        listing_id TEXT NOT NULL,
        seller_user_id TEXT NOT NULL,
        payout_address TEXT NOT NULL,
        buyer_user_id TEXT NOT NULL,
        buyer_golem_id TEXT,
        wrapped_cek TEXT NOT NULL,
        price INTEGER NOT NULL,
        fee INTEGER NOT NULL,
        payment_id TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL,
        payout_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX market_purchases_once ON market_purchases(listing_id, buyer_user_id) WHERE state <> 'revoked';
      CREATE INDEX market_purchases_buyer ON market_purchases(buyer_user_id, created_at);
      CREATE INDEX market_purchases_seller ON market_purchases(seller_user_id, state, payout_address);
      CREATE INDEX market_purchases_pending ON market_purchases(created_at) WHERE state = 'pending';
      CREATE INDEX market_purchases_payout ON market_purchases(payout_id) WHERE payout_id IS NOT NULL;
      CREATE TABLE market_ratings (
        listing_id TEXT NOT NULL,
        buyer_user_id TEXT NOT NULL,
        rating INTEGER NOT NULL,
        comment TEXT,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (listing_id, buyer_user_id)
      ) STRICT;
      CREATE INDEX market_ratings_recent ON market_ratings(listing_id, created_at);
      CREATE TABLE market_payouts (
        id TEXT PRIMARY KEY,
        seller_user_id TEXT NOT NULL,
        address TEXT NOT NULL,
        amount INTEGER NOT NULL,
        purchases INTEGER NOT NULL,
        status TEXT NOT NULL,
        transaction_hash TEXT,
        created_at INTEGER NOT NULL,
        paid_at INTEGER
      ) STRICT;
      CREATE INDEX market_payouts_status ON market_payouts(status, created_at);
      CREATE INDEX market_payouts_seller ON market_payouts(seller_user_id, created_at);
    `,
  },
  {
    version: 18,
    name: "federation: links, claims, cursors, outbox",
    // SPEC §17 (issue 20): the downstreams linked here (upstream side, by federate key; flows and
    // domains JSON text), the (origin, id) of records applied (the dedup window), the down-link's
    // stream positions, and the up-link's outbox, written by the fact stores in the write's
    // transaction (record: the wire record as JSON text). Times in ms.
    sql: `
      CREATE TABLE federation_links (
        key_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        version TEXT NOT NULL,
        flows TEXT NOT NULL,
        domains TEXT NOT NULL,
        embed_dim INTEGER NOT NULL,
        hello_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX federation_links_user ON federation_links(user_id);
      CREATE TABLE federation_claims (
        origin TEXT NOT NULL,
        id TEXT NOT NULL,
        claimed_at INTEGER NOT NULL,
        PRIMARY KEY (origin, id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX federation_claims_at ON federation_claims(claimed_at);
      CREATE TABLE federation_cursors (
        stream TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        seq INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE federation_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        domain TEXT NOT NULL,
        record TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX federation_outbox_due ON federation_outbox(next_at, seq);
      CREATE INDEX federation_outbox_enqueued ON federation_outbox(enqueued_at);
    `,
  },
  // SPEC §17.2 (down): own records for the downstreams, written in the fact's transaction and
  // published on federation:{domain} by the relay task, which deletes each once published.
  {
    version: 19,
    name: "federation: relay outbox of own records for the downstreams",
    sql: `
      CREATE TABLE federation_relay (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        domain TEXT NOT NULL,
        record TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 20,
    // As migration 15 did for entries: a publication's transaction stored the lethe row's
    // full-text row through the insert trigger, FTS5 tokenizing up to 64 KiB and flushing a
    // segment inside the commit, on the event loop. Now the trigger notes the row as pending
    // (its content bytes beside it); the entry store indexes pending rows in chunks between turns
    // of the loop, and a lethe search indexes every pending row first (the layer is public).
    // Lethe rows are never deleted, so no delete trigger. The name keeps the table out of
    // backups as one of lethe_fts's own: a restore's inserts note their rows again.
    // The queued copy's text gets a column of its own: in the payload's JSON it was escaped
    // (JSON.stringify reads every character of up to 64 KiB: ~0.2 ms) inside the write's
    // transaction, and parsed again at publication. Rows queued before keep it in the payload.
    name: "lethe full-text rows indexed after the publication; queued lethe text outside the payload's JSON",
    sql: `
      ALTER TABLE lethe_queue ADD COLUMN content TEXT;
      CREATE TABLE lethe_fts_pending (seq INTEGER PRIMARY KEY, bytes INTEGER NOT NULL) STRICT;
      DROP TRIGGER lethe_fts_insert;
      CREATE TRIGGER lethe_fts_insert AFTER INSERT ON lethe_entries BEGIN
        INSERT INTO lethe_fts_pending(seq, bytes) VALUES (new.seq, length(CAST(new.content AS BLOB)));
      END;
    `,
  },
  {
    version: 21,
    // FTS5's automerge merged a level's segments inside the insert that tipped it over: with
    // 64 KiB documents, 5–12 ms inside one indexing chunk every few chunks. Off here (the setting
    // is stored in each table's %_config); the entry store's indexer runs FTS5's incremental
    // 'merge' a bounded step per turn of the loop instead (adapters/sqlite/sqlite-fts-indexer.ts).
    name: "full-text segments merged a step per turn, not inside an insert",
    sql: `
      INSERT INTO entries_fts(entries_fts, rank) VALUES ('automerge', 0);
      INSERT INTO lethe_fts(lethe_fts, rank) VALUES ('automerge', 0);
    `,
  },
];
