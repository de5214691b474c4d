import { readFileSync, writeFileSync } from "node:fs";

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
