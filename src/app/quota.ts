import type { Config } from "../config/load.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { Signals } from "../core/platform/signals.js";
import { QuotaService } from "../core/quota/quota-service.js";
import { Fallback } from "./fallback-rate-limiter.js";
import type { Storage } from "./storage.js";

/** The signal that tells the other gateways a user's override changed (payload `{user_id}`). */
export const QUOTA_OVERRIDE_SIGNAL = "quota-override";

/**
 * buildQuotas: the quota service over the profile's stores (overrides and blob bytes in the
 * database, windowed counters in memory or Redis). An override set here is forgotten at once
 * here and, on a macronode, on the other gateways by the `quota-override` signal (a lost
 * signal is covered by the limits cache's 5 s). The Redis counters' fallback is logged.
 */
export function buildQuotas(opts: {
  config: Config;
  storage: Pick<Storage, "quotas" | "counters" | "entries" | "audit" | "socketCounts">;
  users: Pick<IdentityStore, "getUser" | "setUserTier">;
  clock: Clock;
  signals: Signals | undefined;
  warn: (msg: string, err?: unknown) => void;
}): QuotaService {
  const { config, storage, signals } = opts;
  const service = new QuotaService({
    table: config.quotas.table,
    defaultTier: config.quotas.defaultTier,
    users: opts.users,
    store: storage.quotas,
    counters: storage.counters,
    entries: storage.entries,
    sockets: storage.socketCounts,
    audit: storage.audit,
    clock: opts.clock,
    onOverride: (userId) => signals?.publish(QUOTA_OVERRIDE_SIGNAL, { user_id: userId }),
  });
  signals?.subscribe(QUOTA_OVERRIDE_SIGNAL, (p) => {
    if (typeof p.user_id === "string") service.forget(p.user_id);
  });
  if (storage.counters instanceof Fallback)
    storage.counters.watch({
      degraded: (err) => opts.warn("quota counters fall back to this gateway's own: the shared store (Redis) failed", err),
      restored: () => opts.warn("shared quota counters (Redis) restored"),
    });
  return service;
}
