import { rmSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "../config/load.js";
import { keyedHash, newSecretKeyText, SecretKey } from "../core/platform/secret-key.js";
import type { SecretStore } from "../core/platform/secret-store.js";

/** Name of the generated `STYX_SECRET_KEY` among a micronode's secrets (a 0600 file in the data dir). */
export const SECRET_KEY_FILE = "secret-key";

/**
 * Name of the key's check value among the server's secrets: keyedHash(key, "styx:key-check"),
 * stored (data dir file, or the cluster's server_secrets) by the first process to start. It is
 * not the key and tells nothing about it (the keyed hashes in the database already are such
 * values); it lets a process started with another key refuse to run instead of silently
 * unlinking every source hash from its golem.
 */
export const KEY_CHECK_NAME = "secret-key-check";

/** The secret salt of the source hashes before the keyed hashes (SPEC §3); deleted wherever found. */
export const LEGACY_SALT_NAME = "lethe-salt";

/** The key in force and where it came from. */
export interface ResolvedSecretKey {
  readonly key: SecretKey;
  /** `config` (env/file), `stored` (the data dir's file), `generated` (new, stored now), `ephemeral` (amnesia). */
  readonly source: "config" | "stored" | "generated" | "ephemeral";
  /** The file it lives in, when it was generated or read from one. */
  readonly location?: string;
}

/**
 * Resolves `STYX_SECRET_KEY`: the configured value when set; otherwise (micronode only) the one
 * kept in the data dir, or a new one generated and stored there at once (0600, first writer
 * wins); amnesia keeps a new one in memory for the run. A macronode without the key is refused
 * (config loading refuses it first): its secret store is its database, where the key must
 * never go. Then the key is checked against the store's check value (KEY_CHECK_NAME, recorded
 * by the first start): another key than the one the store was written with is refused, naming
 * the two ways out. `initCrypto()` must have been awaited.
 */
export async function resolveSecretKey(config: Config, secrets: SecretStore): Promise<ResolvedSecretKey> {
  let resolved: ResolvedSecretKey;
  if (config.secretKey) resolved = { key: SecretKey.fromBase64(config.secretKey), source: "config" };
  else if (config.profile === "macro") throw new ConfigError(["STYX_SECRET_KEY: required when STYX_PROFILE=macro"]);
  else {
    const { value, created } = await secrets.loadOrCreate(SECRET_KEY_FILE, newSecretKeyText);
    const key = SecretKey.fromBase64(value);
    resolved = config.amnesia
      ? { key, source: "ephemeral" }
      : { key, source: created ? "generated" : "stored", location: secrets.where(SECRET_KEY_FILE) };
  }
  const check = keyCheck(resolved.key);
  const stored = await secrets.loadOrCreate(KEY_CHECK_NAME, () => check);
  if (stored.value !== check) {
    // A key generated just now for a store written under another one (restored without
    // --with-secrets) must not stay behind: the next start would read it and fail again.
    if (resolved.source === "generated" && resolved.location) rmSync(resolved.location, { force: true });
    throw wrongKey(secrets);
  }
  return resolved;
}

/**
 * The key of a store as a read-only tool (`styx audit verify`) finds it: the configured one,
 * else (micronode) the data dir's file. Creates nothing: no key, or another key than the one
 * the store's check value names, is a ConfigError saying which.
 */
export async function readSecretKey(config: Pick<Config, "secretKey">, secrets: SecretStore): Promise<ResolvedSecretKey> {
  let resolved: ResolvedSecretKey;
  if (config.secretKey) resolved = { key: SecretKey.fromBase64(config.secretKey), source: "config" };
  else {
    const stored = await secrets.load(SECRET_KEY_FILE);
    if (stored === undefined)
      throw new ConfigError([
        `STYX_SECRET_KEY: not set, and there is no ${secrets.where(SECRET_KEY_FILE)}: give the key the server runs with (it keys the audit chain and every keyed hash)`,
      ]);
    resolved = { key: SecretKey.fromBase64(stored), source: "stored", location: secrets.where(SECRET_KEY_FILE) };
  }
  const check = await secrets.load(KEY_CHECK_NAME);
  if (check !== undefined && check !== keyCheck(resolved.key)) throw wrongKey(secrets);
  return resolved;
}

/** The key's check value (KEY_CHECK_NAME). */
function keyCheck(key: SecretKey): string {
  return keyedHash(key, "styx:key-check");
}

function wrongKey(secrets: SecretStore): ConfigError {
  return new ConfigError([
    `STYX_SECRET_KEY: not the key this store was written with (${secrets.where(KEY_CHECK_NAME)} holds another key's check value). ` +
      "Every gateway of a cluster needs the same key, and a micronode restored without --with-secrets needs its original key in STYX_SECRET_KEY. " +
      `To start over with a new key instead (every existing source hash then stays unlinked from its golem for good, and the audit records written under the old key no longer verify), delete ${KEY_CHECK_NAME} there.`,
  ]);
}

/**
 * Deletes a micronode's old `lethe-salt` file: with it and the golems table, a copy of the data
 * dir linked every old source hash to its golem. (On a macronode migration 6 deletes the row.)
 */
export function forgetLegacySalt(config: Config): void {
  if (config.profile === "micro" && !config.amnesia) rmSync(join(config.dataDir, LEGACY_SALT_NAME), { force: true });
}
