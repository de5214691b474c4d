import { type Static, type TSchema, Type } from "typebox";
import { TIERS, type Tier } from "../core/identity/types.js";
import { QUOTA_NAMES, type QuotaName } from "../core/quota/limits.js";
import { IsoTime, MAX_SAFE, Nullable } from "./common.js";

/** Wire schemas of per-user limits and usage (SPEC §12): `GET /v1/styx/usage`, `GET|PUT /v1/admin/users/:user_id/usage`. */

const Strict = { additionalProperties: false } as const;
/** Largest rate or burst an override may set (requests per second / tokens). */
export const MAX_OVERRIDE_RATE = 1_000_000;

const Count = (description: string) => Type.Integer({ minimum: 0, maximum: MAX_SAFE, description });
const RateCell = (description: string) => Type.Integer({ minimum: 1, maximum: MAX_OVERRIDE_RATE, description });

function byQuota<T extends TSchema>(make: (name: QuotaName) => T): Record<QuotaName, T> {
  return Object.fromEntries(QUOTA_NAMES.map((name) => [name, make(name)])) as Record<QuotaName, T>;
}

/** The cells of a per-user override: the request bucket and any quota. */
const overrideCells = {
  rate: Type.Optional(RateCell("Requests per second refilled into the user's bucket")),
  burst: Type.Optional(RateCell("The bucket's size")),
  ...byQuota((name) => Type.Optional(Count(`The '${name}' quota`))),
};

const TierName = (description: string) => Type.Unsafe<Tier>(Type.String({ enum: [...TIERS], description }));

/**
 * `PUT /v1/admin/users/:user_id/usage` body: optionally the user's tier, and the user's whole
 * override (cells left out follow the tier; `{}` clears every override and keeps the tier).
 */
export const UsageOverrideBody = Type.Object(
  { tier: Type.Optional(TierName("Move the user to this tier (left out: the tier stays)")), ...overrideCells },
  {
    ...Strict,
    description:
      "Optionally a new tier; and the user's override in full: cells left out follow the tier's defaults; {} clears the override",
  },
);
export type UsageOverrideBody = Static<typeof UsageOverrideBody>;

/** One quota of a usage view. */
const QuotaUsageView = Type.Object({
  limit: Type.Integer(),
  used: Nullable(
    Type.Integer({
      description:
        "sockets_per_user: the user's open sockets (the whole cluster on a macronode); null for sockets_per_key and sockets_per_ip (not one number of the user's)",
    }),
  ),
  resets_at: Type.Optional(IsoTime),
});

/** A user's usage and limits. */
export const UsageView = Type.Object({
  user_id: Type.String(),
  tier: TierName("The user's tier (SPEC §12)"),
  rate: Type.Object({ rate: Type.Number({ description: "requests per second" }), burst: Type.Integer() }),
  quotas: Type.Object(byQuota(() => QuotaUsageView)),
  override: Type.Object(overrideCells, { description: "The admin's override in force ({} when none)" }),
});
export type UsageView = Static<typeof UsageView>;
