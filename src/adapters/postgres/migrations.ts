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
];
