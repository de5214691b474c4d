import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretStore } from "../core/platform/secret-store.js";

/**
 * Reads a secret kept in a file, or creates it (mode 0600, never overwriting a file another
 * process created first). Returns the secret and whether it was created now.
 */
export function loadOrCreateSecret(file: string, make: () => string): { value: string; created: boolean } {
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (stored.length >= 16) return { value: stored, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const value = make();
  try {
    writeFileSync(file, `${value}\n`, { mode: 0o600, flag: "wx" });
    return { value, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return { value: readFileSync(file, "utf8").trim(), created: false };
    throw err;
  }
}

/** Secrets as 0600 files in `dir`. */
export function fileSecrets(dir: string): SecretStore {
  return {
    loadOrCreate: async (name, make) => loadOrCreateSecret(join(dir, name), make),
    where: (name) => join(dir, name),
  };
}

/** Secrets that live as long as the process (amnesia). */
export function memorySecrets(): SecretStore {
  const held = new Map<string, string>();
  return {
    async loadOrCreate(name, make) {
      const known = held.get(name);
      if (known) return { value: known, created: false };
      const value = make();
      held.set(name, value);
      return { value, created: true };
    },
    where: () => "memory (amnesia: gone at exit)",
  };
}
