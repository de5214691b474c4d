import type { ApiKey, Golem, Session, Tier, User } from "./types.js";

/** The identifiers one identity record carries (`listIdentifiers`). */
export interface IdentityRecordIds {
  readonly kind: "user" | "golem" | "key" | "session";
  readonly id: string;
  readonly userId: string;
  readonly walletAddress: string | null;
}

/**
 * Persistence of users, golems, API keys, wallet challenges and sessions.
 * Obligations: ids and wallet addresses are unique per table (a clash rejects with
 * `StyxError("STYX_CONFLICT")` and writes nothing); `spendNonce` is atomic, so a nonce is
 * handed out at most once; lookups by hash are exact matches on the stored SHA-256 hex.
 * Implementations: memory (amnesia), SQLite (micronode), PostgreSQL (macronode).
 */
export interface IdentityStore {
  createUser(user: User): Promise<void>;
  getUser(id: string): Promise<User | undefined>;
  /** Sets a user's tier (and `updatedAt`); false when there is no such user. */
  setUserTier(id: string, tier: Tier, at: number): Promise<boolean>;
  findUserByWallet(address: string): Promise<User | undefined>;

  createGolem(golem: Golem): Promise<void>;
  getGolem(id: string): Promise<Golem | undefined>;
  /** Moves a `provisioning` golem to `alive` (its first heartbeat or write); nothing for any other status. */
  markGolemAlive(id: string): Promise<void>;
  findGolemByWallet(address: string): Promise<Golem | undefined>;
  /** The user's golems, oldest first. */
  listGolems(userId: string): Promise<Golem[]>;

  createApiKey(key: ApiKey): Promise<void>;
  getApiKey(id: string): Promise<ApiKey | undefined>;
  findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined>;
  /** The user's keys (revoked included), oldest first. */
  listApiKeys(userId: string): Promise<ApiKey[]>;
  /**
   * Keys of every user usable at `now` (not revoked, not expired), newest first, at most
   * `limit` (the admin dashboard).
   */
  listActiveApiKeys(now: number, limit: number): Promise<ApiKey[]>;
  /**
   * The ids among `ids` no longer usable at `now`: revoked, expired or gone (sockets
   * authenticated with them are closed). One round trip for many ids.
   */
  unusableApiKeys(ids: readonly string[], now: number): Promise<string[]>;
  /** Marks the key revoked at `at` (first revocation wins); returns the stored key or undefined. */
  revokeApiKey(id: string, at: number): Promise<ApiKey | undefined>;

  /**
   * Records that a wallet-challenge nonce was used (challenges themselves are stateless and
   * signed); false, writing nothing, when it was used before. Kept until `expiresAt`.
   */
  spendNonce(nonce: string, expiresAt: number): Promise<boolean>;

  createSession(session: Session): Promise<void>;
  findSessionByHash(tokenHash: string): Promise<Session | undefined>;
  getSession(id: string): Promise<Session | undefined>;
  /** The user's sessions still valid at `now` (expiring after it), oldest first. */
  listSessions(userId: string, now: number): Promise<Session[]>;
  /** Deletes a session (ends it); returns it as it was, or undefined when there was none. */
  deleteSession(id: string): Promise<Session | undefined>;

  /**
   * Every identifier of users, golems, keys and sessions created at or after `since` (ms):
   * user ids and wallets, golem ids and wallets, key ids, session ids, each with its user —
   * the public pipeline's directory of known identifiers (SPEC §4.2 step 2).
   */
  listIdentifiers(since: number): Promise<IdentityRecordIds[]>;

  /** Deletes used nonces and sessions that expired before `now`; returns how many. */
  purgeExpiredAuth(now: number): Promise<number>;
}
