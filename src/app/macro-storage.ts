import { MemoryRateLimiter } from "../adapters/memory/memory-rate-limiter.js";
import { MemorySocketCounts } from "../adapters/memory/memory-socket-counts.js";
import { MemoryUsageCounters } from "../adapters/memory/memory-usage-counters.js";
import { eventStreamBytes } from "../adapters/nats/jetstream-account.js";
import { JetStreamHistory } from "../adapters/nats/jetstream-history.js";
import { connectNats, isNatsOutage } from "../adapters/nats/nats-connection.js";
import { NatsEventBus } from "../adapters/nats/nats-event-bus.js";
import { NatsSignals } from "../adapters/nats/nats-signals.js";
import { isPostgresOutage, migratePostgres, openPostgres } from "../adapters/postgres/database.js";
import { PostgresAchievementStore } from "../adapters/postgres/postgres-achievement-store.js";
import { PostgresAuditLog } from "../adapters/postgres/postgres-audit-log.js";
import { PostgresCausalStore } from "../adapters/postgres/postgres-causal-store.js";
import { PostgresCladeStore } from "../adapters/postgres/postgres-clade-store.js";
import { PostgresCredit } from "../adapters/postgres/postgres-credit.js";
import { PostgresDeathStore } from "../adapters/postgres/postgres-death-store.js";
import { PostgresEntryStore } from "../adapters/postgres/postgres-entry-store.js";
import { PostgresErasureStore } from "../adapters/postgres/postgres-erasure-store.js";
import { PostgresFederationStore } from "../adapters/postgres/postgres-federation-store.js";
import { pingPostgres } from "../adapters/postgres/postgres-health.js";
import { PostgresIdentityStore } from "../adapters/postgres/postgres-identity-store.js";
import { PostgresLeadership } from "../adapters/postgres/postgres-leadership.js";
import { PostgresMarketplaceStore } from "../adapters/postgres/postgres-marketplace-store.js";
import { PostgresPaymentLedger } from "../adapters/postgres/postgres-payment-ledger.js";
import { PostgresPheromoneStore } from "../adapters/postgres/postgres-pheromone-store.js";
import { PostgresQuotaStore } from "../adapters/postgres/postgres-quota-store.js";
import { PostgresSecretStore } from "../adapters/postgres/postgres-secret-store.js";
import { poolWaitSeconds, schemaBytes, trackedBlobBytes } from "../adapters/postgres/postgres-storage.js";
import { tracePostgresTransactions } from "../adapters/postgres/traced-database.js";
import { isRedisOutage, openRedis, type RedisConnection } from "../adapters/redis/redis-connection.js";
import { invalidatingCache, RedisPheromoneCache } from "../adapters/redis/redis-pheromone-cache.js";
import { RedisPresence } from "../adapters/redis/redis-presence.js";
import { RedisPulseStore } from "../adapters/redis/redis-pulse-store.js";
import { RedisRateLimiter } from "../adapters/redis/redis-rate-limiter.js";
import { RedisSocketCounts } from "../adapters/redis/redis-socket-counts.js";
import { RedisUsageCounters } from "../adapters/redis/redis-usage-counters.js";
import { S3BlobStore, type S3BlobStoreOptions } from "../adapters/s3/s3-blob-store.js";
import type { Config } from "../config/load.js";
import type { Clock } from "../core/platform/clock.js";
import { probe } from "../core/platform/health.js";
import { LeasedRateLimiter } from "../core/platform/leased-rate-limiter.js";
import { noTracer, type Tracer } from "../core/platform/tracer.js";
import { LeasedUsageCounters } from "../core/quota/leased-counters.js";
import { FallbackRateLimiter, FallbackUsageCounters } from "./fallback-rate-limiter.js";
import { FallbackSocketCounts } from "./fallback-socket-counts.js";
import { guardOutages, isSocketFailure } from "./outage-guard.js";
import type { UnkeyedStorage } from "./storage.js";

/** Longest a pool probe waits for an idle PostgreSQL connection (its wait is reported as this past it). */
const POOL_PROBE_TIMEOUT_MS = 5000;

/** The S3 blob store's options from the configuration (objects under `<cluster>/`). */
export function s3Options(config: Config, bucket: string): S3BlobStoreOptions {
  return {
    bucket,
    prefix: `${config.cluster}/`,
    region: config.s3.region,
    ...(config.s3.endpoint ? { endpoint: config.s3.endpoint } : {}),
    ...(config.s3.accessKeyId && config.s3.secretAccessKey
      ? { credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey } }
      : {}),
  };
}

/**
 * Opens the macronode backends: PostgreSQL (metadata, entries, coordination; migrated at
 * start, under an advisory lock), NATS JetStream (stream history, fan-out, signals), Redis
 * (token buckets, presence, the pheromone read cache) and S3 (blobs), each under the cluster
 * name. Every connection reconnects on its own; a dependency that is down shows in the checks
 * (and so in `/readyz`, which sheds writes first).
 */
export async function openMacroStorage(config: Config, clock: Clock, tracer: Tracer = noTracer): Promise<UnkeyedStorage> {
  const { cluster } = config;
  const need = <T>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new Error(`${name} is required when STYX_PROFILE=macro`);
    return v;
  };
  const databaseUrl = need(config.databaseUrl, "STYX_DATABASE_URL");
  const opened: { close(): Promise<void> }[] = [];
  try {
    const sql = openPostgres(databaseUrl, { schema: cluster });
    opened.push({ close: () => sql.end({ timeout: 5 }) });
    await migratePostgres(sql, cluster);
    tracePostgresTransactions(sql, tracer);
    const nats = await connectNats({ url: need(config.natsUrl, "STYX_NATS_URL"), name: `styx-${cluster}` });
    opened.push(nats);
    const redis = openRedis({ url: need(config.redisUrl, "STYX_REDIS_URL"), prefix: `${cluster}:` });
    opened.push(redis);
    await redis.ready();
    const blobs = new S3BlobStore(s3Options(config, need(config.s3.bucket, "STYX_S3_BUCKET")));
    opened.push({ close: async () => blobs.close() });
    const entries = new PostgresEntryStore(sql);
    const pheromones = new PostgresPheromoneStore(sql);
    const cache = new RedisPheromoneCache({ inner: pheromones, redis: redis.client });
    const signals = new NatsSignals(nats, cluster);
    opened.push({ close: async () => signals.close() });
    const pg = <T extends object>(store: T) => guardOutages(store, "PostgreSQL", isPostgresOutage);
    const { limiter, counters } = sharedLimits(redis.client, clock, config.limitLeaseMs, opened);
    return {
      identity: pg(new PostgresIdentityStore(sql)),
      quotas: pg(new PostgresQuotaStore(sql)),
      payments: pg(new PostgresPaymentLedger(sql)),
      credit: pg(new PostgresCredit(sql)),
      marketplace: pg(new PostgresMarketplaceStore(sql)),
      federation: pg(new PostgresFederationStore(sql)),
      auditLog: (key) => pg(new PostgresAuditLog(sql, clock, key)),
      entries: pg(entries),
      blobs: guardOutages(blobs, "S3", isSocketFailure),
      events: undefined,
      clade: pg(new PostgresCladeStore(sql)),
      erasure: pg(new PostgresErasureStore(sql)),
      coordination: {
        pheromones: pg(cache),
        causal: pg(new PostgresCausalStore(sql)),
        deaths: pg(invalidatingCache(new PostgresDeathStore(sql, { entries, pheromones }), cache)),
        achievements: pg(new PostgresAchievementStore(sql)),
      },
      limiter,
      socketCounts: new FallbackSocketCounts(new RedisSocketCounts(redis.client), new MemorySocketCounts(clock)),
      counters,
      presence: guardOutages(new RedisPresence(redis.client), "Redis", isRedisOutage),
      pulse: new RedisPulseStore(redis.client),
      secrets: new PostgresSecretStore(sql, cluster),
      leadership: new PostgresLeadership({ url: databaseUrl, key: `styx-leader:${cluster}` }),
      cluster: {
        signals,
        async openFabric({ retentionMs }) {
          const history = new JetStreamHistory({ nats, cluster, retentionMs, clock, tracer });
          await history.open();
          const bus = guardOutages(new NatsEventBus(history), "NATS JetStream", isNatsOutage);
          return { history, bus, flush: () => history.flush(), close: () => history.close() };
        },
      },
      checks: [
        { name: "postgres", check: () => probe(async () => (await pingPostgres(sql), "PostgreSQL")) },
        { name: "nats", check: () => nats.check() },
        { name: "redis", check: () => redis.check() },
        { name: "s3", check: () => blobs.check() },
      ],
      meter: {
        measure: async () => {
          const [database, blobBytes, history] = await Promise.all([
            schemaBytes(sql, cluster),
            trackedBlobBytes(sql),
            eventStreamBytes(nats, cluster),
          ]);
          return { database, blobs: blobBytes, history };
        },
      },
      poolWait: () => poolWaitSeconds(sql, POOL_PROBE_TIMEOUT_MS),
      location: `cluster ${cluster}: PostgreSQL schema ${cluster}, JetStream ${cluster}, Redis ${cluster}:*, S3 ${config.s3.bucket}/${cluster}/`,
      async close() {
        for (const o of opened.reverse()) await o.close().catch(() => {});
      },
    };
  } catch (err) {
    for (const o of opened.reverse()) await o.close().catch(() => {});
    throw err;
  }
}

/**
 * The cluster's token buckets and quota counters in Redis, leased (STYX_LIMIT_LEASE > 0: a
 * gateway spends blocks locally, LeasedRateLimiter and LeasedUsageCounters; unspent quota blocks
 * given back every lease period and at close, before Redis closes), each behind the fallback to
 * this gateway's own state while Redis fails.
 */
function sharedLimits(
  redis: RedisConnection["client"],
  clock: Clock,
  leaseMs: number,
  opened: { close(): Promise<void> }[],
): { limiter: FallbackRateLimiter; counters: FallbackUsageCounters } {
  const buckets = new RedisRateLimiter(redis);
  const counters = new RedisUsageCounters(redis);
  const fallbacks = { limiter: new MemoryRateLimiter(clock), counters: new MemoryUsageCounters(clock) };
  if (leaseMs === 0) {
    return {
      limiter: new FallbackRateLimiter(buckets, fallbacks.limiter),
      counters: new FallbackUsageCounters(counters, fallbacks.counters),
    };
  }
  const leased = new LeasedUsageCounters({ inner: counters, clock, leaseMs });
  const sweeping = setInterval(() => void leased.sweep(), leaseMs);
  sweeping.unref();
  opened.push({
    close: async () => {
      clearInterval(sweeping);
      await leased.sweep(true);
    },
  });
  return {
    limiter: new FallbackRateLimiter(new LeasedRateLimiter({ leases: buckets, clock, leaseMs }), fallbacks.limiter),
    counters: new FallbackUsageCounters(leased, fallbacks.counters),
  };
}
