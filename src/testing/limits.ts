import { TIERS } from "../core/identity/types.js";
import { QUOTA_NAMES } from "../core/quota/limits.js";

/**
 * `STYX_QUOTAS` that moves every quota of every tier (SPEC §12) out of the way, for the proof
 * suite and the benchmarks, which write, deposit and hold sockets at rates no tenant is allowed
 * (they say so in their reports). test/integration/quotas.test.ts and socket-admission.test.ts
 * prove the quotas themselves.
 */
export const QUOTAS_OUT_OF_THE_WAY = JSON.stringify(
  Object.fromEntries(TIERS.map((tier) => [tier, Object.fromEntries(QUOTA_NAMES.map((q) => [q, 1_000_000_000_000]))])),
);
