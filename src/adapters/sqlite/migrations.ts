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
      CREATE TABLE wallet_challenges (
        nonce TEXT PRIMARY KEY,
        wallet_address TEXT NOT NULL,
        message TEXT NOT NULL,
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
];
