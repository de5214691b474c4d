import { NodeEscrow } from "../adapters/crypto/node-escrow.js";
import { HttpUpstreamMarket } from "../adapters/http/upstream-market.js";
import type { Config } from "../config/load.js";
import type { DeathStore } from "../core/coordination/death.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { buyerReference } from "../core/federation/records.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { Tenancy } from "../core/identity/tenancy.js";
import type { BlobService } from "../core/knowledge/blob-service.js";
import { MarketplaceService } from "../core/marketplace/marketplace-service.js";
import { PayoutLedger } from "../core/marketplace/payout-ledger.js";
import type { MarketplaceStore } from "../core/marketplace/store.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import type { PublicPipeline } from "../core/privacy/public-pipeline.js";
import type { CreateListingBody } from "../protocol/marketplace.js";
import type { Metrics } from "../server/metrics.js";
import type { PricedRoute } from "../server/plugins/payments.js";
import { listingInput, type MarketplaceRouteDeps } from "../server/routes/marketplace/marketplace.routes.js";
import type { UpstreamMarketRouteDeps } from "../server/routes/marketplace/upstream.routes.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { Payments } from "./payments.js";

/** The marketplace's background tasks (the leader's). */
export const MARKETPLACE_TASKS = {
  expiry: "marketplace-expiry",
  purge: "marketplace-purge",
  payouts: "marketplace-payouts",
} as const;

/** What the marketplace adds to a Styx: its routes' dependencies and the routes it prices. */
export interface Marketplace {
  readonly routes: MarketplaceRouteDeps;
  readonly priced: ReadonlyMap<string, PricedRoute>;
}

/**
 * The marketplace (SPEC §16), or undefined while STYX_MARKETPLACE=0 (config refuses it without
 * pricing). Escrow keys derive from STYX_SECRET_KEY per kid; purchases are reconciled with each
 * settlement outcome and again by the payout task; expiry runs hourly, purge daily, payouts
 * every few minutes (a seller past the threshold at once, everyone each interval).
 */
export function buildMarketplace(deps: {
  config: Config;
  store: MarketplaceStore;
  payments: Payments | undefined;
  secret: SecretKey;
  identity: Pick<IdentityStore, "getUser" | "getGolem">;
  tenancy: Pick<Tenancy, "golem" | "ownerOnly">;
  deaths: Pick<DeathStore, "find">;
  blobs: Pick<BlobStore, "stat" | "read">;
  blobService: Pick<BlobService, "releaseListed">;
  pipeline: PublicPipeline;
  audit: Pick<AuditLog, "append">;
  bus: Pick<EventBus, "publish">;
  clock: Clock;
  metrics: Metrics;
  scheduler: Pick<Scheduler, "add">;
  warn: (msg: string, err?: unknown) => void;
}): Marketplace | undefined {
  const m = deps.config.marketplace;
  const payments = deps.payments;
  if (!m || !payments) return undefined;
  const { metrics } = deps;
  const service = new MarketplaceService({
    store: deps.store,
    escrow: new NodeEscrow(deps.secret, m.escrowKids),
    identity: deps.identity,
    tenancy: deps.tenancy,
    deaths: deps.deaths,
    blobs: deps.blobs,
    pipeline: deps.pipeline,
    secret: deps.secret,
    audit: deps.audit,
    bus: deps.bus,
    clock: deps.clock,
    settings: { listingTtlMs: m.listingTtlMs, listingMaxTtlMs: m.listingMaxTtlMs },
    observe: { purchase: (outcome) => metrics.marketplacePurchases.inc({ outcome }), fee: (atomic) => metrics.marketplaceFees.inc(atomic) },
    warn: deps.warn,
  });
  const ledger = new PayoutLedger({
    store: deps.store,
    payments: payments.ledger,
    audit: deps.audit,
    bus: deps.bus,
    clock: deps.clock,
    settings: { payoutThreshold: m.payoutThreshold, payoutIntervalMs: m.payoutIntervalMs, retentionMs: m.retentionMs },
    observe: { purchase: (outcome) => metrics.marketplacePurchases.inc({ outcome }) },
    release: (userId, cid) => deps.blobService.releaseListed(userId, cid),
    warn: deps.warn,
  });
  payments.onOutcome(async (p, outcome) => {
    if (p.purpose === "purchase") await ledger.onPayment(p.id, outcome);
  });
  deps.scheduler.add({ name: MARKETPLACE_TASKS.expiry, everyMs: 60 * 60_000, run: () => ledger.expire() });
  deps.scheduler.add({ name: MARKETPLACE_TASKS.purge, everyMs: 24 * 60 * 60_000, run: () => ledger.purge() });
  deps.scheduler.add({ name: MARKETPLACE_TASKS.payouts, everyMs: 5 * 60_000, run: () => ledger.runPayouts() });
  // A federate key buys for the downstream's user of X-Styx-Buyer (set by the auth plugin on buyer routes).
  const caller = (req: { principal?: unknown; buyerRef?: string | undefined }) =>
    ({ ...(req.principal as object), buyerRef: req.buyerRef }) as Parameters<MarketplaceService["quote"]>[0];
  const priced = new Map<string, PricedRoute>([
    [
      "POST /v1/styx/marketplace/listings",
      {
        operation: "listing",
        // Every refusal of a listing comes before its 402 (SPEC §11: a 402 means "served once paid").
        amount: async (req) => {
          await service.checkListing(caller(req), listingInput(req.body as CreateListingBody), { requestId: req.id, ip: req.ip });
          return payments.gate.price("listing");
        },
      },
    ],
    [
      "POST /v1/styx/marketplace/listings/:id/purchase",
      {
        operation: "purchase",
        purpose: "purchase",
        amount: async (req) =>
          (
            await service.quote(caller(req), (req.params as { id: string }).id, (req.body as { golem_id?: string }).golem_id, {
              requestId: req.id,
              ip: req.ip,
            })
          ).total,
      },
    ],
  ]);
  return { routes: { service, ledger, blobs: deps.blobs, dimensions: deps.config.embedDim, stats: deps.store }, priced };
}

/**
 * The upstream's marketplace served to this Styx's buyers (SPEC §17.2 item 4), or undefined
 * unless `STYX_FEDERATE` names `marketplace` (down) with an upstream configured. A local user is
 * `X-Styx-Buyer` = the keyed hash of its id under STYX_SECRET_KEY: the same user is the same buyer
 * upstream across restarts and gateways, and the upstream cannot tell who it is.
 */
export function buildUpstreamMarket(config: Config, secret: SecretKey): UpstreamMarketRouteDeps | undefined {
  const upstream = config.federation.upstream;
  if (!upstream || !config.federation.flows.get("marketplace")?.down) return undefined;
  return {
    upstream: new HttpUpstreamMarket({ url: upstream.url, key: upstream.key }),
    buyerRef: (userId) => buyerReference(secret, userId),
  };
}
