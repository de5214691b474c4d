import type { FastifyInstance } from "fastify";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import type { FederationStore } from "../core/federation/federation-store.js";
import type { RecordApplier } from "../core/federation/records.js";
import type { IdentityService } from "../core/identity/identity-service.js";
import type { AuditLog } from "../core/platform/audit.js";
import { type Clock, systemClock } from "../core/platform/clock.js";
import { initCrypto } from "../core/platform/crypto.js";
import { FairQueue } from "../core/platform/fair-queue.js";
import { createServer } from "../server/app.js";
import { LoadMonitor } from "../server/load-monitor.js";
import { loopBusy } from "../server/loop-utilization.js";
import { Metrics } from "../server/metrics.js";
import type { Scheduler } from "../tasks/scheduler.js";
import { type AdminToken, resolveAdminToken } from "./admin-token.js";
import { buildCoordination, type CoordinationStack } from "./coordination.js";
import { buildErasure } from "./erasure.js";
import { buildFabric, closeSocketsOf, type FabricStack } from "./fabric.js";
import { buildFederation, buildFederationOutlet } from "./federation.js";
import { buildUpstreamLink, type UpstreamLinkStack } from "./federation-link.js";
import { buildIdentity, forgettingDeaths, forgettingErasures } from "./identity.js";
import { buildKnowledge, type KnowledgeStack } from "./knowledge.js";
import { Lifecycle, startServing, stopServing } from "./lifecycle.js";
import { DeferredLog, warnTo } from "./log.js";
import { buildMarketplace, buildUpstreamMarket } from "./marketplace.js";
import { instrument, STORAGE_MEASURE_EVERY_MS } from "./observability.js";
import { buildPayments } from "./payments.js";
import { buildPrivacy, type PrivacyStack } from "./privacy.js";
import { buildQuotas } from "./quota.js";
import { forgetLegacySalt, type ResolvedSecretKey } from "./secret-key.js";
import { serverSettings } from "./server.js";
import { closeEndedSessions, resolveSigning } from "./signing.js";
import { openStorage, type Storage } from "./storage.js";
import { buildScheduler } from "./tasks.js";
import { startTracing, type Tracing } from "./tracing.js";
import { VERSION } from "./version.js";

/** A wired Styx process: the HTTP app and the services behind it. */
export interface Styx {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly adminToken: AdminToken;
  /** STYX_SECRET_KEY in force (never in the database) and where it came from. */
  readonly secretKey: ResolvedSecretKey;
  readonly identity: IdentityService;
  readonly audit: AuditLog;
  readonly storage: Storage;
  readonly knowledge: KnowledgeStack;
  /** Events of this process, sequenced into stream history (the socket hub subscribes here). */
  readonly bus: EventBus;
  /** History, hub and golem-facing services of the event fabric. */
  readonly fabric: FabricStack;
  /** Pheromones, causal federation, bloodstains, achievements and pulse. */
  readonly coordination: CoordinationStack;
  /** Federation (SPEC §17): the applier of other instances' records (the push route's and the down-link's). */
  readonly federation: { readonly applier: RecordApplier; readonly store: FederationStore };
  /** The link to the upstream (SPEC §17.2; `link` undefined without STYX_UPSTREAM_URL), the admin view, health's `upstream`. */
  readonly upstream: UpstreamLinkStack;
  /** The public pipeline and its directory of known identifiers. */
  readonly privacy: PrivacyStack;
  /** Background tasks (lethe publication, TTL expiry); `runNow` for tests and operators. */
  readonly tasks: Scheduler;
  /** Load shedding decisions (sampled every second while listening). */
  readonly load: LoadMonitor;
  /** Listens on the configured host and port; resolves with the URL. */
  listen(): Promise<string>;
  /** Starts a shutdown's drain window: /readyz answers 503 (reason `draining`); everything else is still served. */
  drain(): void;
  /** Graceful stop: refuse new requests, drain in-flight ones, close stores. Idempotent. */
  close(): Promise<void>;
}

/** Options for tests and embedding. */
export interface BuildOptions {
  readonly clock?: Clock;
  readonly logStream?: NodeJS.WritableStream;
  /** Uniform random in [0, 1) for lethe delays; injectable for tests. */
  readonly random?: () => number;
}

/**
 * The composition root: opens the profile's stores, then builds each area over them — the public
 * pipeline, identity, tasks, fabric, knowledge, coordination — and the server in front. Each
 * area's wiring lives in its own composer beside this file; starting and stopping in lifecycle.ts.
 */
export async function buildStyx(config: Config, options: BuildOptions = {}): Promise<Styx> {
  await initCrypto();
  const clock = options.clock ?? systemClock;
  // OpenTelemetry is imported only when configured (tracing.ts); off, the stores are not even wrapped.
  const tracing: Tracing | undefined = config.tracing ? await startTracing(config.tracing) : undefined;
  const storage = await openStorage(config, clock, tracing ? { tracer: tracing.tracer } : {});
  try {
    // The server's logger exists last; what the services log before it is held until then.
    const log = new DeferredLog();
    const warn = warnTo(log);
    const signals = storage.cluster?.signals;
    const adminToken = await resolveAdminToken(config, storage.secrets);
    // The key of every keyed hash (lethe, pheromone and causal sources, the audit chain) and of the
    // sealed source directory (SPEC §3), resolved as the store opened. The salted hashes it replaces die with their salt.
    const secretKey = storage.secretKey;
    forgetLegacySalt(config);
    // STYX_INSTANCE_ID, the SIWE site and the signature checks (SPEC §3).
    const signing = await resolveSigning(config, storage.secrets);
    const privacy = buildPrivacy({ identity: storage.identity, clock, signals, anonymizer: config.anonymizer, log });
    await privacy.start();
    const identity = await buildIdentity({
      config,
      clock,
      storage,
      adminToken: adminToken.token,
      signing,
      onIdentifiers: privacy.report,
    });
    const metrics = new Metrics();
    const tasks = buildScheduler({ leadership: storage.leadership, signals, metrics, log });
    const fabric = await buildFabric({ config, clock, storage, scheduler: tasks, ...(tracing ? { tracer: tracing.tracer } : {}) });
    // Sockets authenticated with a revoked key close at once: here when this process revoked it,
    // on the other gateways by signal (and within a ping interval by the gateway's sweep otherwise).
    const closeSockets = closeSocketsOf(fabric.hub, metrics);
    identity.onKeyRevoked((keyId) => closeSockets(keyId));
    closeEndedSessions({ auth: identity.auth, signals, close: closeSockets });
    const quotas = buildQuotas({ config, storage, users: identity.store, clock, signals, warn });
    // Federation (SPEC §17): local facts become records of this instance as they are written.
    const federationStorage = storage.federation;
    const outlet = buildFederationOutlet({
      config,
      instanceId: signing.instanceId,
      key: secretKey.key,
      store: federationStorage,
      bus: fabric.bus,
      clock,
      scheduler: tasks,
      warn,
    });
    const knowledge = buildKnowledge({
      config,
      clock,
      entries: storage.entries,
      bus: fabric.bus,
      key: secretKey.key,
      pipeline: privacy.pipeline,
      scheduler: tasks,
      blobs: storage.blobs,
      quota: quotas,
      audit: storage.audit,
      access: identity.tenancy,
      blobHeld: config.marketplace ? (userId, cid) => storage.marketplace.holdsBlob(userId, cid) : undefined,
      signals,
      ...(options.random ? { random: options.random } : {}),
      warn,
      federation: outlet,
    });
    const coordination = await buildCoordination({
      // A death recorded is forgotten by the identity cache (here at once, elsewhere by signal).
      stores: { ...storage.coordination, deaths: forgettingDeaths(storage.coordination.deaths, identity.store) },
      pulseStore: storage.pulse,
      pulseIntervalMs: config.pulseIntervalMs,
      identityStore: identity.store,
      identity: identity.service,
      knowledge: knowledge.service,
      fabric: fabric.service,
      bus: fabric.bus,
      clock,
      key: secretKey.key,
      pipeline: privacy.pipeline,
      scheduler: tasks,
      quota: quotas,
      signing: { verifier: signing.verifier, binding: signing.bloodstain },
      warn,
      federation: outlet,
    });
    const federation = buildFederation({
      config,
      instanceId: signing.instanceId,
      key: secretKey.key,
      store: federationStorage,
      outlet,
      storage,
      pheromones: coordination.pheromones,
      lethe: knowledge.lethe,
      causal: coordination.causal,
      clock,
    });
    // The down- and up-link to the upstream (SPEC §17.2): a task of the leader, applying records like the push route.
    const upstream = buildUpstreamLink({
      config: config.federation,
      store: federationStorage,
      applier: federation.applier,
      instanceId: signing.instanceId,
      version: VERSION,
      embedDim: config.embedDim,
      clock,
      scheduler: tasks,
      metrics,
      log,
      localDomains: async () => [...new Set((await storage.coordination.pheromones.allLive(clock.now())).map((p) => p.domain))],
    });
    const erasure = buildErasure({
      config,
      clock,
      storage: { ...storage, erasure: forgettingErasures(storage.erasure, identity.store) },
      identityStore: identity.store,
      identity: identity.service,
      auth: identity.auth,
      entries: knowledge.entries,
      quota: quotas,
      history: fabric.history,
      sourceOf: (golemId) => coordination.pheromones.sourceOf(golemId),
      scheduler: tasks,
      log,
    });
    const { bus } = fabric;
    const load = new LoadMonitor({
      maxLagMs: config.maxEventLoopLagMs,
      maxInflight: config.maxInflight,
      inflight: () => metrics.inflightNow,
      dependencies: storage.checks,
    });
    instrument({
      metrics,
      log,
      bus,
      limiter: storage.limiter,
      socketCounts: storage.socketCounts,
      audit: storage.audit,
      pheromones: coordination.pheromones,
      vectors: knowledge.vectors,
      dependencies: () => load.dependencies(),
      storage: { meter: storage.meter, everyMs: STORAGE_MEASURE_EVERY_MS, capacityBytes: config.storageCapacityBytes },
      poolWait: storage.poolWait,
      now: () => clock.now(),
    });
    const payments = buildPayments({
      config,
      ledger: storage.payments,
      credit: storage.credit,
      verifier: signing.verifier,
      metrics,
      clock,
      bus: fabric.bus,
      audit: storage.audit,
      scheduler: tasks,
      warn,
    });
    const marketplace = buildMarketplace({
      config,
      store: storage.marketplace,
      payments,
      secret: secretKey.key,
      identity: identity.store,
      tenancy: identity.tenancy,
      deaths: storage.coordination.deaths,
      blobs: storage.blobs,
      blobService: knowledge.blobs,
      pipeline: privacy.pipeline,
      audit: storage.audit,
      bus: fabric.bus,
      clock,
      metrics,
      scheduler: tasks,
      warn,
    });
    const life = new Lifecycle();
    const app = await createServer({
      ...serverSettings(config),
      clock,
      auth: identity.auth,
      identity: identity.service,
      tenancy: identity.tenancy,
      identityStore: identity.store,
      audit: storage.audit,
      limiter: storage.limiter,
      socketCounts: storage.socketCounts,
      quotas,
      dependencies: storage.checks,
      links: upstream.check ? [upstream.check] : undefined,
      load,
      heavy: heavyQueue(config.heavy, clock),
      metrics,
      knowledge: knowledge.service,
      entries: knowledge.entries,
      blobs: storage.blobs,
      blobService: knowledge.blobs,
      erasure,
      fabric: { hub: fabric.hub, service: fabric.service, history: fabric.history, bus: fabric.bus },
      coordination: { ...coordination, deaths: storage.coordination.deaths },
      payments: payments
        ? { gate: payments.gate, publicUrl: config.publicUrl, credit: payments.credit, meter: payments.meter, routes: marketplace?.priced }
        : undefined,
      ledger: storage.payments,
      spendLimits: storage.credit,
      marketplace: marketplace?.routes,
      upstreamMarket: buildUpstreamMarket(config, secretKey.key),
      federation: federation.routes,
      federationAdmin: { view: () => upstream.view() },
      closing: () => life.closing,
      draining: () => life.draining,
      ...(options.logStream ? { logStream: options.logStream } : {}),
      tracing: tracing && { plugin: tracing.fastifyPlugin, tracer: tracing.tracer },
    });
    log.attach(app.log);
    const parts = { config, app, log, load, tasks, knowledge, privacy, fabric, storage, credit: payments?.meter };
    return {
      config,
      app,
      adminToken,
      secretKey,
      identity: identity.service,
      audit: storage.audit,
      storage,
      knowledge,
      bus,
      fabric,
      coordination,
      federation: { applier: federation.applier, store: federationStorage },
      upstream,
      privacy,
      tasks,
      load,
      listen: () => startServing(parts),
      drain: () => life.drain(),
      // The spans of the last requests are exported before the process exits.
      close: () =>
        life.close(async () => {
          await stopServing(parts);
          const unexported = await tracing?.flush();
          if (unexported) app.log.warn({ err: unexported }, "tracing: the last spans were not exported");
        }),
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/** The fair queue of heavy work, one user one piece at a time while the loop is busier than `busyLoopPercent`. */
function heavyQueue(heavy: Config["heavy"], clock: Clock): FairQueue {
  const { busyLoopPercent, ...limits } = heavy;
  return new FairQueue(limits, clock, loopBusy(busyLoopPercent));
}
