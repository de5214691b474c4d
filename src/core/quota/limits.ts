import type { Tier } from "../identity/types.js";
import { TIERS } from "../identity/types.js";
import { StyxError } from "../platform/errors.js";
import type { BucketSpec } from "../platform/rate-limiter.js";

/**
 * Per-user limits (SPEC §12): the request bucket every credential of a user draws from, and the
 * quotas. A user has a tier; the tier's row of the table gives the defaults (`STYX_QUOTAS`
 * overrides cells, `STYX_RATE_LIMIT` the default tier's rate); the admin may override any cell
 * for one user.
 */

/** The quotas by the name a refusal's `details.quota` carries. */
export const QUOTA_NAMES = [
  "stored_bytes",
  "entries_per_day",
  "lethe_writes_per_day",
  "deposits_per_minute",
  "sockets_per_user",
  "sockets_per_key",
  "sockets_per_ip",
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** One tier's (or one user's) limits: the request bucket and every quota. */
export interface UserLimits {
  readonly rate: BucketSpec;
  readonly quotas: Readonly<Record<QuotaName, number>>;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function row(rate: number, burst: number, q: readonly number[]): UserLimits {
  const quotas = Object.fromEntries(QUOTA_NAMES.map((name, i) => [name, q[i] as number])) as Record<QuotaName, number>;
  return { rate: { rate, burst }, quotas };
}

/** SPEC §12's tier table. */
export const TIER_LIMITS: Readonly<Record<Tier, UserLimits>> = {
  observer: row(10, 20, [10 * MiB, 1_000, 0, 60, 10, 5, 50]),
  consumer: row(50, 100, [256 * MiB, 50_000, 100, 600, 100, 50, 200]),
  contributor: row(100, 200, [GiB, 200_000, 1_000, 3_000, 1_000, 500, 500]),
  steward: row(200, 400, [10 * GiB, 1_000_000, 10_000, 20_000, 20_000, 20_000, 20_000]),
};

/** A partial override of limits: any quota, and the bucket as `rate`/`burst` (requests per second). */
export interface LimitsOverride {
  readonly rate?: number | undefined;
  readonly burst?: number | undefined;
  readonly quotas?: Partial<Record<QuotaName, number>> | undefined;
}

/** `base` with `override`'s cells applied. */
export function applyOverride(base: UserLimits, override: LimitsOverride | undefined): UserLimits {
  if (!override) return base;
  const quotas = { ...base.quotas };
  for (const name of QUOTA_NAMES) {
    const v = override.quotas?.[name];
    if (v !== undefined) quotas[name] = v;
  }
  return { rate: { rate: override.rate ?? base.rate.rate, burst: override.burst ?? base.rate.burst }, quotas };
}

const RATE_KEYS = new Set(["rate", "burst"]);
const QUOTA_KEYS: ReadonlySet<string> = new Set(QUOTA_NAMES);

/**
 * Parses `STYX_QUOTAS`: a JSON object of tiers, each an object of cells — `rate`, `burst` and
 * quota names — with non-negative integers (rate and burst positive). Unknown tiers or cells throw,
 * naming them.
 */
export function parseQuotaOverrides(raw: string): Readonly<Partial<Record<Tier, LimitsOverride>>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('must be JSON, e.g. {"consumer":{"stored_bytes":1073741824}}');
  }
  if (!isPlainObject(parsed)) throw new Error("must be a JSON object of tiers");
  const out: Partial<Record<Tier, LimitsOverride>> = {};
  for (const [tier, cells] of Object.entries(parsed)) {
    if (!(TIERS as readonly string[]).includes(tier)) throw new Error(`names an unknown tier '${tier}' (${TIERS.join(", ")})`);
    if (!isPlainObject(cells)) throw new Error(`${tier} must be an object of cells`);
    const quotas: Partial<Record<QuotaName, number>> = {};
    let rate: number | undefined;
    let burst: number | undefined;
    for (const [cell, value] of Object.entries(cells)) {
      if (!RATE_KEYS.has(cell) && !QUOTA_KEYS.has(cell))
        throw new Error(`${tier} names an unknown cell '${cell}' (rate, burst, ${QUOTA_NAMES.join(", ")})`);
      const min = RATE_KEYS.has(cell) ? 1 : 0;
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min)
        throw new Error(`${tier}.${cell} must be an integer ≥ ${min}`);
      if (cell === "rate") rate = value;
      else if (cell === "burst") burst = value;
      else quotas[cell as QuotaName] = value;
    }
    out[tier as Tier] = { rate, burst, quotas };
  }
  return out;
}

/**
 * The tier table in force: SPEC §12's defaults, `rateLimit` (STYX_RATE_LIMIT) as the default
 * tier's bucket, then `overrides` (STYX_QUOTAS).
 */
export function tierTable(
  defaultTier: Tier,
  rateLimit: BucketSpec,
  overrides: Readonly<Partial<Record<Tier, LimitsOverride>>>,
): Readonly<Record<Tier, UserLimits>> {
  const table = {} as Record<Tier, UserLimits>;
  for (const tier of TIERS) {
    let limits = TIER_LIMITS[tier];
    if (tier === defaultTier) limits = { ...limits, rate: rateLimit };
    table[tier] = applyOverride(limits, overrides[tier]);
  }
  return table;
}

/**
 * Where a user's limits come from. The composition root's policy reads the user's tier and any
 * admin override (cached briefly); tests may give a fixed table.
 */
export interface QuotaPolicy {
  /** The limits in force for `userId` (an unknown user gets the default tier's). */
  limitsOf(userId: string): Promise<UserLimits>;
}

/** A policy by tier only: `tierOf` looks the user's tier up (undefined: the default tier). */
export function tierPolicy(
  table: Readonly<Record<Tier, UserLimits>>,
  defaultTier: Tier,
  tierOf: (userId: string) => Promise<Tier | undefined>,
): QuotaPolicy {
  return {
    async limitsOf(userId) {
      return table[(await tierOf(userId)) ?? defaultTier];
    },
  };
}

/**
 * The one `STYX_QUOTA_EXCEEDED` refusal (429): `details.quota`, `limit` and `used`; with a
 * `retryAfterMs` (a quota over a window) also `Retry-After` and `details.retry_after_ms`, as
 * rate refusals carry them.
 */
export function quotaExceeded(quota: QuotaName, limit: number, used: number, retryAfterMs?: number): StyxError {
  const details: Record<string, unknown> = { quota, limit, used };
  if (retryAfterMs === undefined) return new StyxError("STYX_QUOTA_EXCEEDED", `The '${quota}' quota (${limit}) is used up.`, { details });
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  details.retry_after_ms = ms;
  return new StyxError("STYX_QUOTA_EXCEEDED", `The '${quota}' quota (${limit}) is used up.`, {
    retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
    details,
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
