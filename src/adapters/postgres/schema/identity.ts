/**
 * Users, golems, API keys, wallet nonces, sessions, the server's own secrets (shared by every
 * gateway) and the hash-chained audit log (migration 1).
 * Times are epoch milliseconds in `bigint`, as in SQLite, so both profiles share one codec.
 */
export const IDENTITY_SCHEMA = `
  CREATE TABLE users (
    id text PRIMARY KEY,
    wallet_address text UNIQUE,
    reputation integer NOT NULL DEFAULT 0,
    tier text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE TABLE golems (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users(id),
    generation integer NOT NULL,
    parent_golem_id text REFERENCES golems(id),
    status text NOT NULL,
    archetype text,
    wallet_address text UNIQUE,
    created_at bigint NOT NULL,
    died_at bigint,
    death_cause text,
    ticks_lived bigint NOT NULL DEFAULT 0
  );
  CREATE INDEX golems_user ON golems(user_id, created_at);
  CREATE TABLE api_keys (
    id text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users(id),
    golem_id text REFERENCES golems(id),
    name text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    scopes text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint,
    revoked_at bigint
  );
  CREATE INDEX api_keys_user ON api_keys(user_id, created_at);
  CREATE TABLE used_nonces (
    nonce text PRIMARY KEY,
    expires_at bigint NOT NULL
  );
  CREATE TABLE sessions (
    id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_id text NOT NULL REFERENCES users(id),
    golem_id text REFERENCES golems(id),
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE TABLE audit_log (
    seq bigint PRIMARY KEY,
    ts bigint NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    request_id text,
    ip text,
    details text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
  );
  CREATE TABLE server_secrets (
    name text PRIMARY KEY,
    value text NOT NULL,
    created_at bigint NOT NULL
  );
  CREATE TABLE audit_head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash text NOT NULL
  );
`;
