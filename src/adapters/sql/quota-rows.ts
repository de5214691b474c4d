import { type LimitsOverride, QUOTA_NAMES, type QuotaName } from "../../core/quota/limits.js";

/** An override as the `user_quotas.override` column holds it: JSON text of its cells (null: none). */
export function encodeOverride(o: LimitsOverride | undefined): string | null {
  if (!o) return null;
  return JSON.stringify({ rate: o.rate, burst: o.burst, quotas: o.quotas ?? {} });
}

/** The column back to an override; cells other than the known ones are ignored. */
export function decodeOverride(text: unknown): LimitsOverride | undefined {
  if (typeof text !== "string") return undefined;
  const raw = JSON.parse(text) as { rate?: number; burst?: number; quotas?: Record<string, number> };
  const quotas: Partial<Record<QuotaName, number>> = {};
  for (const name of QUOTA_NAMES) {
    const v = raw.quotas?.[name];
    if (typeof v === "number") quotas[name] = v;
  }
  return { rate: raw.rate, burst: raw.burst, quotas };
}
