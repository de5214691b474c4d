import Fastify, { type FastifyContextConfig, type FastifyInstance, type FastifyPluginCallback, type FastifyReply } from "fastify";
import { Type } from "typebox";
import type { AchievementService } from "../core/coordination/achievements.js";
import type { BloodstainService } from "../core/coordination/bloodstain-service.js";
import type { CausalService } from "../core/coordination/causal-service.js";
import type { DeathStore } from "../core/coordination/death.js";
import type { PheromoneService } from "../core/coordination/pheromone-service.js";
import type { PulseService } from "../core/coordination/pulse-service.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import type { FabricService } from "../core/fabric/fabric-service.js";
import type { History } from "../core/fabric/history.js";
import type { AuthService } from "../core/identity/auth-service.js";
import type { IdentityService } from "../core/identity/identity-service.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { Tenancy } from "../core/identity/tenancy.js";
import type { BlobService } from "../core/knowledge/blob-service.js";
import type { EntryService } from "../core/knowledge/entry-service.js";
import type { KnowledgeService } from "../core/knowledge/knowledge-service.js";
import type { CreditAccounts, CreditMeter, SpendLimitStore } from "../core/payments/credit.js";
import type { PaymentLedger } from "../core/payments/ledger.js";
import type { PaymentGate } from "../core/payments/payment-gate.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { FairQueue } from "../core/platform/fair-queue.js";
import type { DependencyCheck } from "../core/platform/health.js";
import type { BucketSpec, RateLimiter } from "../core/platform/rate-limiter.js";
import type { Tracer } from "../core/platform/tracer.js";
import type { UserLimits } from "../core/quota/limits.js";
import type { QuotaService } from "../core/quota/quota-service.js";
import type { SocketCounts } from "../core/quota/socket-counts.js";
import { AuthFailureAudit } from "./auth-failures.js";
import { trustFunction } from "./client-ip.js";
import { type ConnectionLimits, capUnfinishedConnections, httpServerOptions } from "./connection-guard.js";
import type { LoadMonitor } from "./load-monitor.js";
import type { Metrics } from "./metrics.js";
import { registerAuth } from "./plugins/auth.js";
import { registerDecompression } from "./plugins/decompress.js";
import { registerDocs } from "./plugins/docs.js";
import { clientError, registerErrors } from "./plugins/errors.js";
import { registerHeavy } from "./plugins/heavy.js";
import { type LimitsOptions, registerAdmission } from "./plugins/limits.js";
import { genRequestId, registerObservability } from "./plugins/observability.js";
import { type PricedRoute, registerPayments } from "./plugins/payments.js";
import { toStyxError } from "./presenters/errors.js";
import { blobRoutes } from "./routes/blobs/blobs.routes.js";
import { bloodstainRoutes } from "./routes/coordination/bloodstain.routes.js";
import { causalRoutes } from "./routes/coordination/causal.routes.js";
import { engagementRoutes } from "./routes/coordination/engagement.routes.js";
import { pheromoneRoutes } from "./routes/coordination/pheromone.routes.js";
import { dashboardRoutes } from "./routes/dashboard/dashboard.routes.js";
import { fabricRoutes } from "./routes/fabric/fabric.routes.js";
import { type FederationAdminDeps, federationAdminRoutes } from "./routes/federation/admin.routes.js";
import { type FederationRouteDeps, federationRoutes } from "./routes/federation/federation.routes.js";
import { adminRoutes } from "./routes/identity/admin.routes.js";
import { authRoutes } from "./routes/identity/auth.routes.js";
import { type ErasureRouteDeps, erasureRoutes } from "./routes/identity/erasure.routes.js";
import { golemRoutes } from "./routes/identity/golems.routes.js";
import { entryRoutes } from "./routes/knowledge/entries.routes.js";
import { entryRecordRoutes } from "./routes/knowledge/entry-records.routes.js";
import { queryRoutes } from "./routes/knowledge/query.routes.js";
import { snapshotRoutes } from "./routes/knowledge/snapshot.routes.js";
import { type MarketplaceRouteDeps, marketplaceDisabled, marketplaceRoutes } from "./routes/marketplace/marketplace.routes.js";
import { type UpstreamMarketRouteDeps, upstreamMarketRoutes } from "./routes/marketplace/upstream.routes.js";
import { type McpOptions, mcpRoutes } from "./routes/mcp/mcp.routes.js";
import { auditRoutes } from "./routes/ops/audit.routes.js";
import { opsRoutes } from "./routes/ops/ops.routes.js";
import { paymentRoutes } from "./routes/payments/payments.routes.js";
import { usageRoutes } from "./routes/quota/usage.routes.js";
import { serializerCompiler } from "./serializer-compiler.js";
import { refuseNulInUrl, registerJsonParser, validatorCompiler, yieldAfterLargeBody } from "./validation.js";
import { attachGateway, type GatewayOptions } from "./ws/gateway.js";
import type { Hub } from "./ws/hub.js";
import { MessageHandler } from "./ws/messages.js";
import { SocketQuota } from "./ws/socket-quota.js";
import "./context.js";

/** A route of the API as registered (docs assets and HEAD twins left out). */
export interface RouteInfo {
  readonly method: string;
  readonly url: string;
  readonly config: FastifyContextConfig;
  readonly hasBody: boolean;
}

declare module "fastify" {
  interface FastifyInstance {
    /** Every API route, for contract tests (auth matrix, fuzzing, docs coverage). */
    styxRoutes: readonly RouteInfo[];
    /** Compiles every route schema not compiled yet (they compile at first use): for tests, and a warm-up. */
    compileSchemas(): void;
  }
}

/** Everything the HTTP server needs, built by the composition root. */
export interface ServerDeps {
  readonly version: string;
  readonly profile: "micro" | "macro";
  readonly amnesia: boolean;
  readonly logLevel: string;
  readonly bodyLimit: number;
  readonly trustProxy: false | number | string[];
  readonly clock: Clock;
  readonly auth: AuthService;
  readonly identity: IdentityService;
  readonly tenancy: Tenancy;
  readonly audit: AuditLog;
  readonly limiter: RateLimiter;
  readonly rateLimit: BucketSpec;
  readonly ipRateLimit: BucketSpec;
  /** Each user's limits (request bucket and quotas, SPEC §12), usage, overrides and the blob quota. */
  readonly quotas: QuotaService;
  /** The default tier's limits: a socket's address cap before anybody is known on it. */
  readonly defaultLimits: UserLimits;
  /** Open sockets per user, key and address: this process's (micronode) or the cluster's (macronode). */
  readonly socketCounts: SocketCounts;
  /** HTTP server timers and the cap on connections still sending their headers. */
  readonly http: ConnectionLimits;
  readonly dependencies: readonly DependencyCheck[];
  /** Links to other Styx (the federation upstream): listed by health, never shedding. */
  readonly links?: readonly DependencyCheck[] | undefined;
  readonly load: LoadMonitor;
  /** Fair admission of heavy routes (queries, snapshots, batch writes), per process. */
  readonly heavy: FairQueue;
  readonly metrics: Metrics;
  readonly knowledge: KnowledgeService;
  /** One entry at a time: get, list, delete, validate. */
  readonly entries: EntryService;
  /** Owner lookups for lethe scrubbing (their wallets). */
  readonly identityStore: Pick<
    IdentityStore,
    "getUser" | "getGolem" | "listGolems" | "listActiveApiKeys" | "unusableApiKeys" | "getApiKey"
  >;
  readonly embedDim: number;
  /** Content-addressed blob storage (SPEC §10). */
  readonly blobs: BlobStore;
  /** Largest blob a PUT may store. */
  readonly blobMaxBytes: number;
  /** Blob references: the owner's delete (SPEC §10). */
  readonly blobService: Pick<BlobService, "delete">;
  /** The event fabric: socket hub, golem-facing service, stream history. */
  readonly fabric: {
    readonly hub: Hub;
    readonly service: FabricService;
    readonly history: History;
    readonly bus: Pick<EventBus, "subscribe">;
  };
  /** The MCP endpoint's hosts and session bounds. */
  readonly mcp: McpOptions;
  /** Pheromones, causal federation, bloodstains, engagement. */
  readonly coordination: {
    readonly pheromones: PheromoneService;
    readonly causal: CausalService;
    readonly bloodstains: BloodstainService;
    readonly achievements: AchievementService;
    readonly pulse: PulseService;
    readonly deaths: Pick<DeathStore, "graveyard" | "recent" | "find">;
  };
  /** Erasure jobs (golems, users) and the owner's export (SPEC §3). */
  readonly erasure: ErasureRouteDeps;
  /** Socket limits and timers (`maxPendingMessages` defaults to 1,000). */
  readonly ws: Omit<GatewayOptions, "maxPendingMessages"> & { readonly maxPendingMessages?: number };
  readonly closing: () => boolean;
  /** True while a shutdown's drain window runs: /readyz answers 503, everything else is served. */
  readonly draining: () => boolean;
  /** x402 pricing (SPEC §11): the gate and the public origin offers name; undefined while pricing is off. */
  readonly payments?:
    | {
        readonly gate: PaymentGate;
        readonly publicUrl: string;
        readonly credit: CreditAccounts;
        readonly meter: CreditMeter;
        readonly routes?: ReadonlyMap<string, PricedRoute> | undefined;
      }
    | undefined;
  /** The payments ledger and the keys' spend limits, read by receipts and admin routes (none under amnesia). */
  readonly ledger: PaymentLedger | undefined;
  readonly spendLimits: SpendLimitStore | undefined;
  /** The marketplace (SPEC §16); undefined while STYX_MARKETPLACE=0 (its routes answer 404 STYX_MARKETPLACE_DISABLED). */
  readonly marketplace?: MarketplaceRouteDeps | undefined;
  /** Federation's admin view (SPEC §17.4): this Styx's link up and its downstreams. */
  readonly federationAdmin?: FederationAdminDeps | undefined;
  /**
   * The upstream's marketplace served to this Styx's buyers (federation, SPEC §17.2 item 4), when
   * STYX_FEDERATE names `marketplace`; never with a marketplace of its own (config refuses both).
   */
  readonly upstreamMarket?: UpstreamMarketRouteDeps | undefined;
  /** Federation, the upstream side (SPEC §17.2): hello, pushes, snapshots, and the links `subscribe.federation` checks. */
  readonly federation: Omit<FederationRouteDeps, "history" | "limiter" | "clock">;
  /** Log destination; default stdout. */
  readonly logStream?: NodeJS.WritableStream;
  /** Tracing on (OTEL_EXPORTER_OTLP_ENDPOINT): @fastify/otel's plugin (a span per request) and the Tracer for socket events. */
  readonly tracing?: { readonly plugin: FastifyPluginCallback; readonly tracer: Tracer } | undefined;
}

/** Builds the Fastify app: plugins in admission order, then every route. Does not listen. */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const trust = trustFunction(deps.trustProxy);
  const app = Fastify({
    logger: {
      level: deps.logLevel,
      redact: {
        paths: ["req.headers.authorization", "req.headers.cookie", "req.headers['x-payment']", "req.headers['payment-signature']"],
        censor: "[redacted]",
      },
      serializers: {
        req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      },
      ...(deps.logStream ? { stream: deps.logStream } : {}),
    },
    genReqId: genRequestId,
    bodyLimit: deps.bodyLimit,
    // One client-address rule for requests and socket upgrades (client-ip.ts).
    trustProxy: deps.trustProxy === false || deps.trustProxy === 0 ? false : trust,
    http: httpServerOptions(deps.http),
    keepAliveTimeout: deps.http.keepAliveTimeoutMs,
    requestTimeout: deps.http.requestTimeoutMs,
    return503OnClosing: false,
    forceCloseConnections: "idle",
    // Ids are up to 128 chars; the router's own limit must sit above that so the schema decides.
    routerOptions: { maxParamLength: 256 },
    // Router-level failures (bad URL encoding, over-long params) leave in the Styx error shape too.
    frameworkErrors: (err, req, rawReply) => {
      const e = toStyxError(err);
      void (rawReply as FastifyReply)
        .code(e.status)
        .type("application/json; charset=utf-8")
        .send({ error: { code: e.code, message: e.message, request_id: req.id } });
    },
    ajv: { customOptions: { removeAdditional: false } },
    // The HTTP parser's own refusals (431 headers too large, 400 framing) leave in the error shape too.
    clientErrorHandler: clientError,
  });
  // First, so every hook and route registered after it is in the request's span.
  if (deps.tracing) await app.register(deps.tracing.plugin);
  capUnfinishedConnections(app.server, deps.http.unfinishedPerIp, trust, () =>
    deps.metrics.rejected.inc({ reason: "unfinished_connections" }),
  );
  const validators = validatorCompiler();
  const serializers = serializerCompiler();
  app.setValidatorCompiler(validators);
  app.setSerializerCompiler(serializers);
  app.decorate("compileSchemas", () => {
    validators.compileNow();
    serializers.compileNow();
  });
  registerJsonParser(app);
  const routes: RouteInfo[] = [];
  app.decorate("styxRoutes", routes);
  app.addHook("onRoute", (route) => {
    // Docs are public but, unlike health/readyz/metrics, still rate limited and shed.
    if (route.url.startsWith("/docs")) route.config = { ...(route.config ?? {}), auth: "public" };
    // An API route without query parameters refuses any (`?constructor=1` is an unknown field, as in a body).
    if (route.url.startsWith("/v1/") && route.schema?.querystring === undefined)
      route.schema = { ...(route.schema ?? {}), querystring: NO_QUERY };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === "HEAD" || route.url.startsWith("/docs")) continue;
      routes.push({ method, url: route.url, config: route.config ?? {}, hasBody: route.schema?.body !== undefined });
    }
  });

  const limits: LimitsOptions = {
    limiter: deps.limiter,
    perIdentity: deps.rateLimit,
    perIp: deps.ipRateLimit,
    quotas: deps.quotas,
    load: deps.load,
    metrics: deps.metrics,
    closing: deps.closing,
  };
  registerErrors(app, deps.metrics, deps.marketplace ? undefined : marketplaceDisabled);
  registerObservability(app, deps.metrics);
  registerAdmission(app, limits);
  // Failed authentications of both transports: counted, and audited once per address and minute.
  const authFailures = new AuthFailureAudit({
    audit: deps.audit,
    metrics: deps.metrics,
    clock: deps.clock,
    warn: (obj, msg) => app.log.warn(obj, msg),
  });
  authFailures.start();
  app.addHook("onClose", () => authFailures.close());
  registerAuth(app, { auth: deps.auth, tenancy: deps.tenancy, limits, failures: authFailures });
  registerDecompression(app, deps.bodyLimit);
  app.addHook("preValidation", refuseNulInUrl);
  app.addHook("preHandler", yieldAfterLargeBody);
  // After tenancy (a preHandler of registerAuth): only requests that will run take a place.
  registerHeavy(app, { queue: deps.heavy, metrics: deps.metrics });
  // Last of the admission: payment work starts only for a request that will run (SPEC §11: 402 means "served once paid").
  if (deps.payments) await registerPayments(app, { ...deps.payments, metrics: deps.metrics });
  await registerDocs(app, deps.version);

  opsRoutes(app, {
    version: deps.version,
    profile: deps.profile,
    amnesia: deps.amnesia,
    startedAt: performance.now(),
    dependencies: deps.dependencies,
    ...(deps.links ? { links: deps.links } : {}),
    load: deps.load,
    metrics: deps.metrics,
    draining: deps.draining,
  });
  if (deps.federationAdmin) federationAdminRoutes(app, deps.federationAdmin);
  adminRoutes(app, { identity: deps.identity, clock: deps.clock, limits: deps.spendLimits });
  paymentRoutes(app, {
    ledger: deps.ledger,
    limits: deps.spendLimits,
    credit: deps.payments?.credit,
    identity: deps.identityStore,
    clock: deps.clock,
  });
  golemRoutes(app, { identity: deps.identity, auth: deps.auth, deaths: deps.coordination.deaths, clock: deps.clock });
  erasureRoutes(app, { erasure: deps.erasure, identity: deps.identity, clock: deps.clock });
  authRoutes(app, { auth: deps.auth });
  auditRoutes(app, { audit: deps.audit });
  blobRoutes(app, { blobs: deps.blobs, maxBytes: deps.blobMaxBytes, quotas: deps.quotas, service: deps.blobService });
  usageRoutes(app, { quotas: deps.quotas });
  entryRoutes(app, { knowledge: deps.knowledge, identity: deps.identityStore, dimensions: deps.embedDim });
  queryRoutes(app, { knowledge: deps.knowledge, identity: deps.identityStore, dimensions: deps.embedDim });
  snapshotRoutes(app, { knowledge: deps.knowledge });
  entryRecordRoutes(app, { entries: deps.entries });
  const c = deps.coordination;
  pheromoneRoutes(app, { pheromones: c.pheromones });
  bloodstainRoutes(app, { bloodstains: c.bloodstains, identity: deps.identityStore });
  causalRoutes(app, { causal: c.causal });
  engagementRoutes(app, { identity: deps.identityStore, deaths: c.deaths, achievements: c.achievements, pulse: c.pulse });
  if (deps.marketplace) marketplaceRoutes(app, deps.marketplace);
  else if (deps.upstreamMarket) upstreamMarketRoutes(app, deps.upstreamMarket);
  const { hub, service, history } = deps.fabric;
  federationRoutes(app, { ...deps.federation, history, limiter: deps.limiter, clock: deps.clock, credit: deps.payments?.meter });
  fabricRoutes(app, { fabric: service, clock: deps.clock, online: (id) => hub.online(id) });
  dashboardRoutes(app, {
    clock: deps.clock,
    metrics: deps.metrics,
    connections: () => hub.size,
    pheromones: c.pheromones,
    pulse: c.pulse,
    deaths: c.deaths,
    identity: deps.identityStore,
    ledger: deps.ledger,
    pricing: deps.payments !== undefined,
    marketplace: deps.marketplace?.stats,
    federation: deps.federationAdmin,
  });
  mcpRoutes(app, {
    mcp: {
      knowledge: deps.knowledge,
      entries: deps.entries,
      identity: deps.identityStore,
      tenancy: deps.tenancy,
      heavy: deps.heavy,
      pheromones: c.pheromones,
      causal: c.causal,
      deaths: c.deaths,
      pulse: c.pulse,
      fabric: service,
      clock: deps.clock,
      online: (id) => hub.online(id),
      dimensions: deps.embedDim,
      priced: deps.payments !== undefined,
    },
    options: deps.mcp,
    version: deps.version,
    bus: deps.fabric.bus,
  });
  const handler = new MessageHandler({
    hub,
    history,
    fabric: service,
    tenancy: deps.tenancy,
    limiter: deps.limiter,
    rateLimit: deps.rateLimit,
    quotas: deps.quotas,
    metrics: deps.metrics,
    credit: deps.payments?.meter,
    tracer: deps.tracing?.tracer,
    warn: (msg, err) => app.log.warn({ err }, msg),
    links: { link: (k) => deps.federation.store.link(k), touch: (k) => deps.federation.store.touchLink(k, deps.clock.now()) },
  });
  attachGateway(app, {
    hub,
    history,
    auth: { authenticate: (token) => deps.auth.authenticate(token), refused: (ip, code) => authFailures.refused("ws", ip, code) },
    handler,
    limiter: deps.limiter,
    ipRateLimit: deps.ipRateLimit,
    trust,
    quota: new SocketQuota({
      counts: deps.socketCounts,
      policy: deps.quotas,
      defaults: deps.defaultLimits,
      // Three refresh (ping) intervals: a gateway that died stops counting within a minute by default.
      ttlMs: 3 * deps.ws.pingIntervalMs,
    }),
    metrics: deps.metrics,
    closing: deps.closing,
    credentials: deps.identityStore,
    clock: deps.clock,
    options: { maxPendingMessages: 1000, ...deps.ws },
  });
  return app;
}

/** The query string of a route that takes none: unknown parameters are refused with 400 STYX_VALIDATION. */
const NO_QUERY = Type.Object({}, { additionalProperties: false });

/** Removes credentials from a logged URL (`?token=` is how browsers authenticate sockets). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|key|api_key)=)[^&]*/gi, "$1[redacted]");
}
