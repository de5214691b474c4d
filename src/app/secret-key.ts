import { rmSync } from "node:fs";
import { join } from "node:path";
import type { Config } from "../config/load.js";
import { newSecretKeyText, SecretKey } from "../core/platform/secret-key.js";
import type { SecretStore } from "../core/platform/secret-store.js";

/** Name of the generated `STYX_SECRET_KEY` among a micronode's secrets (a 0600 file in the data dir). */
export const SECRET_KEY_FILE = "secret-key";

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
 * wins); amnesia keeps a new one in memory for the run. `secrets` must be the micronode's file
 * (or memory) store: a macronode's secret store is its database, where this key must never go,
 * so a macronode without the key is refused here too (config loading refuses it first).
 */
export async function resolveSecretKey(config: Config, secrets: SecretStore): Promise<ResolvedSecretKey> {
  if (config.secretKey) return { key: SecretKey.fromBase64(config.secretKey), source: "config" };
  if (config.profile === "macro") throw new Error("STYX_SECRET_KEY: required when STYX_PROFILE=macro");
  const { value, created } = await secrets.loadOrCreate(SECRET_KEY_FILE, newSecretKeyText);
  const key = SecretKey.fromBase64(value);
  if (config.amnesia) return { key, source: "ephemeral" };
  return { key, source: created ? "generated" : "stored", location: secrets.where(SECRET_KEY_FILE) };
}

/**
 * Deletes a micronode's old `lethe-salt` file: with it and the golems table, a copy of the data
 * dir linked every old source hash to its golem. (On a macronode migration 6 deletes the row.)
 */
export function forgetLegacySalt(config: Config): void {
  if (config.profile === "micro" && !config.amnesia) rmSync(join(config.dataDir, LEGACY_SALT_NAME), { force: true });
}
