import type { Clock } from "../platform/clock.js";
import type { IdentityStore } from "./identity-store.js";
import type { ApiKey, Golem, Session, Tier, User } from "./types.js";

/** Signal topic on which a macronode tells every gateway (and CLI) of a revoked key: `{ key_id }`. */
export const KEY_REVOKED_SIGNAL = "key-revoked";

/**
 * Signal topic on which a macronode gateway tells the others that a golem's or a user's record
 * changed (a death, an erasure, a tier): `{ golem_id }` or `{ user_id }`; they forget it.
 */
export const IDENTITY_CHANGED_SIGNAL = "identity-changed";

/** Whose record changed: one golem, or one user. */
export type IdentityChange = { readonly golemId: string } | { readonly userId: string };

/** How long a cached record is trusted without asking the store again (ms): what a lost signal can leave unseen. */
export const IDENTITY_CACHE_TTL_MS = 5000;

/** Options of the identity cache. */
export interface IdentityCacheOptions {
  readonly clock: Clock;
  /** How long a looked-up record is trusted (ms, default IDENTITY_CACHE_TTL_MS). */
  readonly ttlMs?: number;
  /** Most records held of each kind (credentials, golems, users; default 100,000); beyond it the oldest go first. */
  readonly maxEntries?: number;
  /** Called with the id of every key revoked through this store (the macronode tells the other gateways). */
  readonly onRevoked?: (keyId: string) => void;
  /** Called with every change made here (a tier set through this store, `changed`): the macronode tells the other gateways. */
  readonly onChanged?: (change: IdentityChange) => void;
  /**
   * Whether another process wrote to the store since the last call (a micronode's data dir, where
   * `styx keys revoke` may run beside the server): then everything is forgotten. Asked at most
   * once per millisecond of `clock`, before a cached record is used.
   */
  readonly changedElsewhere?: () => boolean;
}

/** An identity store whose lookups on the request path are remembered, and the ways to make it forget. */
export interface CachedIdentityStore extends IdentityStore {
  /** Forgets a key (revoked on another gateway). */
  forgetKey(keyId: string): void;
  /** Forgets a wallet session (ended on another gateway). */
  forgetSession(sessionId: string): void;
  /** Forgets a golem's or a user's record (changed on another gateway). */
  forget(change: IdentityChange): void;
  /** A record changed here through another store (a death, an erasure): forgotten, and `onChanged` told. */
  changed(change: IdentityChange): void;
}

/** A credential found by its hash: an API key, or a wallet session. */
type Credential = { readonly kind: "key"; readonly key: ApiKey } | { readonly kind: "session"; readonly session: Session };

/** Records by id, each trusted until a time, at most `max` (the oldest dropped first). */
class Remembered<V> {
  readonly #map = new Map<string, { value: V; until: number }>();
  readonly #max: number;
  readonly #dropped: (id: string, value: V) => void;

  constructor(max: number, dropped: (id: string, value: V) => void = () => {}) {
    this.#max = max;
    this.#dropped = dropped;
  }

  get(id: string, now: number): V | undefined {
    const hit = this.#map.get(id);
    return hit && hit.until > now ? hit.value : undefined;
  }

  set(id: string, value: V, until: number): void {
    this.#map.delete(id);
    if (this.#map.size >= this.#max) {
      const oldest = this.#map.keys().next().value as string;
      const entry = this.#map.get(oldest);
      this.#map.delete(oldest);
      if (entry) this.#dropped(oldest, entry.value);
    }
    this.#map.set(id, { value, until });
  }

  delete(id: string): void {
    this.#map.delete(id);
  }

  clear(): void {
    this.#map.clear();
  }
}

/**
 * An IdentityStore whose lookups on the request path are remembered for `ttlMs`: credentials by
 * hash (API keys and wallet sessions), golems and users by id. Every authenticated request
 * looks its credential up, every write and deposit its golem (tenancy) and its owner (the
 * scrubber's wallets); on a macronode each is a PostgreSQL round trip, on a micronode a SQLite
 * read. What changes through this store is forgotten (or updated) at once: a revoked key, an
 * ended session, a tier, a golem made alive. The rest is told: `forgetKey`, `forgetSession` and
 * `forget` for changes made on another gateway (signals), `changed` for those this process makes
 * through other stores (a death, an erasure), `changedElsewhere` for another process writing to a
 * micronode's database. The TTL bounds what a lost signal can leave unseen. Unknown hashes and ids
 * are not remembered, so a key or golem created on another gateway is found at once. A hash found
 * as one kind of credential answers `undefined` for the other at once: tokens are random
 * secrets, so a session's hash is never a key's. Everything else passes straight through.
 */
export function cacheIdentity(store: IdentityStore, opts: IdentityCacheOptions): CachedIdentityStore {
  const ttl = opts.ttlMs ?? IDENTITY_CACHE_TTL_MS;
  const max = opts.maxEntries ?? 100_000;
  const hashOfId = new Map<string, string>();
  const credentials = new Remembered<Credential>(max, (_hash, c) => hashOfId.delete(idOf(c)));
  const golems = new Remembered<Golem>(max);
  const users = new Remembered<User>(max);
  let checkedAt = Number.NaN;

  /** The time of a lookup, after forgetting everything if another process wrote to the store. */
  const now = (): number => {
    const t = opts.clock.now();
    if (opts.changedElsewhere && t !== checkedAt) {
      checkedAt = t;
      if (opts.changedElsewhere()) {
        credentials.clear();
        hashOfId.clear();
        golems.clear();
        users.clear();
      }
    }
    return t;
  };
  const forgetCredential = (id: string) => {
    const hash = hashOfId.get(id);
    if (hash !== undefined) credentials.delete(hash);
    hashOfId.delete(id);
  };
  const remember = (hash: string, c: Credential, at: number) => {
    credentials.set(hash, c, at + ttl);
    hashOfId.set(idOf(c), hash);
  };
  const forget = (change: IdentityChange) => {
    if ("golemId" in change) golems.delete(change.golemId);
    else users.delete(change.userId);
  };

  const own = {
    forgetKey: forgetCredential,
    forgetSession: forgetCredential,
    forget,
    changed(change: IdentityChange): void {
      forget(change);
      opts.onChanged?.(change);
    },
    async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
      const at = now();
      const hit = credentials.get(keyHash, at);
      if (hit) return hit.kind === "key" ? hit.key : undefined;
      const key = await store.findApiKeyByHash(keyHash);
      if (key) remember(keyHash, { kind: "key", key }, at);
      return key;
    },
    async findSessionByHash(tokenHash: string): Promise<Session | undefined> {
      const at = now();
      const hit = credentials.get(tokenHash, at);
      if (hit) return hit.kind === "session" ? hit.session : undefined;
      const session = await store.findSessionByHash(tokenHash);
      if (session) remember(tokenHash, { kind: "session", session }, at);
      return session;
    },
    async revokeApiKey(id: string, at: number): Promise<ApiKey | undefined> {
      const out = await store.revokeApiKey(id, at);
      forgetCredential(id);
      opts.onRevoked?.(id);
      return out;
    },
    async deleteSession(id: string): Promise<Session | undefined> {
      const out = await store.deleteSession(id);
      forgetCredential(id);
      return out;
    },
    async getGolem(id: string): Promise<Golem | undefined> {
      const at = now();
      const hit = golems.get(id, at);
      if (hit) return hit;
      const golem = await store.getGolem(id);
      if (golem) golems.set(id, golem, at + ttl);
      return golem;
    },
    async markGolemAlive(id: string): Promise<void> {
      await store.markGolemAlive(id);
      // The store changes a provisioning golem only; a golem that died meanwhile is forgotten instead.
      const at = opts.clock.now();
      const hit = golems.get(id, at);
      if (hit?.status === "provisioning") golems.set(id, { ...hit, status: "alive" }, at + ttl);
      else golems.delete(id);
    },
    async getUser(id: string): Promise<User | undefined> {
      const at = now();
      const hit = users.get(id, at);
      if (hit) return hit;
      const user = await store.getUser(id);
      if (user) users.set(id, user, at + ttl);
      return user;
    },
    async setUserTier(id: string, tier: Tier, at: number): Promise<boolean> {
      const out = await store.setUserTier(id, tier, at);
      own.changed({ userId: id });
      return out;
    },
  };
  return new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(own, prop)) return own[prop as keyof typeof own];
      const value = Reflect.get(target, prop) as unknown;
      // Bound to the store itself, so its #private fields stay reachable.
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as CachedIdentityStore;
}

function idOf(c: Credential): string {
  return c.kind === "key" ? c.key.id : c.session.id;
}
