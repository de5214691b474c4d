import { Type } from "typebox";
import { IsoTime, Nullable } from "./common.js";
import { PulseAnswer } from "./coordination.js";

/** Wire schemas of the admin dashboard (`/admin` and `GET /v1/admin/dashboard`). */

/** One domain × layer cell of the pheromone heat map. */
export const FieldCellView = Type.Object({
  domain: Type.String(),
  layer: Type.Union([Type.Literal("threat"), Type.Literal("opportunity"), Type.Literal("wisdom")]),
  level: Type.Number({ description: "Strongest current intensity in the cell, 0..1" }),
  live: Type.Integer({ description: "Live pheromones in the cell" }),
});

/** A recent death, of any user. */
export const RecentDeathView = Type.Object({
  golem_id: Type.String(),
  user_id: Type.String(),
  generation: Type.Integer(),
  death_cause: Type.String(),
  died_at: IsoTime,
  ticks_lived: Type.Integer(),
  warnings: Type.Integer(),
});

/** A usable API key, of any user (never its secret or hash). */
export const ActiveKeyView = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  golem_id: Nullable(Type.String()),
  name: Type.String(),
  scopes: Type.Array(Type.String()),
  created_at: IsoTime,
  expires_at: Nullable(IsoTime),
});

/** `GET /v1/admin/dashboard` query. */
export const DashboardQuery = Type.Object(
  {
    domains: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "Heat-map domains (strongest first), default 30" })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, description: "Recent deaths and active keys, default 20" })),
  },
  { additionalProperties: false },
);

/** `GET /v1/admin/dashboard` answer: one snapshot of the ecosystem for the operator. */
/** Revenue and pending settlement (SPEC §11.3) over the last 30 days; zeros while nothing was paid. */
export const DashboardPayments = Type.Object({
  pricing: Type.Boolean({ description: "STYX_PRICING is on" }),
  from: IsoTime,
  revenue_usd: Type.String({ description: "Payments accepted, settling or settled (charged)" }),
  settled_usd: Type.String(),
  failed_usd: Type.String(),
  by_operation: Type.Array(Type.Object({ operation: Type.String(), amount_usd: Type.String(), count: Type.Integer() })),
  pending: Type.Object({
    count: Type.Integer({ description: "Accepted and settling payments" }),
    settling: Type.Integer(),
    amount_usd: Type.String(),
    soonest_valid_before: Type.Union([IsoTime, Type.Null()], { description: "The first accepted authorization to expire" }),
  }),
});

export const DashboardAnswer = Type.Object({
  generated_at: IsoTime,
  events_total: Type.Integer({ description: "Events published on the fabric since this process started (rate = its change)" }),
  ws_connections: Type.Integer({ description: "Open sockets on this process" }),
  pheromones_active: Type.Integer(),
  field: Type.Array(FieldCellView),
  pulse: PulseAnswer,
  recent_deaths: Type.Array(RecentDeathView),
  active_keys: Type.Array(ActiveKeyView),
  payments: DashboardPayments,
  marketplace: Nullable(
    Type.Object(
      {
        active_listings: Type.Integer(),
        sales: Type.Integer({ description: "Unrevoked purchases" }),
        volume_usd: Type.String({ description: "Sum of their prices (owed to sellers)" }),
        fees_usd: Type.String({ description: "Sum of their protocol fees" }),
        due_payouts: Type.Integer(),
        due_usd: Type.String(),
      },
      { additionalProperties: false, description: "The marketplace (SPEC §16); null while it is off" },
    ),
  ),
  federation: Nullable(
    Type.Object(
      {
        upstream_state: Nullable(
          Type.String({ description: "connected, connecting, disconnected or refused; null without STYX_UPSTREAM_URL" }),
        ),
        upstream_instance_id: Nullable(Type.String()),
        outbox_depth: Type.Integer({ description: "Local records waiting for the upstream" }),
        last_error: Nullable(Type.String()),
        downstreams: Type.Integer({ description: "Downstream Styx linked here" }),
      },
      { additionalProperties: false, description: "Federation (SPEC §17); null with no upstream and no downstream" },
    ),
  ),
});

/** A static asset of the dashboard page (HTML, JavaScript or CSS text). */
export const DashboardAsset = Type.String({ description: "Static dashboard asset" });
