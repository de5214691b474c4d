/**
 * Clade membership and the clade delta outbox (migration 3). Unlike SQLite's migration 3 there
 * are no stream-history tables: in the macronode the event history lives in NATS JetStream,
 * and the leader lease is an advisory lock, not a row. (`domains` is JSON text since migration 8.)
 */
export const FABRIC_SCHEMA = `
  CREATE TABLE clade_members (
    golem_id text PRIMARY KEY,
    user_id text NOT NULL,
    domains text[] NOT NULL,
    registered_at bigint NOT NULL
  );
  CREATE INDEX clade_members_user ON clade_members(user_id, registered_at, golem_id COLLATE "C");
  CREATE TABLE clade_outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient text NOT NULL,
    event text NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
  );
  CREATE INDEX clade_outbox_recipient ON clade_outbox(recipient, id);
  CREATE INDEX clade_outbox_expiry ON clade_outbox(expires_at);
`;
