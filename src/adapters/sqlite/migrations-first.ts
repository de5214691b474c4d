import type { Migration } from "./migrations.js";

/**
 * SQLite migrations 1–12: the micronode schema as it stood before payments (migration 13 on, in
 * migrations.ts). Never edit a shipped migration: add the next one.
 */
export const FIRST_MIGRATIONS: readonly Migration[] = [
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
];
