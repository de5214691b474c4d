import type { Config } from "../config/load.js";
import { newSecret } from "../core/identity/identity-service.js";
import type { SecretStore } from "../core/platform/secret-store.js";

/** The admin token in force and where it came from. */
export interface AdminToken {
  readonly token: string;
  /** `config` (env/file), `stored` (kept from before), `generated` (new, stored now), `ephemeral` (amnesia, never written). */
  readonly source: "config" | "stored" | "generated" | "ephemeral";
  /** Where it is stored (a 0600 file, or the cluster's database), when it is. */
  readonly location?: string;
}

/** Name of the generated admin token among the server's secrets (a file in the micronode data dir). */
export const ADMIN_TOKEN_FILE = "admin-token";

/**
 * Resolves the admin token: `STYX_ADMIN_TOKEN` when set; otherwise the stored one; otherwise a
 * new one, stored at once (a 0600 file in the data dir, the cluster's database in a macronode,
 * memory only under amnesia).
 */
export async function resolveAdminToken(config: Config, secrets: SecretStore): Promise<AdminToken> {
  if (config.adminToken) return { token: config.adminToken, source: "config" };
  const { value, created } = await secrets.loadOrCreate(ADMIN_TOKEN_FILE, newSecret);
  if (config.amnesia) return { token: value, source: "ephemeral" };
  return { token: value, source: created ? "generated" : "stored", location: secrets.where(ADMIN_TOKEN_FILE) };
}
