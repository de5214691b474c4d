import type { IdentityRecordIds, IdentityStore } from "../../core/identity/identity-store.js";
import type { ApiKey, Golem, Session, Tier, User } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";
import type { SqlRow as Row } from "../sql/codec.js";
import { toGolem, toKey, toSession, toUser } from "../sql/identity-rows.js";
import { isUniqueViolation, type SqliteDatabase } from "./database.js";

/** IdentityStore on the micronode SQLite database. */
export class SqliteIdentityStore implements IdentityStore {
  readonly #db: SqliteDatabase;
  readonly #q;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#q = {
      insertUser: db.prepare(
        "INSERT INTO users (id, wallet_address, reputation, tier, created_at, updated_at) VALUES (@id, @walletAddress, @reputation, @tier, @createdAt, @updatedAt)",
      ),
      getUser: db.prepare("SELECT * FROM users WHERE id = ?"),
      setUserTier: db.prepare("UPDATE users SET tier = ?, updated_at = ? WHERE id = ?"),
      userByWallet: db.prepare("SELECT * FROM users WHERE wallet_address = ?"),
      insertGolem: db.prepare(
        `INSERT INTO golems (id, user_id, generation, parent_golem_id, status, archetype, wallet_address, created_at, died_at, death_cause, ticks_lived)
         VALUES (@id, @userId, @generation, @parentGolemId, @status, @archetype, @walletAddress, @createdAt, @diedAt, @deathCause, @ticksLived)`,
      ),
      getGolem: db.prepare("SELECT * FROM golems WHERE id = ?"),
      golemAlive: db.prepare("UPDATE golems SET status = 'alive' WHERE id = ? AND status = 'provisioning'"),
      golemByWallet: db.prepare("SELECT * FROM golems WHERE wallet_address = ?"),
      listGolems: db.prepare("SELECT * FROM golems WHERE user_id = ? ORDER BY created_at, rowid"),
      insertKey: db.prepare(
        `INSERT INTO api_keys (id, user_id, golem_id, name, key_hash, scopes, created_at, expires_at, revoked_at)
         VALUES (@id, @userId, @golemId, @name, @keyHash, @scopes, @createdAt, @expiresAt, @revokedAt)`,
      ),
      getKey: db.prepare("SELECT * FROM api_keys WHERE id = ?"),
      keyByHash: db.prepare("SELECT * FROM api_keys WHERE key_hash = ?"),
      listKeys: db.prepare("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at, rowid"),
      activeKeys: db.prepare(
        "SELECT * FROM api_keys WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, rowid DESC LIMIT ?",
      ),
      revokeKey: db.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      spendNonce: db.prepare("INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT(nonce) DO NOTHING"),
      insertSession: db.prepare(
        "INSERT INTO sessions (id, token_hash, user_id, golem_id, created_at, expires_at) VALUES (@id, @tokenHash, @userId, @golemId, @createdAt, @expiresAt)",
      ),
      sessionByHash: db.prepare("SELECT * FROM sessions WHERE token_hash = ?"),
      getSession: db.prepare("SELECT * FROM sessions WHERE id = ?"),
      listSessions: db.prepare("SELECT * FROM sessions WHERE user_id = ? AND expires_at > ? ORDER BY created_at, rowid"),
      deleteSession: db.prepare("DELETE FROM sessions WHERE id = ? RETURNING *"),
      purgeNonces: db.prepare("DELETE FROM used_nonces WHERE expires_at <= ?"),
      purgeSessions: db.prepare("DELETE FROM sessions WHERE expires_at <= ?"),
    };
  }

  async createUser(user: User): Promise<void> {
    insert(() => this.#q.insertUser.run(user), "user id or wallet_address");
  }
  async getUser(id: string): Promise<User | undefined> {
    return toUser(this.#q.getUser.get(id) as Row | undefined);
  }
  async setUserTier(id: string, tier: Tier, at: number): Promise<boolean> {
    return this.#q.setUserTier.run(tier, at, id).changes > 0;
  }
  async findUserByWallet(address: string): Promise<User | undefined> {
    return toUser(this.#q.userByWallet.get(address) as Row | undefined);
  }

  async createGolem(golem: Golem): Promise<void> {
    insert(() => this.#q.insertGolem.run(golem), "golem id or wallet_address");
  }
  async getGolem(id: string): Promise<Golem | undefined> {
    return toGolem(this.#q.getGolem.get(id) as Row | undefined);
  }
  async markGolemAlive(id: string): Promise<void> {
    this.#q.golemAlive.run(id);
  }
  async findGolemByWallet(address: string): Promise<Golem | undefined> {
    return toGolem(this.#q.golemByWallet.get(address) as Row | undefined);
  }
  async listGolems(userId: string): Promise<Golem[]> {
    return (this.#q.listGolems.all(userId) as Row[]).map((r) => toGolem(r) as Golem);
  }

  async createApiKey(key: ApiKey): Promise<void> {
    insert(() => this.#q.insertKey.run({ ...key, scopes: JSON.stringify(key.scopes) }), "key");
  }
  async getApiKey(id: string): Promise<ApiKey | undefined> {
    return toKey(this.#q.getKey.get(id) as Row | undefined);
  }
  async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
    return toKey(this.#q.keyByHash.get(keyHash) as Row | undefined);
  }
  async listApiKeys(userId: string): Promise<ApiKey[]> {
    return (this.#q.listKeys.all(userId) as Row[]).map((r) => toKey(r) as ApiKey);
  }
  async listActiveApiKeys(now: number, limit: number): Promise<ApiKey[]> {
    return (this.#q.activeKeys.all(now, limit) as Row[]).map((r) => toKey(r) as ApiKey);
  }
  async unusableApiKeys(ids: readonly string[], now: number): Promise<string[]> {
    if (ids.length === 0) return [];
    const usable = new Set(
      this.#db
        .prepare(
          `SELECT id FROM api_keys WHERE id IN (SELECT value FROM json_each(?)) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)`,
        )
        .pluck()
        .all(JSON.stringify(ids), now) as string[],
    );
    return ids.filter((id) => !usable.has(id));
  }

  async revokeApiKey(id: string, at: number): Promise<ApiKey | undefined> {
    this.#q.revokeKey.run(at, id);
    return this.getApiKey(id);
  }

  async spendNonce(nonce: string, expiresAt: number): Promise<boolean> {
    return this.#q.spendNonce.run(nonce, expiresAt).changes === 1;
  }

  async createSession(s: Session): Promise<void> {
    insert(() => this.#q.insertSession.run(s), "session");
  }
  async findSessionByHash(tokenHash: string): Promise<Session | undefined> {
    return toSession(this.#q.sessionByHash.get(tokenHash) as Row | undefined);
  }
  async getSession(id: string): Promise<Session | undefined> {
    return toSession(this.#q.getSession.get(id) as Row | undefined);
  }
  async listSessions(userId: string, now: number): Promise<Session[]> {
    return (this.#q.listSessions.all(userId, now) as Row[]).map((r) => toSession(r) as Session);
  }
  async deleteSession(id: string): Promise<Session | undefined> {
    return toSession(this.#q.deleteSession.get(id) as Row | undefined);
  }

  async listIdentifiers(since: number): Promise<IdentityRecordIds[]> {
    return this.#db
      .prepare(
        `SELECT 'user' AS kind, id, id AS userId, wallet_address AS walletAddress FROM users WHERE created_at >= @since
         UNION ALL SELECT 'golem', id, user_id, wallet_address FROM golems WHERE created_at >= @since
         UNION ALL SELECT 'key', id, user_id, NULL FROM api_keys WHERE created_at >= @since
         UNION ALL SELECT 'session', id, user_id, NULL FROM sessions WHERE created_at >= @since`,
      )
      .all({ since }) as IdentityRecordIds[];
  }

  async purgeExpiredAuth(now: number): Promise<number> {
    return this.#db.transaction(() => this.#q.purgeNonces.run(now).changes + this.#q.purgeSessions.run(now).changes)();
  }
}

function insert(run: () => unknown, what: string): void {
  try {
    run();
  } catch (err) {
    if (isUniqueViolation(err)) throw new StyxError("STYX_CONFLICT", `A resource with this ${what} already exists.`);
    throw err;
  }
}
