import { iso } from "../../core/platform/clock.js";
import { QUOTA_NAMES } from "../../core/quota/limits.js";
import type { UsageReport } from "../../core/quota/quota-service.js";
import type { UsageView } from "../../protocol/quota.js";

/** A user's usage and limits (`GET /v1/styx/usage`, the admin's usage routes). */
export function presentUsage(r: UsageReport): UsageView {
  const quotas = {} as UsageView["quotas"];
  for (const name of QUOTA_NAMES) {
    const q = r.quotas.get(name);
    quotas[name] = {
      limit: q?.limit ?? 0,
      used: q?.used ?? null,
      ...(q?.resetsAt === undefined ? {} : { resets_at: iso(q.resetsAt) }),
    };
  }
  const override: UsageView["override"] = {};
  if (r.override?.rate !== undefined) override.rate = r.override.rate;
  if (r.override?.burst !== undefined) override.burst = r.override.burst;
  for (const name of QUOTA_NAMES) {
    const v = r.override?.quotas?.[name];
    if (v !== undefined) override[name] = v;
  }
  return { user_id: r.userId, tier: r.tier, rate: { rate: r.rate.rate, burst: r.rate.burst }, quotas, override };
}
