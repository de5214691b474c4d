/**
 * Pheromones, causal edges, deaths, achievements and the source-hash directory (migration 4),
 * the tables of SQLite's migration 4. JSON stays in text columns, as in SQLite: "\u0000" is
 * legal JSON that jsonb refuses, and nothing queries inside these documents. Text orderings
 * (graveyard pages, achievement lists) use COLLATE "C", SQLite's byte order, whatever the
 * database's collation.
 */
export const COORDINATION_SCHEMA = `
  CREATE TABLE pheromones (
    id text PRIMARY KEY,
    layer text NOT NULL,
    class text NOT NULL,
    domain text NOT NULL,
    regime text NOT NULL,
    intensity double precision NOT NULL,
    confirmations integer NOT NULL,
    deposited_at bigint NOT NULL,
    created_at bigint NOT NULL,
    fades_at bigint NOT NULL,
    source_hash text NOT NULL,
    metadata text NOT NULL,
    hv bytea
  );
  CREATE INDEX pheromones_cell ON pheromones(domain, regime, layer, class, fades_at);
  CREATE INDEX pheromones_domain_fade ON pheromones(domain, fades_at);
  CREATE INDEX pheromones_fade ON pheromones(fades_at);
  CREATE TABLE pheromone_sources (
    pheromone_id text NOT NULL REFERENCES pheromones(id) ON DELETE CASCADE,
    source_hash text NOT NULL,
    PRIMARY KEY (pheromone_id, source_hash)
  );
  CREATE TABLE pheromone_vectors (
    pheromone_id text NOT NULL REFERENCES pheromones(id) ON DELETE CASCADE,
    n integer NOT NULL,
    hv bytea NOT NULL,
    PRIMARY KEY (pheromone_id, n)
  );
  CREATE TABLE causal_edges (
    id text PRIMARY KEY,
    from_variable text NOT NULL,
    to_variable text NOT NULL,
    domain text NOT NULL,
    regime text NOT NULL,
    direction text NOT NULL,
    strength text NOT NULL,
    lag_ticks integer NOT NULL,
    evidence_count integer NOT NULL,
    confidence double precision NOT NULL,
    validations integer NOT NULL,
    contradictions integer NOT NULL,
    publisher_hash text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    UNIQUE (from_variable, to_variable, domain, regime)
  );
  CREATE INDEX causal_edges_rank ON causal_edges(domain, validations DESC, confidence DESC);
  CREATE TABLE causal_votes (
    edge_id text NOT NULL REFERENCES causal_edges(id) ON DELETE CASCADE,
    publisher_hash text NOT NULL,
    direction text NOT NULL,
    PRIMARY KEY (edge_id, publisher_hash)
  );
  CREATE TABLE deaths (
    golem_id text PRIMARY KEY REFERENCES golems(id),
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    user_id text NOT NULL,
    generation integer NOT NULL,
    death_cause text NOT NULL,
    died_at bigint NOT NULL,
    recorded_at bigint NOT NULL,
    ticks_lived bigint NOT NULL,
    warnings integer NOT NULL,
    causal_edges integer NOT NULL,
    testament_excerpt text,
    somatic_fragment text,
    signed boolean NOT NULL,
    result text NOT NULL
  );
  CREATE INDEX deaths_user ON deaths(user_id, died_at DESC, golem_id COLLATE "C" DESC);
  CREATE INDEX deaths_user_seq ON deaths(user_id, seq);
  CREATE INDEX deaths_time ON deaths(died_at);
  CREATE TABLE achievements (
    golem_id text NOT NULL REFERENCES golems(id),
    code text NOT NULL,
    unlocked_at bigint NOT NULL,
    PRIMARY KEY (golem_id, code)
  );
  CREATE TABLE sources (
    source_hash text PRIMARY KEY,
    golem_id text NOT NULL REFERENCES golems(id)
  );
`;
