import type { SecretStore } from "../../core/platform/secret-store.js";
import type { PgSql } from "./database.js";

/**
 * Server secrets in the cluster's schema (`server_secrets`), shared by every gateway: the first
 * gateway to create one wins (ON CONFLICT DO NOTHING) and the others read it back. Protect the
 * database as you would the micronode data dir: these are the values, not hashes.
 */
export class PostgresSecretStore implements SecretStore {
  readonly #sql: PgSql;
  readonly #schema: string;

  constructor(sql: PgSql, schema: string) {
    this.#sql = sql;
    this.#schema = schema;
  }

  async loadOrCreate(name: string, make: () => string): Promise<{ value: string; created: boolean }> {
    const value = make();
    const inserted = await this.#sql<{ name: string }[]>`
      INSERT INTO server_secrets (name, value, created_at) VALUES (${name}, ${value}, ${Date.now()})
      ON CONFLICT (name) DO NOTHING RETURNING name`;
    if (inserted.length > 0) return { value, created: true };
    const [row] = await this.#sql<{ value: string }[]>`SELECT value FROM server_secrets WHERE name = ${name}`;
    if (!row) throw new Error(`secret ${name} vanished between insert and read`);
    return { value: row.value, created: false };
  }

  async load(name: string): Promise<string | undefined> {
    const [row] = await this.#sql<{ value: string }[]>`SELECT value FROM server_secrets WHERE name = ${name}`;
    return row?.value;
  }

  where(name: string): string {
    return `PostgreSQL ${this.#schema}.server_secrets (${name})`;
  }
}
