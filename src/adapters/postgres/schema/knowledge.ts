/**
 * Vault/clade entries, the lethe publication queue and the published lethe entries
 * (migration 2), the twin of SQLite's migration 2. Seqs are identity columns (the key of an
 * entry in the vector indexes); vectors are float32 little-endian `bytea`; JSON fields stay
 * text so both profiles share one encoding. Full-text search is a generated `tsvector` with
 * the 'simple' configuration (no stemming, no stop words, like FTS5 unicode61) over the
 * content with punctuation turned into spaces, so `foo_bar`, `a.b` and `x@y.z` split into
 * words as they do in SQLite.
 */
export const KNOWLEDGE_SCHEMA = `
  CREATE TABLE entries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    user_id text NOT NULL,
    golem_id text NOT NULL,
    category text NOT NULL,
    content text NOT NULL,
    content_hash text NOT NULL,
    content_blob text,
    embedding bytea,
    domain text,
    regime text,
    confidence double precision NOT NULL,
    affect text,
    emotion text,
    metadata text NOT NULL,
    is_bloodstain boolean NOT NULL DEFAULT false,
    in_clade boolean NOT NULL,
    validations integer NOT NULL DEFAULT 0,
    contradictions integer NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    expires_at bigint,
    lethe_at bigint,
    idempotency_key text,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, regexp_replace(content, '[[:punct:]]+', ' ', 'g'))) STORED
  );
  CREATE UNIQUE INDEX entries_idempotency ON entries(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX entries_user ON entries(user_id, in_clade);
  CREATE INDEX entries_golem ON entries(golem_id, seq);
  CREATE INDEX entries_expiry ON entries(expires_at) WHERE expires_at IS NOT NULL;
  CREATE INDEX entries_search ON entries USING gin (search);
  CREATE TABLE lethe_queue (
    id text PRIMARY KEY,
    due_at bigint NOT NULL,
    payload text NOT NULL,
    embedding bytea
  );
  CREATE INDEX lethe_queue_due ON lethe_queue(due_at);
  CREATE TABLE lethe_entries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    domain text NOT NULL,
    category text NOT NULL,
    content text NOT NULL,
    content_hash text NOT NULL,
    embedding bytea,
    regime text,
    confidence double precision NOT NULL,
    is_bloodstain boolean NOT NULL,
    metadata text NOT NULL,
    sources text NOT NULL,
    confirmation_confidences text NOT NULL,
    bloodstain_confirmed boolean NOT NULL,
    validations integer NOT NULL DEFAULT 0,
    contradictions integer NOT NULL DEFAULT 0,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, regexp_replace(content, '[[:punct:]]+', ' ', 'g'))) STORED
  );
  CREATE UNIQUE INDEX lethe_entries_hash ON lethe_entries(domain, content_hash);
  CREATE INDEX lethe_entries_search ON lethe_entries USING gin (search);
`;
