import { openStorage, type Storage } from "../app/storage.js";
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
  const storage = openStorage(config, systemClock, opts);
  try {
    return await fn({ storage, identity: new IdentityService({ store: storage.identity, audit: storage.audit, clock: systemClock }) });
  } finally {
    await storage.close();
  }
}
