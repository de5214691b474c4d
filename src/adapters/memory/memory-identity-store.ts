import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { ApiKey, Golem, Session, User } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";

/**
 * IdentityStore kept in process memory: the amnesia backend and the reference for the
 * contract suite. Nothing survives a restart; move to SQLite (micronode) or PostgreSQL
 * (macronode) to keep identities.
 */
export class MemoryIdentityStore implements IdentityStore {
  readonly #users = new Map<string, User>();
  readonly #golems = new Map<string, Golem>();
  readonly #keys = new Map<string, ApiKey>();
  readonly #keysByHash = new Map<string, string>();
  readonly #usedNonces = new Map<string, number>();
  readonly #sessions = new Map<string, Session>();

  async createUser(user: User): Promise<void> {
    if (this.#users.has(user.id)) throw conflict("user id");
    if (user.walletAddress && this.#find(this.#users, (u) => u.walletAddress === user.walletAddress)) {
      throw conflict("wallet_address");
    }
    this.#users.set(user.id, user);
  }
  async getUser(id: string): Promise<User | undefined> {
    return this.#users.get(id);
  }
  async findUserByWallet(address: string): Promise<User | undefined> {
    return this.#find(this.#users, (u) => u.walletAddress === address);
  }

  async createGolem(golem: Golem): Promise<void> {
    if (this.#golems.has(golem.id)) throw conflict("golem id");
    if (golem.walletAddress && this.#find(this.#golems, (g) => g.walletAddress === golem.walletAddress)) {
      throw conflict("wallet_address");
    }
    this.#golems.set(golem.id, golem);
  }
  async getGolem(id: string): Promise<Golem | undefined> {
    return this.#golems.get(id);
  }
  async findGolemByWallet(address: string): Promise<Golem | undefined> {
    return this.#find(this.#golems, (g) => g.walletAddress === address);
  }
  async listGolems(userId: string): Promise<Golem[]> {
    return [...this.#golems.values()].filter((g) => g.userId === userId);
  }

  async createApiKey(key: ApiKey): Promise<void> {
    if (this.#keys.has(key.id) || this.#keysByHash.has(key.keyHash)) throw conflict("key");
    this.#keys.set(key.id, key);
    this.#keysByHash.set(key.keyHash, key.id);
  }
  async getApiKey(id: string): Promise<ApiKey | undefined> {
    return this.#keys.get(id);
  }
  async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
    const id = this.#keysByHash.get(keyHash);
    return id === undefined ? undefined : this.#keys.get(id);
  }
  async listApiKeys(userId: string): Promise<ApiKey[]> {
    return [...this.#keys.values()].filter((k) => k.userId === userId);
  }
  async revokeApiKey(id: string, at: number): Promise<ApiKey | undefined> {
    const key = this.#keys.get(id);
    if (!key) return undefined;
    if (key.revokedAt !== null) return key;
    const revoked = { ...key, revokedAt: at };
    this.#keys.set(id, revoked);
    return revoked;
  }

  async spendNonce(nonce: string, expiresAt: number): Promise<boolean> {
    if (this.#usedNonces.has(nonce)) return false;
    this.#usedNonces.set(nonce, expiresAt);
    return true;
  }

  async createSession(session: Session): Promise<void> {
    if (this.#sessions.has(session.tokenHash)) throw conflict("session");
    this.#sessions.set(session.tokenHash, session);
  }
  async findSessionByHash(tokenHash: string): Promise<Session | undefined> {
    return this.#sessions.get(tokenHash);
  }

  async purgeExpiredAuth(now: number): Promise<number> {
    let n = 0;
    for (const [k, exp] of this.#usedNonces) if (exp <= now && this.#usedNonces.delete(k)) n++;
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now && this.#sessions.delete(k)) n++;
    return n;
  }

  #find<T>(map: Map<string, T>, pred: (v: T) => boolean): T | undefined {
    for (const v of map.values()) if (pred(v)) return v;
    return undefined;
  }
}

function conflict(what: string): StyxError {
  return new StyxError("STYX_CONFLICT", `A resource with this ${what} already exists.`);
}
