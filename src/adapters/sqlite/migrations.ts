/**
 * Versioned schema of the micronode database. Each migration runs once, in order, inside a
 * transaction; `PRAGMA user_version` records the last applied. Never edit a shipped migration:
 * add the next one.
 */
export const MIGRATIONS: readonly { readonly version: number; readonly name: string; readonly sql: string }[] = [
  {
    version: 1,
    name: "identity and audit",
    sql: `
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        wallet_address TEXT UNIQUE,
        reputation INTEGER NOT NULL DEFAULT 0,
        tier TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE golems (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        generation INTEGER NOT NULL,
        parent_golem_id TEXT REFERENCES golems(id),
        status TEXT NOT NULL,
        archetype TEXT,
        wallet_address TEXT UNIQUE,
        created_at INTEGER NOT NULL,
        died_at INTEGER,
        death_cause TEXT,
        ticks_lived INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      CREATE INDEX golems_user ON golems(user_id, created_at);
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        golem_id TEXT REFERENCES golems(id),
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX api_keys_user ON api_keys(user_id, created_at);
      CREATE TABLE used_nonces (
        nonce TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL REFERENCES users(id),
        golem_id TEXT REFERENCES golems(id),
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        request_id TEXT,
        ip TEXT,
        details TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
      CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 2,
    name: "knowledge: entries, lethe queue, lethe entries, full-text indexes",
    sql: `
      CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        golem_id TEXT NOT NULL,
        category TEXT NOT NULL,
        content TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        content_blob TEXT,
        embedding BLOB,
        domain TEXT,
        regime TEXT,
        confidence REAL NOT NULL,
        affect TEXT,
        emotion TEXT,
        metadata TEXT NOT NULL,
        is_bloodstain INTEGER NOT NULL DEFAULT 0,
        in_clade INTEGER NOT NULL,
        validations INTEGER NOT NULL DEFAULT 0,
        contradictions INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        lethe_at INTEGER,
        idempotency_key TEXT
      ) STRICT;
      CREATE UNIQUE INDEX entries_idempotency ON entries(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE INDEX entries_user ON entries(user_id, in_clade);
      CREATE INDEX entries_golem ON entries(golem_id, seq);
      CREATE INDEX entries_expiry ON entries(expires_at) WHERE expires_at IS NOT NULL;
      -- Contentless full-text index. 'owner' holds the tenant tokens (o<hex user id>, plus
      -- c<hex user id> when promoted to the clade) so MATCH itself is tenant-scoped and
      -- ORDER BY rank LIMIT k stays inside FTS5; the owner column weighs 0 in bm25.
      CREATE VIRTUAL TABLE entries_fts USING fts5(content, owner, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
      INSERT INTO entries_fts(entries_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)');
      CREATE TRIGGER entries_fts_insert AFTER INSERT ON entries BEGIN
        INSERT INTO entries_fts(rowid, content, owner) VALUES (
          new.seq, new.content,
          'o' || lower(hex(new.user_id)) || CASE WHEN new.in_clade = 1 THEN ' c' || lower(hex(new.user_id)) ELSE '' END);
      END;
      CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        DELETE FROM entries_fts WHERE rowid = old.seq;
      END;
      CREATE TABLE lethe_queue (
        id TEXT PRIMARY KEY,
        due_at INTEGER NOT NULL,
        payload TEXT NOT NULL,
        embedding BLOB
      ) STRICT;
      CREATE INDEX lethe_queue_due ON lethe_queue(due_at);
      CREATE TABLE lethe_entries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        domain TEXT NOT NULL,
        category TEXT NOT NULL,
        content TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        embedding BLOB,
        regime TEXT,
        confidence REAL NOT NULL,
        is_bloodstain INTEGER NOT NULL,
        metadata TEXT NOT NULL,
        sources TEXT NOT NULL,
        confirmation_confidences TEXT NOT NULL,
        bloodstain_confirmed INTEGER NOT NULL,
        validations INTEGER NOT NULL DEFAULT 0,
        contradictions INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE UNIQUE INDEX lethe_entries_hash ON lethe_entries(domain, content_hash);
      CREATE VIRTUAL TABLE lethe_fts USING fts5(content, content='lethe_entries', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
      CREATE TRIGGER lethe_fts_insert AFTER INSERT ON lethe_entries BEGIN
        INSERT INTO lethe_fts(rowid, content) VALUES (new.seq, new.content);
      END;
    `,
  },
  {
    version: 3,
    name: "event fabric: stream history, clade sync",
    sql: `
      CREATE TABLE fabric_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
      CREATE TABLE streams (
        stream TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        warm_from INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE stream_events (
        stream TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts INTEGER NOT NULL,
        channel TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (stream, seq)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE stream_archives (
        stream TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        cid TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (stream, first_seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX stream_archives_created ON stream_archives(created_at);
      CREATE TABLE clade_members (
        golem_id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        domains TEXT NOT NULL,
        registered_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX clade_members_user ON clade_members(user_id);
      CREATE TABLE clade_outbox (
        id INTEGER PRIMARY KEY,
        recipient TEXT NOT NULL,
        event TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX clade_outbox_recipient ON clade_outbox(recipient, id);
      CREATE INDEX clade_outbox_expiry ON clade_outbox(expires_at);
    `,
  },
  {
    version: 4,
    name: "coordination: pheromones, causal edges, deaths, achievements",
    sql: `
      CREATE TABLE pheromones (
        id TEXT PRIMARY KEY,
        layer TEXT NOT NULL,
        class TEXT NOT NULL,
        domain TEXT NOT NULL,
        regime TEXT NOT NULL,
        intensity REAL NOT NULL,
        confirmations INTEGER NOT NULL,
        deposited_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        fades_at INTEGER NOT NULL,
        source_hash TEXT NOT NULL,
        metadata TEXT NOT NULL,
        hv BLOB
      ) STRICT;
      CREATE INDEX pheromones_cell ON pheromones(domain, regime, layer, class, fades_at);
      CREATE INDEX pheromones_domain_fade ON pheromones(domain, fades_at);
      CREATE INDEX pheromones_fade ON pheromones(fades_at);
      CREATE TABLE pheromone_sources (
        pheromone_id TEXT NOT NULL REFERENCES pheromones(id) ON DELETE CASCADE,
        source_hash TEXT NOT NULL,
        PRIMARY KEY (pheromone_id, source_hash)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE pheromone_vectors (
        pheromone_id TEXT NOT NULL REFERENCES pheromones(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        hv BLOB NOT NULL,
        PRIMARY KEY (pheromone_id, n)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE causal_edges (
        id TEXT PRIMARY KEY,
        from_variable TEXT NOT NULL,
        to_variable TEXT NOT NULL,
        domain TEXT NOT NULL,
        regime TEXT NOT NULL,
        direction TEXT NOT NULL,
        strength TEXT NOT NULL,
        lag_ticks INTEGER NOT NULL,
        evidence_count INTEGER NOT NULL,
        confidence REAL NOT NULL,
        validations INTEGER NOT NULL,
        contradictions INTEGER NOT NULL,
        publisher_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (from_variable, to_variable, domain, regime)
      ) STRICT;
      CREATE INDEX causal_edges_rank ON causal_edges(domain, validations DESC, confidence DESC);
      CREATE TABLE causal_votes (
        edge_id TEXT NOT NULL REFERENCES causal_edges(id) ON DELETE CASCADE,
        publisher_hash TEXT NOT NULL,
        direction TEXT NOT NULL,
        PRIMARY KEY (edge_id, publisher_hash)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE deaths (
        golem_id TEXT PRIMARY KEY REFERENCES golems(id),
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
        result TEXT NOT NULL
      ) STRICT;
      CREATE INDEX deaths_user ON deaths(user_id, died_at DESC, golem_id DESC);
      CREATE INDEX deaths_time ON deaths(died_at);
      CREATE TABLE achievements (
        golem_id TEXT NOT NULL REFERENCES golems(id),
        code TEXT NOT NULL,
        unlocked_at INTEGER NOT NULL,
        PRIMARY KEY (golem_id, code)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE sources (
        source_hash TEXT PRIMARY KEY,
        golem_id TEXT NOT NULL REFERENCES golems(id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: "audit records by action",
    // The newest record of an action (the backup gauge reads backup.created at each scrape).
    sql: "CREATE INDEX audit_log_action ON audit_log(action, seq);",
  },
  {
    version: 6,
    name: "sealed source directory",
    // SPEC §3/§4.2: no table links a source hash to a golem without STYX_SECRET_KEY. The plain
    // directory goes (its hashes were salted SHA-256, which the keyed hashes replace, so its rows
    // could not be converted anyway); the new one holds each golem id sealed (AES-256-GCM) under
    // a key derived from STYX_SECRET_KEY. secure_delete zeroes the dropped pages, so the file
    // (and a copy of it) keeps no trace of the old rows.
    sql: `
      PRAGMA secure_delete = ON;
      DROP TABLE sources;
      PRAGMA secure_delete = OFF;
      CREATE TABLE source_directory (
        source_hash TEXT PRIMARY KEY,
        sealed_golem TEXT NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    name: "lethe k-anonymity: distinct writers per domain, waiting candidates",
    // Counting starts here: domains published before keep their entries; their new candidates
    // wait for k writers counted from this version on. Queued rows are kept as they were (due).
    sql: `
      CREATE TABLE lethe_writers (
        domain TEXT NOT NULL,
        source TEXT NOT NULL,
        PRIMARY KEY (domain, source)
      ) STRICT, WITHOUT ROWID;
      ALTER TABLE lethe_queue ADD COLUMN domain TEXT NOT NULL DEFAULT '';
      ALTER TABLE lethe_queue ADD COLUMN delay_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE lethe_queue ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
      UPDATE lethe_queue SET domain = json_extract(payload, '$.domain');
      DROP INDEX lethe_queue_due;
      CREATE INDEX lethe_queue_due ON lethe_queue(due_at) WHERE waiting = 0;
      CREATE INDEX lethe_queue_waiting ON lethe_queue(domain) WHERE waiting = 1;
      ALTER TABLE entries ADD COLUMN lethe_waiting INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    name: "per-user quotas: admin overrides, blob bytes",
    // SPEC §12: the admin's override of a user's limits (JSON cells, null: none) and the bytes of
    // the blobs the user stored (entries' bytes are summed from the entries themselves).
    sql: `
      CREATE TABLE user_quotas (
        user_id TEXT PRIMARY KEY,
        override TEXT,
        blob_bytes INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 9,
    name: "stored bytes per user from an index",
    // The stored-bytes quota sums each row's UTF-8 bytes (sqlite-entry-store.ts storedBytes, the
    // same expression): without this index that sum read every byte the user stored, on the event
    // loop (a 262 MB user: 21 ms in RAM, more from disk); with it, a covering scan of the user's
    // index entries (0.3 ms).
    sql: `
      CREATE INDEX entries_user_bytes ON entries(user_id, (length(CAST(content AS BLOB)) + length(CAST(metadata AS BLOB))));
    `,
  },
  {
    version: 10,
    name: "death records: birth, final heartbeat, domains",
    // Issue 17: the graveyard shows lifespan, final phase, PAD and NAV and the bloodstain's
    // domains. Birth is the golem's registration (backfilled from its row); the final heartbeat
    // was never kept before, so older deaths have none; their domains are unknown (empty).
    sql: `
      ALTER TABLE deaths ADD COLUMN born_at INTEGER;
      ALTER TABLE deaths ADD COLUMN final_phase TEXT;
      ALTER TABLE deaths ADD COLUMN final_pad TEXT;
      ALTER TABLE deaths ADD COLUMN final_nav REAL;
      ALTER TABLE deaths ADD COLUMN domains TEXT NOT NULL DEFAULT '[]';
      UPDATE deaths SET born_at = (SELECT created_at FROM golems WHERE golems.id = deaths.golem_id);
    `,
  },
  {
    version: 11,
    name: "entries listed by creation time; validations of entries and lethe entries",
    // SPEC §4.1: GET /v1/styx/entries pages a user's entries in (created_at, id) order; one vote per
    // golem (entries) or per source, a user's keyed hash (lethe entries), counted once.
    sql: `
      CREATE INDEX entries_user_created ON entries(user_id, created_at, id);
      CREATE TABLE entry_validations (
        entry_seq INTEGER NOT NULL,
        golem_id TEXT NOT NULL,
        agrees INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (entry_seq, golem_id)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE lethe_validations (
        lethe_seq INTEGER NOT NULL,
        source TEXT NOT NULL,
        agrees INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (lethe_seq, source)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 12,
    name: "blob references of entries; orphaned blob references",
    // SPEC §10: a blob is referenced while an entry of its user names it in content_blob (counted
    // from the entries through this index, no counter to drift). A reference whose last entry was
    // deleted or purged is marked in blob_orphans, in the removal's transaction; the blob
    // collection releases it once STYX_BLOB_GRACE has passed since the mark.
    sql: `
      CREATE INDEX entries_user_blob ON entries(user_id, content_blob) WHERE content_blob IS NOT NULL;
      CREATE TABLE blob_orphans (
        user_id TEXT NOT NULL,
        cid TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (user_id, cid)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX blob_orphans_since ON blob_orphans(since);
    `,
  },
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
