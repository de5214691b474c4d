import type { Config } from "../config/load.js";
import { AuthService } from "../core/identity/auth-service.js";
import { cacheCredentials, KEY_REVOKED_SIGNAL } from "../core/identity/credential-cache.js";
import { IdentityService } from "../core/identity/identity-service.js";
import type { IdentityRecordIds, IdentityStore } from "../core/identity/identity-store.js";
import { Tenancy } from "../core/identity/tenancy.js";
import type { Clock } from "../core/platform/clock.js";
import { base64url, randomBytes } from "../core/platform/crypto.js";
import type { Signing } from "./signing.js";
import type { Storage } from "./storage.js";

/** Identity as wired for one process: users, keys and golems, credentials, tenancy. */
export interface IdentityStack {
  /** The identity store every service reads: on a macronode, API-key lookups are remembered 5 s. */
  readonly store: IdentityStore;
  readonly service: IdentityService;
  readonly auth: AuthService;
  readonly tenancy: Tenancy;
  /** Calls `listener` with every key revoked, here or (macronode) on another gateway or by `styx keys revoke`. */
  onKeyRevoked(listener: (keyId: string) => void): void;
}

/** How long a wallet challenge may be answered (ms). */
const CHALLENGE_TTL_MS = 5 * 60_000;

/** Name of the key that signs wallet challenges, among the server's secrets. */
const CHALLENGE_KEY = "challenge-key";

/**
 * Builds the identity services over the profile's store. Macronode: every request looks its key
 * up in PostgreSQL, so lookups are remembered for 5 s and forgotten at once on revocation — on
 * every gateway, by signal. A micronode's lookup is a local SQLite read, and an offline
 * `styx keys revoke` must take effect at once: no cache there.
 */
export async function buildIdentity(opts: {
  config: Config;
  clock: Clock;
  storage: Pick<Storage, "identity" | "audit" | "secrets" | "cluster">;
  adminToken: string;
  /** The site sign-in messages name and the signature checks (resolveSigning). */
  signing: Pick<Signing, "site" | "messages" | "verifier">;
  /** Told of every identity record created (the public pipeline's directory). */
  onIdentifiers: (records: IdentityRecordIds[]) => void;
}): Promise<IdentityStack> {
  const { config, clock, storage, onIdentifiers } = opts;
  const signals = storage.cluster?.signals;
  const cached = signals
    ? cacheCredentials(storage.identity, {
        clock,
        onRevoked: (id: string) => signals.publish(KEY_REVOKED_SIGNAL, { key_id: id }),
      })
    : undefined;
  const revokedElsewhere: ((keyId: string) => void)[] = [];
  signals?.subscribe(KEY_REVOKED_SIGNAL, (p) => {
    if (typeof p.key_id !== "string") return;
    cached?.forget(p.key_id);
    for (const listener of revokedElsewhere) listener(p.key_id);
  });
  const store = cached ?? storage.identity;
  const service = new IdentityService({ store, audit: storage.audit, clock, onIdentifiers, defaultTier: config.quotas.defaultTier });
  const challengeKey = await storage.secrets.loadOrCreate(CHALLENGE_KEY, () => base64url(randomBytes(32)));
  const auth = new AuthService({
    onIdentifiers,
    store,
    audit: storage.audit,
    clock,
    verifier: opts.signing.verifier,
    messages: opts.signing.messages,
    options: {
      adminToken: opts.adminToken,
      challengeTtlMs: CHALLENGE_TTL_MS,
      challengeKey: challengeKey.value,
      site: opts.signing.site,
      sessionTtlMs: config.sessionTtlMs,
    },
  });
  return {
    store,
    service,
    auth,
    tenancy: new Tenancy({ identity: store, audit: storage.audit }),
    onKeyRevoked(listener) {
      service.onKeyRevoked(listener);
      revokedElsewhere.push(listener);
    },
  };
}
