import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import type { DeathStore } from "../../../core/coordination/death.js";
import type { PheromoneService } from "../../../core/coordination/pheromone-service.js";
import { type PulseService, pulseJson } from "../../../core/coordination/pulse-service.js";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import type { MarketplaceStatsSource } from "../../../core/marketplace/store.js";
import type { PaymentLedger } from "../../../core/payments/ledger.js";
import { atomicToUsd } from "../../../core/payments/money.js";
import type { Clock } from "../../../core/platform/clock.js";
import { iso } from "../../../core/platform/clock.js";
import type { FederationAdminView } from "../../../protocol/federation.js";
import type { Metrics } from "../../metrics.js";
import { presentActiveKey, presentFieldCell, presentRecentDeath } from "../../presenters/dashboard.js";
import type { FederationAdminDeps } from "../federation/admin.routes.js";
import { assetSchema, dashboardDataSchema } from "./dashboard.schema.js";

/** What the dashboard reads. */
export interface DashboardDeps {
  readonly clock: Clock;
  readonly metrics: Metrics;
  /** Open sockets on this process. */
  readonly connections: () => number;
  readonly pheromones: Pick<PheromoneService, "field" | "countActive">;
  readonly pulse: Pick<PulseService, "current">;
  readonly deaths: Pick<DeathStore, "recent">;
  readonly identity: Pick<IdentityStore, "listActiveApiKeys">;
  /** The payments ledger (none under amnesia) and whether pricing is on: the revenue and pending-settlement panels. */
  readonly ledger: Pick<PaymentLedger, "summary" | "pending"> | undefined;
  readonly pricing: boolean;
  /** The marketplace's figures; undefined while it is off. */
  readonly marketplace?: MarketplaceStatsSource | undefined;
  /** Federation's admin view (its link up and the downstreams), for the federation panel. */
  readonly federation?: FederationAdminDeps | undefined;
}

const DAY = 86_400_000;
const CHARGED = new Set(["accepted", "settling", "settled"]);

/** Revenue and pending settlement of the last 30 days, from the ledger's summary. */
async function paymentsPanel(deps: DashboardDeps) {
  const now = deps.clock.now();
  const from = now - 30 * DAY;
  const [rows, pending] = deps.ledger
    ? await Promise.all([deps.ledger.summary(from, now + 1), deps.ledger.pending()])
    : [[], { count: 0, soonestValidBefore: null }];
  const sum = (pick: (status: string) => boolean) => rows.filter((r) => pick(r.status)).reduce((n, r) => n + r.amount, 0);
  const byOp = new Map<string, { amount: number; count: number }>();
  for (const r of rows) {
    if (!CHARGED.has(r.status)) continue;
    const cell = byOp.get(r.operation) ?? { amount: 0, count: 0 };
    cell.amount += r.amount;
    cell.count += r.count;
    byOp.set(r.operation, cell);
  }
  const count = (status: string) => rows.filter((r) => r.status === status).reduce((n, r) => n + r.count, 0);
  return {
    pricing: deps.pricing,
    from: iso(from),
    revenue_usd: atomicToUsd(sum((s) => CHARGED.has(s))),
    settled_usd: atomicToUsd(sum((s) => s === "settled")),
    failed_usd: atomicToUsd(sum((s) => s === "failed")),
    by_operation: [...byOp]
      .sort((a, b) => b[1].amount - a[1].amount)
      .map(([operation, c]) => ({ operation, amount_usd: atomicToUsd(c.amount), count: c.count })),
    pending: {
      count: count("accepted") + count("settling"),
      settling: count("settling"),
      amount_usd: atomicToUsd(sum((s) => s === "accepted" || s === "settling")),
      soonest_valid_before: pending.soonestValidBefore === null ? null : iso(pending.soonestValidBefore * 1000),
    },
  };
}

const page = { auth: "public" } as const;
const admin = { auth: "admin" } as const;

/** The page's files: read once, from beside this module (src/ under tsx, dist/ once built). */
function assets(): Record<string, { type: string; body: string }> {
  const own = (name: string) => readFileSync(new URL(`../../dashboard/${name}`, import.meta.url), "utf8");
  const uplot = (name: string) => readFileSync(createRequire(import.meta.url).resolve(`uplot/dist/${name}`), "utf8");
  return {
    "/admin": { type: "text/html; charset=utf-8", body: own("index.html") },
    "/admin/dashboard.js": { type: "text/javascript; charset=utf-8", body: own("dashboard.js") },
    "/admin/dashboard.css": { type: "text/css; charset=utf-8", body: own("dashboard.css") },
    "/admin/uplot.js": { type: "text/javascript; charset=utf-8", body: uplot("uPlot.iife.min.js") },
    "/admin/uplot.css": { type: "text/css; charset=utf-8", body: uplot("uPlot.min.css") },
  };
}

/**
 * `/admin`: the operator's dashboard. The page and its scripts are public and hold nothing;
 * every figure comes from `GET /v1/admin/dashboard` (admin token) and the socket.
 */
export function dashboardRoutes(app: FastifyInstance, deps: DashboardDeps): void {
  for (const [url, asset] of Object.entries(assets())) {
    app.get(
      url,
      { config: page, schema: assetSchema(`Dashboard page file ${url}`, asset.type.split(";")[0] as string) },
      async (_req, reply) => {
        // The page ships with the server; a browser may keep it for a minute.
        reply.type(asset.type).header("cache-control", "public, max-age=60").header("x-content-type-options", "nosniff");
        return asset.body;
      },
    );
  }

  app.get<{ Querystring: { domains?: number; limit?: number } }>(
    "/v1/admin/dashboard",
    { config: admin, schema: dashboardDataSchema },
    async (req) => {
      const limit = req.query.limit ?? 20;
      const [events, field, active, pulse, deaths, keys, payments, market, federation] = await Promise.all([
        deps.metrics.events.get(),
        deps.pheromones.field(req.query.domains ?? 30),
        deps.pheromones.countActive(),
        deps.pulse.current(),
        deps.deaths.recent(limit),
        deps.identity.listActiveApiKeys(deps.clock.now(), limit),
        paymentsPanel(deps),
        deps.marketplace?.stats(deps.clock.now()),
        deps.federation?.view(),
      ]);
      return {
        generated_at: iso(deps.clock.now()),
        events_total: events.values.reduce((sum, v) => sum + v.value, 0),
        ws_connections: deps.connections(),
        pheromones_active: active,
        field: field.map(presentFieldCell),
        pulse: pulseJson(pulse),
        recent_deaths: deaths.map(presentRecentDeath),
        active_keys: keys.map(presentActiveKey),
        payments,
        marketplace: market
          ? {
              active_listings: market.activeListings,
              sales: market.sales,
              volume_usd: atomicToUsd(market.volume),
              fees_usd: atomicToUsd(market.fees),
              due_payouts: market.duePayouts,
              due_usd: atomicToUsd(market.dueAmount),
            }
          : null,
        federation: federationPanel(federation),
      };
    },
  );
}

/** The federation panel's figures: the link up and the number of downstreams; null when this Styx federates with no one. */
function federationPanel(v: Static<typeof FederationAdminView> | undefined) {
  if (!v || (v.upstream === null && v.downstreams.length === 0)) return null;
  return {
    upstream_state: v.upstream?.state ?? null,
    upstream_instance_id: v.upstream?.instance_id ?? null,
    outbox_depth: v.upstream?.outbox_depth ?? 0,
    last_error: v.upstream?.last_error ?? null,
    downstreams: v.downstreams.length,
  };
}
