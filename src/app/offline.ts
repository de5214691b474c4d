import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Config } from "../config/load.js";
import { KEY_REVOKED_SIGNAL } from "../core/identity/credential-cache.js";
import { type CreateKeyInput, type CreateUserInput, IdentityService, type IssuedKey } from "../core/identity/identity-service.js";
import type { ApiKey, User } from "../core/identity/types.js";
import type { AuditVerification, ChainHead } from "../core/platform/audit.js";
import { systemClock } from "../core/platform/clock.js";
import { initCrypto } from "../core/platform/crypto.js";
import { OperatorError } from "./operator-error.js";
import { DATABASE_FILE, openStorage, type Storage } from "./storage.js";

/** The audit actor of every change made offline. */
const ACTOR = "cli";

/** Runs `fn` against the configured store (the same data the server uses), then closes it. */
async function withStore<T>(
  config: Config,
  fn: (s: { storage: Storage; identity: IdentityService }) => Promise<T>,
  opts: { readonly?: boolean } = {},
): Promise<T> {
  if (config.amnesia)
    throw new OperatorError("amnesia keeps nothing on disk: there is no store to manage offline; use the admin API of the running server");
  await initCrypto();
  if (config.profile === "micro") {
    const file = join(resolve(config.dataDir), DATABASE_FILE);
    if (opts.readonly && !existsSync(file)) throw new OperatorError(`no database at ${file} (is --data-dir / STYX_DATA_DIR the server's?)`);
  }
  const storage = await openStorage(config, systemClock, opts);
  try {
    return await fn({ storage, identity: new IdentityService({ store: storage.identity, audit: storage.audit, clock: systemClock }) });
  } finally {
    await storage.close();
  }
}

/** Creates a user in the configured store (audited as `cli`). */
export function createUser(config: Config, input: CreateUserInput): Promise<User> {
  return withStore(config, ({ identity }) => identity.createUser(ACTOR, input));
}

/** Creates an API key of `userId`; the secret is in the answer and nowhere else. */
export function createKey(config: Config, userId: string, input: CreateKeyInput): Promise<IssuedKey> {
  return withStore(config, ({ identity }) => identity.createKey(ACTOR, userId, input));
}

/** The API keys of `userId` (never their secrets). */
export function listKeys(config: Config, userId: string): Promise<ApiKey[]> {
  return withStore(config, ({ identity }) => identity.listKeys(ACTOR, userId));
}

/**
 * Revokes an API key. Macronode: the running gateways remember keys for 5 s and are told at
 * once (their sockets on the key close); a micronode server sees another process's commit to
 * its database (SQLite's data_version) before its next lookup, and forgets what it cached.
 */
export function revokeKey(config: Config, keyId: string): Promise<ApiKey> {
  return withStore(config, async ({ identity, storage }) => {
    const revoked = await identity.revokeKey(ACTOR, keyId);
    storage.cluster?.signals.publish(KEY_REVOKED_SIGNAL, { key_id: keyId });
    return revoked;
  });
}

/**
 * Walks the keyed hash chain of the configured store's audit log, read only, under the key the
 * store was written with (STYX_SECRET_KEY, else a micronode's data dir file). `kept`: a head an
 * earlier verify printed, which the log must still hold (detects the newest records deleted).
 */
export function verifyAuditLog(config: Config, kept?: ChainHead): Promise<AuditVerification> {
  return withStore(config, ({ storage }) => storage.audit.verify(kept), { readonly: true });
}
