import { join, resolve } from "node:path";
import type { Config } from "../config/load.js";
import { newSecret } from "../core/identity/identity-service.js";
import { loadOrCreateSecret } from "./secrets.js";

/** The admin token in force and where it came from. */
export interface AdminToken {
  readonly token: string;
  /** `config` (env/file), `stored` (data dir), `generated` (new, written 0600), `ephemeral` (amnesia, never written). */
  readonly source: "config" | "stored" | "generated" | "ephemeral";
  /** The file holding it, when it is stored. */
  readonly file?: string;
}

/** File name of the generated admin token inside the data dir. */
export const ADMIN_TOKEN_FILE = "admin-token";

/**
 * Resolves the admin token: `STYX_ADMIN_TOKEN` when set; otherwise the one stored in the data
 * dir; otherwise a new one, written with mode 0600 (or kept in memory only under amnesia).
 * Call after the data dir exists.
 */
export function resolveAdminToken(config: Config): AdminToken {
  if (config.adminToken) return { token: config.adminToken, source: "config" };
  if (config.amnesia) return { token: newSecret(), source: "ephemeral" };
  const file = join(resolve(config.dataDir), ADMIN_TOKEN_FILE);
  const { value, created } = loadOrCreateSecret(file, newSecret);
  return { token: value, source: created ? "generated" : "stored", file };
}
