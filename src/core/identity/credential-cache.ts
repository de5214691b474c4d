import type { Clock } from "../platform/clock.js";
import type { IdentityStore } from "./identity-store.js";
import type { ApiKey } from "./types.js";

/** Signal topic on which a macronode tells every gateway (and CLI) of a revoked key: `{ key_id }`. */
export const KEY_REVOKED_SIGNAL = "key-revoked";

/** Options of the credential cache. */
export interface CredentialCacheOptions {
  readonly clock: Clock;
  /** How long a looked-up key is trusted without asking the store again (ms, default 5,000). */
  readonly ttlMs?: number;
  /** Most keys held (default 100,000); beyond it the oldest go first. */
  readonly maxKeys?: number;
  /** Called with the id of every key revoked through this store (the macronode tells the other gateways). */
  readonly onRevoked?: (keyId: string) => void;
}

/**
 * An IdentityStore whose API-key lookups by hash are remembered for `ttlMs`: every
 * authenticated request looks its key up, and on a macronode that is a PostgreSQL round trip.
 * A revocation through this store forgets the key at once; `forget` does it for revocations
 * made elsewhere (another gateway's signal), and the TTL bounds how long any other change
 * (a lost signal, an edit behind Styx's back) can go unseen. Unknown hashes are not cached, so
 * a key created on another gateway works at once. Everything else passes straight through.
 */
export function cacheCredentials(store: IdentityStore, opts: CredentialCacheOptions): IdentityStore & { forget(keyId: string): void } {
  const ttl = opts.ttlMs ?? 5000;
  const max = opts.maxKeys ?? 100_000;
  const byHash = new Map<string, { key: ApiKey; until: number }>();
  const hashOfId = new Map<string, string>();
  const forget = (keyId: string) => {
    const hash = hashOfId.get(keyId);
    if (hash !== undefined) byHash.delete(hash);
    hashOfId.delete(keyId);
  };
  const own = {
    forget,
    async findApiKeyByHash(keyHash: string): Promise<ApiKey | undefined> {
      const now = opts.clock.now();
      const hit = byHash.get(keyHash);
      if (hit && hit.until > now) return hit.key;
      const key = await store.findApiKeyByHash(keyHash);
      if (!key) return undefined;
      if (byHash.size >= max) {
        const oldest = byHash.keys().next().value as string;
        const dropped = byHash.get(oldest);
        byHash.delete(oldest);
        if (dropped) hashOfId.delete(dropped.key.id);
      }
      byHash.delete(keyHash);
      byHash.set(keyHash, { key, until: now + ttl });
      hashOfId.set(key.id, keyHash);
      return key;
    },
    async revokeApiKey(id: string, at: number): Promise<ApiKey | undefined> {
      const out = await store.revokeApiKey(id, at);
      forget(id);
      opts.onRevoked?.(id);
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
  }) as IdentityStore & { forget(keyId: string): void };
}
