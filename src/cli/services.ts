import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { DATABASE_FILE, openStorage, type Storage } from "../app/storage.js";
import type { Config } from "../config/load.js";
import { IdentityService } from "../core/identity/identity-service.js";
import { systemClock } from "../core/platform/clock.js";
import { initCrypto } from "../core/platform/crypto.js";
import { CliError } from "./args.js";

/** Runs `fn` against the configured store (the same data the server uses), then closes it. */
export async function withStore<T>(
  config: Config,
  fn: (s: { storage: Storage; identity: IdentityService }) => Promise<T>,
  opts: { readonly?: boolean } = {},
): Promise<T> {
  if (config.amnesia)
    throw new CliError("amnesia keeps nothing on disk: there is no store to manage offline; use the admin API of the running server");
  await initCrypto();
  if (config.profile === "micro") {
    const file = join(resolve(config.dataDir), DATABASE_FILE);
    if (opts.readonly && !existsSync(file)) throw new CliError(`no database at ${file} (is --data-dir / STYX_DATA_DIR the server's?)`);
  }
  const storage = await openStorage(config, systemClock, opts);
  try {
    return await fn({ storage, identity: new IdentityService({ store: storage.identity, audit: storage.audit, clock: systemClock }) });
  } finally {
    await storage.close();
  }
}
