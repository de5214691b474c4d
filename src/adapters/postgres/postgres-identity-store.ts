import type { IdentityRecordIds, IdentityStore } from "../../core/identity/identity-store.js";
import type { ApiKey, Golem, Session, Tier, User } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";
import { toGolem, toKey, toSession, toUser } from "../sql/identity-rows.js";
import type { PgSql } from "./database.js";

/** SQLSTATE of a unique or primary-key violation. */
const UNIQUE_VIOLATION = "23505";

/**
 * IdentityStore on the macronode PostgreSQL database. Lists order by creation time, then id:
 * PostgreSQL has no rowid, so keys created in the same millisecond come back in id order
 * rather than insertion order.
 */
export class PostgresIdentityStore implements IdentityStore {
  readonly #sql: PgSql;

  constructor(sql: PgSql) {
    this.#sql = sql;
  }

  async createUser(u: User): Promise<void> {
    await insert(
      this.#sql`INSERT INTO users (id, wallet_address, reputation, tier, created_at, updated_at)
        VALUES (${u.id}, ${u.walletAddress}, ${u.reputation}, ${u.tier}, ${u.createdAt}, ${u.updatedAt})`,
      "user id or wallet_address",
    );
  }
  async getUser(id: string): Promise<User | undefined> {
    return toUser((await this.#sql`SELECT * FROM users WHERE id = ${id}`)[0]);
  }
  async setUserTier(id: string, tier: Tier, at: number): Promise<boolean> {
    return (await this.#sql`UPDATE users SET tier = ${tier}, updated_at = ${at} WHERE id = ${id}`).count > 0;
  }
  async findUserByWallet(address: string): Promise<User | undefined> {
    return toUser((await this.#sql`SELECT * FROM users WHERE wallet_address = ${address}`)[0]);
  }

  async createGolem(g: Golem): Promise<void> {
    await insert(
      this.#sql`INSERT INTO golems
          (id, user_id, generation, parent_golem_id, status, archetype, wallet_address, created_at, died_at, death_cause, ticks_lived)
        VALUES (${g.id}, ${g.userId}, ${g.generation}, ${g.parentGolemId}, ${g.status}, ${g.archetype}, ${g.walletAddress}, ${g.createdAt},
          ${g.diedAt}, ${g.deathCause}, ${g.ticksLived})`,
      "golem id or wallet_address",
    );
  }
  async getGolem(id: string): Promise<Golem | undefined> {
    return toGolem((await this.#sql`SELECT * FROM golems WHERE id = ${id}`)[0]);
  }
  async markGolemAlive(id: string): Promise<void> {
    await this.#sql`UPDATE golems SET status = 'alive' WHERE id = ${id} AND status = 'provisioning'`;
  }
  async findGolemByWallet(address: string): Promise<Golem | undefined> {
    return toGolem((await this.#sql`SELECT * FROM golems WHERE wallet_address = ${address}`)[0]);
  }
  async listGolems(userId: string): Promise<Golem[]> {
    const rows = await this.#sql`SELECT * FROM golems WHERE user_id = ${userId} ORDER BY created_at, id`;
    return rows.map((r) => toGolem(r) as Golem);
  }

  async createApiKey(k: ApiKey): Promise<void> {
    await insert(
      this.#sql`INSERT INTO api_keys (id, user_id, golem_id, name, key_hash, scopes, created_at, expires_at, revoked_at)
        VALUES (${k.id}, ${k.userId}, ${k.golemId}, ${k.name}, ${k.keyHash}, ${JSON.stringify(k.scopes)}, ${k.createdAt}, ${k.expiresAt},
          ${k.revokedAt})`,
      "key",
    );
  }
  async getApiKey(id: string): Promise<ApiKey | undefined> {
    return toKey((await this.#sql`SELECT * FROM api_keys WHERE id = ${id}`)[0]);
  }
  async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
    return toKey((await this.#sql`SELECT * FROM api_keys WHERE key_hash = ${keyHash}`)[0]);
  }
  async listApiKeys(userId: string): Promise<ApiKey[]> {
    const rows = await this.#sql`SELECT * FROM api_keys WHERE user_id = ${userId} ORDER BY created_at, id`;
    return rows.map((r) => toKey(r) as ApiKey);
  }
  async listActiveApiKeys(now: number, limit: number): Promise<ApiKey[]> {
    const rows = await this.#sql`
      SELECT * FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})
      ORDER BY created_at DESC, id DESC LIMIT ${limit}`;
    return rows.map((r) => toKey(r) as ApiKey);
  }
  async unusableApiKeys(ids: readonly string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.#sql<{ id: string }[]>`
      SELECT id FROM api_keys WHERE id = ANY(${ids as string[]}) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ${now})`;
    const usable = new Set(rows.map((r) => r.id));
    return ids.filter((id) => !usable.has(id));
  }

  async revokeApiKey(id: string, at: number): Promise<ApiKey | undefined> {
    // The IS NULL guard makes the first revocation win even when two gateways race.
    await this.#sql`UPDATE api_keys SET revoked_at = ${at} WHERE id = ${id} AND revoked_at IS NULL`;
    return this.getApiKey(id);
  }

  async spendNonce(nonce: string, expiresAt: number): Promise<boolean> {
    const r = await this.#sql`INSERT INTO used_nonces (nonce, expires_at) VALUES (${nonce}, ${expiresAt}) ON CONFLICT (nonce) DO NOTHING`;
    return r.count === 1;
  }

  async createSession(s: Session): Promise<void> {
    await insert(
      this.#sql`INSERT INTO sessions (id, token_hash, user_id, golem_id, created_at, expires_at)
        VALUES (${s.id}, ${s.tokenHash}, ${s.userId}, ${s.golemId}, ${s.createdAt}, ${s.expiresAt})`,
      "session",
    );
  }
  async findSessionByHash(tokenHash: string): Promise<Session | undefined> {
    return toSession((await this.#sql`SELECT * FROM sessions WHERE token_hash = ${tokenHash}`)[0]);
  }
  async getSession(id: string): Promise<Session | undefined> {
    return toSession((await this.#sql`SELECT * FROM sessions WHERE id = ${id}`)[0]);
  }
  async listSessions(userId: string, now: number): Promise<Session[]> {
    const rows = await this.#sql`SELECT * FROM sessions WHERE user_id = ${userId} AND expires_at > ${now} ORDER BY created_at, id`;
    return rows.map((r) => toSession(r) as Session);
  }
  async deleteSession(id: string): Promise<Session | undefined> {
    return toSession((await this.#sql`DELETE FROM sessions WHERE id = ${id} RETURNING *`)[0]);
  }

  async listIdentifiers(since: number): Promise<IdentityRecordIds[]> {
    return [
      ...(await this.#sql<IdentityRecordIds[]>`
      SELECT 'user' AS kind, id, id AS "userId", wallet_address AS "walletAddress" FROM users WHERE created_at >= ${since}
      UNION ALL SELECT 'golem', id, user_id, wallet_address FROM golems WHERE created_at >= ${since}
      UNION ALL SELECT 'key', id, user_id, NULL FROM api_keys WHERE created_at >= ${since}
      UNION ALL SELECT 'session', id, user_id, NULL FROM sessions WHERE created_at >= ${since}`),
    ];
  }

  async purgeExpiredAuth(now: number): Promise<number> {
    return this.#sql.begin(async (tx) => {
      const nonces = await tx`DELETE FROM used_nonces WHERE expires_at <= ${now}`;
      const sessions = await tx`DELETE FROM sessions WHERE expires_at <= ${now}`;
      return nonces.count + sessions.count;
    });
  }
}

/** Runs an insert, turning a unique violation into STYX_CONFLICT as the SQLite store does. */
async function insert(query: PromiseLike<unknown>, what: string): Promise<void> {
  try {
    await query;
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
      throw new StyxError("STYX_CONFLICT", `A resource with this ${what} already exists.`);
    }
    throw err;
  }
}
