import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretStore } from "../core/platform/secret-store.js";

/** Reads a secret kept in a file; undefined when there is no such file (or it is too short to be one). */
export function loadSecret(file: string): string | undefined {
  try {
    const stored = readFileSync(file, "utf8").trim();
    return stored.length >= 16 ? stored : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    return undefined;
  }
}

/**
 * Reads a secret kept in a file, or creates it (mode 0600, never overwriting a file another
 * process created first). Returns the secret and whether it was created now.
 */
export function loadOrCreateSecret(file: string, make: () => string): { value: string; created: boolean } {
  const stored = loadSecret(file);
  if (stored !== undefined) return { value: stored, created: false };
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
    load: async (name) => loadSecret(join(dir, name)),
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
    load: async (name) => held.get(name),
    where: () => "memory (amnesia: gone at exit)",
  };
}
