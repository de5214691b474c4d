import type { FastifyInstance } from "fastify";
import { ViemSignatureVerifier } from "../adapters/evm/viem-signature-verifier.js";
import { OpenAiGeneralizer } from "../adapters/http/openai-generalizer.js";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { streamKind } from "../core/fabric/streams.js";
import { AuthService } from "../core/identity/auth-service.js";
import { cacheCredentials, KEY_REVOKED_SIGNAL } from "../core/identity/credential-cache.js";
import { IdentityService } from "../core/identity/identity-service.js";
import { Tenancy } from "../core/identity/tenancy.js";
import type { AuditLog } from "../core/platform/audit.js";
import { type Clock, systemClock } from "../core/platform/clock.js";
import { base64url, initCrypto, randomBytes } from "../core/platform/crypto.js";
import type { Signals } from "../core/platform/signals.js";
import type { TextGeneralizer } from "../core/privacy/public-pipeline.js";
import { createServer } from "../server/app.js";
import { LoadMonitor } from "../server/load-monitor.js";
import { Metrics } from "../server/metrics.js";
import { closeCredential } from "../server/ws/credential-sweep.js";
import { Scheduler } from "../tasks/scheduler.js";
import { type AdminToken, resolveAdminToken } from "./admin-token.js";
import { buildCoordination, type CoordinationStack } from "./coordination.js";
import { buildFabric, type FabricStack } from "./fabric.js";
import { FallbackRateLimiter } from "./fallback-rate-limiter.js";
import { buildKnowledge, type KnowledgeStack } from "./knowledge.js";
import { buildPrivacy, type PrivacyStack } from "./privacy.js";
import { forgetLegacySalt, type ResolvedSecretKey } from "./secret-key.js";
import { openStorage, type Storage } from "./storage.js";
import { syncVectors } from "./vector-sync.js";
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
  /** The public pipeline and its directory of known identifiers. */
  readonly privacy: PrivacyStack;
  /** Background tasks (lethe publication, TTL expiry); `runNow` for tests and operators. */
  readonly tasks: Scheduler;
  /** Load shedding decisions (sampled every second while listening). */
  readonly load: LoadMonitor;
  /** Listens on the configured host and port; resolves with the URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new requests, drain in-flight ones, close stores. Idempotent. */
  /** Starts a shutdown's drain window: /readyz answers 503 (reason `draining`); everything else is still served. */
  drain(): void;
  close(): Promise<void>;
}

/** Options for tests and embedding. */
export interface BuildOptions {
  readonly clock?: Clock;
  readonly logStream?: NodeJS.WritableStream;
  /** Uniform random in [0, 1) for lethe delays; injectable for tests. */
  readonly random?: () => number;
}

/** The composition root: picks adapters for the profile and wires services, server and monitors. */
export async function buildStyx(config: Config, options: BuildOptions = {}): Promise<Styx> {
  await initCrypto();
  const clock = options.clock ?? systemClock;
  const storage = await openStorage(config, clock);
  try {
    const adminToken = await resolveAdminToken(config, storage.secrets);
    // The key of every keyed hash (lethe, pheromone and causal sources, the audit chain) and of the
    // sealed source directory (SPEC §3), resolved as the store opened. The salted hashes it replaces die with their salt.
    const secretKey = storage.secretKey;
    forgetLegacySalt(config);
    // Macronode: every request looks its key up in PostgreSQL; remembered for 5 s, forgotten at once
    // on revocation (on every gateway, by signal). A micronode's lookup is a local SQLite read, and
    // an offline `styx keys revoke` must take effect at once: no cache there.
    const signals = storage.cluster?.signals;
    const cached = signals
      ? cacheCredentials(storage.identity, {
          clock,
          onRevoked: (id: string) => signals.publish(KEY_REVOKED_SIGNAL, { key_id: id }),
        })
      : undefined;
    // Sockets authenticated with a revoked key close at once: here when this process revoked it,
    // on the other gateways by signal (and within a ping interval by the gateway's sweep otherwise).
    let closeSockets: (keyId: string) => void = () => {};
    signals?.subscribe(KEY_REVOKED_SIGNAL, (p) => {
      if (typeof p.key_id !== "string") return;
      cached?.forget(p.key_id);
      closeSockets(p.key_id);
    });
    const identityStore = cached ?? storage.identity;
    // Every identifier of the instance, kept for the public pipeline (learnt as created, here or by signal).
    const privacy = buildPrivacy({
      identity: storage.identity,
      clock,
      signals,
      generalizer: anonymizerOf(config, (reason) =>
        app?.log.warn({ reason }, "the anonymizer endpoint was not used; lethe text stays as scrubbed"),
      ),
      warn: (msg, err) => app?.log.warn({ err }, msg),
    });
    await privacy.start();
    const tenancy = new Tenancy({ identity: identityStore, audit: storage.audit });
    const identity = new IdentityService({ store: identityStore, audit: storage.audit, clock, onIdentifiers: privacy.report });
    const auth = new AuthService({
      onIdentifiers: privacy.report,
      store: identityStore,
      audit: storage.audit,
      clock,
      verifier: new ViemSignatureVerifier(),
      options: {
        adminToken: adminToken.token,
        challengeTtlMs: 5 * 60_000,
        challengeKey: await storedSecret(storage, "challenge-key"),
        sessionTtlMs: config.sessionTtlMs,
      },
    });
    const metrics = new Metrics();
    let logTask: (r: { name: string; ms: number; error?: unknown }) => void = () => {};
    const tasks = new Scheduler({
      onRun: (r) => {
        metrics.taskDuration.observe({ task: r.name, outcome: r.error ? "error" : "ok" }, r.ms / 1000);
        logTask(r);
      },
      leadership: storage.leadership,
      onLeadership: (leader) => {
        metrics.leader.set(leader ? 1 : 0);
        app?.log.info(
          { leader },
          leader ? "this process now runs the background tasks" : "this process no longer runs the background tasks",
        );
      },
      ...(storage.cluster ? { forwardWake: forwardWake(storage.cluster.signals) } : {}),
    });
    storage.cluster?.signals.subscribe(WAKE_TOPIC, (p) => {
      if (typeof p.task === "string" && typeof p.delay_ms === "number") tasks.wake(p.task, p.delay_ms);
    });
    const fabric = await buildFabric({ config, clock, storage, scheduler: tasks });
    closeSockets = (keyId) => {
      const n = closeCredential(fabric.hub.sessions(), keyId);
      if (n > 0) metrics.wsDropped.inc({ reason: "credential" }, n);
    };
    identity.onKeyRevoked((keyId) => closeSockets(keyId));
    const bus = fabric.bus;
    bus.subscribe((e) => metrics.events.inc({ stream: streamKind(e.stream) ?? "other" }));
    bus.onError = (err) => app?.log.error({ err }, "event subscriber failed");
    if (storage.limiter instanceof FallbackRateLimiter)
      storage.limiter.watch({
        degraded: (err) => app?.log.warn({ err }, "rate limits fall back to this gateway's own buckets: the shared store (Redis) failed"),
        restored: () => app?.log.info("shared rate limits (Redis) restored"),
      });
    const knowledge = buildKnowledge({
      config,
      clock,
      entries: storage.entries,
      bus,
      key: secretKey.key,
      pipeline: privacy.pipeline,
      scheduler: tasks,
      blobs: storage.blobs,
      ...(options.random ? { random: options.random } : {}),
      warn: (msg, err) => app?.log.warn({ err }, msg),
    });
    // Macronode: every gateway's indexes follow the others' writes (subscribed before the rebuild in listen()).
    const vectorSync = storage.cluster
      ? syncVectors({
          vectors: knowledge.vectors,
          signals: storage.cluster.signals,
          entries: storage.entries,
          dimensions: config.embedDim,
          warn: (msg, err) => app?.log.warn({ err }, msg),
        })
      : undefined;
    const coordination = await buildCoordination({
      stores: storage.coordination,
      identityStore,
      identity,
      knowledge: knowledge.service,
      fabric: fabric.service,
      bus,
      clock,
      key: secretKey.key,
      pipeline: privacy.pipeline,
      scheduler: tasks,
      warn: (msg, err) => app?.log.warn({ err }, msg),
    });
    metrics.gauge("styx_pheromones_active", "Live pheromones (current intensity at or above the evaporation threshold).", () =>
      coordination.pheromones.countActive(),
    );
    metrics.gauge(
      "styx_backup_last_success_timestamp_seconds",
      "When the last `styx backup` of this store succeeded (Unix seconds; 0: never), from its backup.created audit record.",
      async () => ((await storage.audit.latest("backup.created"))?.ts ?? 0) / 1000,
    );
    metrics.gauge(
      "styx_vector_backlog",
      "Vectors written but not yet in the ANN index (searched exactly meanwhile).",
      () => knowledge.vectors.backlog,
    );
    const load = new LoadMonitor({
      maxLagMs: config.maxEventLoopLagMs,
      maxInflight: config.maxInflight,
      inflight: () => metrics.inflightNow,
      dependencies: storage.checks,
    });
    let closing = false;
    let draining = false;
    const app = await createServer({
      version: VERSION,
      profile: config.profile,
      amnesia: config.amnesia,
      logLevel: config.logLevel,
      bodyLimit: config.bodyLimit,
      trustProxy: config.trustProxy,
      clock,
      auth,
      identity,
      tenancy,
      audit: storage.audit,
      limiter: storage.limiter,
      rateLimit: config.rateLimit,
      ipRateLimit: config.ipRateLimit,
      dependencies: storage.checks,
      load,
      metrics,
      knowledge: knowledge.service,
      identityStore,
      embedDim: config.embedDim,
      blobs: storage.blobs,
      blobMaxBytes: config.blobMaxBytes,
      fabric: { hub: fabric.hub, service: fabric.service, history: fabric.history },
      coordination: { ...coordination, deaths: storage.coordination.deaths },
      ws: {
        pingIntervalMs: config.ws.pingIntervalMs,
        authTimeoutMs: config.ws.authTimeoutMs,
        maxQueueBytes: config.ws.sendQueueBytes,
        maxConnections: config.ws.maxConnections,
        deflate: config.ws.deflate,
      },
      closing: () => closing,
      draining: () => draining,
      ...(options.logStream ? { logStream: options.logStream } : {}),
    });
    let closed: Promise<void> | undefined;
    return {
      config,
      app,
      adminToken,
      secretKey,
      identity,
      audit: storage.audit,
      storage,
      knowledge,
      bus,
      fabric,
      coordination,
      privacy,
      tasks,
      load,
      async listen() {
        logTask = (r) =>
          r.error
            ? app.log.error({ task: r.name, ms: r.ms, err: r.error }, "task failed")
            : app.log.debug({ task: r.name, ms: r.ms }, "task ran");
        // Vectors load into the exact overlay at once (queries see all of them); the ANN index
        // absorbs them in its worker thread while the server already answers.
        const rebuilt = await knowledge.rebuild();
        if (rebuilt.loaded > 0 || rebuilt.put > 0) {
          app.log.info(
            { cached_indexes: rebuilt.loaded, vectors_to_index: rebuilt.put },
            "vector indexes loaded; the rest are indexed in the background",
          );
        }
        // Compiling every route's validators and serializers stalls the loop for up to a second
        // (measured 1.1 s on a macronode); done before the lag sampler starts, it is not load,
        // and a fresh gateway answers /readyz 200 from its first request.
        await app.ready();
        load.start();
        tasks.start();
        const due = await knowledge.lethe.nextDue();
        if (due !== undefined) tasks.wake("lethe-publish", due - clock.now() + 50);
        return app.listen({ host: config.host, port: config.port });
      },
      drain() {
        draining = true;
      },
      close() {
        closed ??= (async () => {
          closing = true;
          load.stop();
          await app.close();
          await tasks.stop();
          await privacy.stop();
          vectorSync?.stop();
          await fabric.flush();
          await fabric.close();
          await knowledge.close();
          await storage.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/** A wake-up for a task that only the leader runs, sent to it as a signal (the leader listens in buildStyx). */
function forwardWake(signals: Signals): (name: string, delayMs: number) => void {
  return (name, delayMs) => signals.publish(WAKE_TOPIC, { task: name, delay_ms: delayMs });
}

/** Signal topic of forwarded task wake-ups. */
const WAKE_TOPIC = "task-wake";

/** A server secret of this Styx (challenge key): see SecretStore. */
async function storedSecret(storage: Storage, name: string): Promise<string> {
  return (await storage.secrets.loadOrCreate(name, () => base64url(randomBytes(32)))).value;
}

/** The optional generalizer of lethe text (SPEC §4.2 step 8), when STYX_ANONYMIZER_URL is set. Its failures are logged by reason, never with the text. */
function anonymizerOf(config: Config, onFailure: (reason: string) => void): TextGeneralizer | undefined {
  const a = config.anonymizer;
  if (!a.url) return undefined;
  return new OpenAiGeneralizer({
    url: a.url,
    timeoutMs: a.timeoutMs,
    onFailure,
    ...(a.model ? { model: a.model } : {}),
    ...(a.apiKey ? { apiKey: a.apiKey } : {}),
  });
}
