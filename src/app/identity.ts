import type { Config } from "../config/load.js";
import type { DeathStore } from "../core/coordination/death.js";
import { AuthService } from "../core/identity/auth-service.js";
import {
  type CachedIdentityStore,
  cacheIdentity,
  IDENTITY_CHANGED_SIGNAL,
  type IdentityChange,
  KEY_REVOKED_SIGNAL,
} from "../core/identity/credential-cache.js";
import type { ErasureStore } from "../core/identity/erasure.js";
import { IdentityService } from "../core/identity/identity-service.js";
import type { IdentityRecordIds } from "../core/identity/identity-store.js";
import { Tenancy } from "../core/identity/tenancy.js";
import type { Clock } from "../core/platform/clock.js";
import { base64url, randomBytes } from "../core/platform/crypto.js";
import { SESSION_ENDED_SIGNAL, type Signing } from "./signing.js";
import type { Storage } from "./storage.js";

/** Identity as wired for one process: users, keys and golems, credentials, tenancy. */
export interface IdentityStack {
  /** The identity store every service reads: credentials, golems and users remembered 5 s (cacheIdentity). */
  readonly store: CachedIdentityStore;
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
 * Builds the identity services over the profile's store, behind the identity cache: what a
 * request looks up before its work (its credential, the golem it names, the golem's owner) is
 * remembered 5 s (cacheIdentity). A change made here is forgotten here at once; on a macronode
 * the other gateways are told by signal (`key-revoked`, `session-ended`, `identity-changed`), the
 * 5 s bounding a lost one; on a micronode a `styx` command writing to the same database (an
 * offline `styx keys revoke`) empties the cache (SQLite's data_version, read at most once a ms).
 */
export async function buildIdentity(opts: {
  config: Config;
  clock: Clock;
  storage: Pick<Storage, "identity" | "audit" | "secrets" | "cluster" | "writtenElsewhere">;
  adminToken: string;
  /** The site sign-in messages name and the signature checks (resolveSigning). */
  signing: Pick<Signing, "site" | "messages" | "verifier">;
  /** Told of every identity record created (the public pipeline's directory). */
  onIdentifiers: (records: IdentityRecordIds[]) => void;
}): Promise<IdentityStack> {
  const { config, clock, storage, onIdentifiers } = opts;
  const signals = storage.cluster?.signals;
  const store = cacheIdentity(storage.identity, {
    clock,
    onRevoked: (id: string) => signals?.publish(KEY_REVOKED_SIGNAL, { key_id: id }),
    onChanged: (change) =>
      signals?.publish(IDENTITY_CHANGED_SIGNAL, "golemId" in change ? { golem_id: change.golemId } : { user_id: change.userId }),
    changedElsewhere: storage.writtenElsewhere,
  });
  const revokedElsewhere: ((keyId: string) => void)[] = [];
  signals?.subscribe(KEY_REVOKED_SIGNAL, (p) => {
    if (typeof p.key_id !== "string") return;
    store.forgetKey(p.key_id);
    for (const listener of revokedElsewhere) listener(p.key_id);
  });
  signals?.subscribe(SESSION_ENDED_SIGNAL, (p) => {
    if (typeof p.session_id === "string") store.forgetSession(p.session_id);
  });
  signals?.subscribe(IDENTITY_CHANGED_SIGNAL, (p, origin) => {
    if (origin === signals.origin) return;
    if (typeof p.golem_id === "string") store.forget({ golemId: p.golem_id });
    if (typeof p.user_id === "string") store.forget({ userId: p.user_id });
  });
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

/**
 * The death store, with the identity cache told of each golem whose death it records (the store
 * writes the golem row past the cache): a dead golem is refused at once here, and by signal on
 * the other gateways.
 */
export function forgettingDeaths(deaths: DeathStore, identity: Pick<CachedIdentityStore, "changed">): DeathStore {
  return overriding(deaths, {
    record: (...a: Parameters<DeathStore["record"]>) => told(identity, deaths.record(...a), { golemId: a[0].golemId }),
  });
}

/** The erasure store, with the identity cache told of each golem and user whose rows it removed (as `forgettingDeaths`). */
export function forgettingErasures(erasure: ErasureStore, identity: Pick<CachedIdentityStore, "changed">): ErasureStore {
  return overriding(erasure, {
    eraseGolemRecords: (...a: Parameters<ErasureStore["eraseGolemRecords"]>) =>
      told(identity, erasure.eraseGolemRecords(...a), { golemId: a[0] }),
    eraseUserRecords: (...a: Parameters<ErasureStore["eraseUserRecords"]>) =>
      told(identity, erasure.eraseUserRecords(...a), { userId: a[0] }),
  });
}

/** `p`'s outcome, after telling the cache of `change` (whether or not `p` failed: it may have written part). */
async function told<T>(identity: Pick<CachedIdentityStore, "changed">, p: Promise<T>, change: IdentityChange): Promise<T> {
  try {
    return await p;
  } finally {
    identity.changed(change);
  }
}

/** `target` with the methods of `own` in place of its own (the rest called on the target itself). */
function overriding<T extends object>(target: T, own: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.hasOwn(own, prop)) return own[prop as keyof T];
      const value = Reflect.get(t, prop) as unknown;
      return typeof value === "function" ? value.bind(t) : value;
    },
  });
}
