import type { EventBus } from "../core/fabric/event-bus.js";
import { streamKind } from "../core/fabric/streams.js";
import type { AuditLog } from "../core/platform/audit.js";
import { BackgroundSample } from "../core/platform/background-sample.js";
import type { RateLimiter } from "../core/platform/rate-limiter.js";
import { STORAGE_KINDS, type StorageMeter } from "../core/platform/storage-usage.js";
import type { SocketCounts } from "../core/quota/socket-counts.js";
import type { Metrics } from "../server/metrics.js";
import { FallbackRateLimiter } from "./fallback-rate-limiter.js";
import { FallbackSocketCounts } from "./fallback-socket-counts.js";
import type { ProcessLog } from "./log.js";

/** How often storage is measured at most (styx_storage_bytes): a directory walk and queries, never per scrape. */
export const STORAGE_MEASURE_EVERY_MS = 60_000;

/**
 * Hooks the metrics and the log of a process to its parts: events counted by stream kind, a
 * failing event subscriber logged, the gauges read at scrape time (live pheromones, the last
 * backup, the vector backlog, the dependencies' states; storage by kind and the PostgreSQL pool's
 * wait, both read in the background, never per scrape), and — on a macronode — the rate limiter's and the socket counts'
 * fall back to this gateway's own buckets and counts while Redis fails, and their return.
 */
export function instrument(opts: {
  metrics: Metrics;
  log: ProcessLog;
  bus: EventBus & { onError: (err: unknown) => void };
  limiter: RateLimiter;
  socketCounts: SocketCounts;
  audit: Pick<AuditLog, "latest">;
  pheromones: { countActive(): Promise<number> | number };
  vectors: { readonly backlog: number };
  /** The dependencies' states as the load monitor last sampled them (each second). */
  dependencies: () => ReadonlyMap<string, boolean>;
  /** What the data occupies (styx_storage_bytes), measured in the background at most once a period. */
  storage: { meter: StorageMeter; everyMs: number; capacityBytes: number | undefined };
  /** Macronode: the PostgreSQL pool probe (styx_postgres_pool_wait_seconds), every 5 s in the background. */
  poolWait: (() => Promise<number>) | undefined;
  now: () => number;
}): void {
  const { metrics, log, bus, limiter, audit, socketCounts } = opts;
  bus.subscribe((e) => metrics.events.inc({ stream: streamKind(e.stream) ?? "other" }));
  bus.onError = (err) => log.error({ err }, "event subscriber failed");
  if (limiter instanceof FallbackRateLimiter)
    limiter.watch({
      degraded: (err) => log.warn({ err }, "rate limits fall back to this gateway's own buckets: the shared store (Redis) failed"),
      restored: () => log.info({}, "shared rate limits (Redis) restored"),
    });
  if (socketCounts instanceof FallbackSocketCounts)
    socketCounts.watch({
      degraded: (err) => log.warn({ err }, "socket caps fall back to this gateway's own counts: the shared store (Redis) failed"),
      restored: () => log.info({}, "cluster-wide socket counts (Redis) restored"),
    });
  metrics.gauge("styx_pheromones_active", "Live pheromones (current intensity at or above the evaporation threshold).", () =>
    opts.pheromones.countActive(),
  );
  metrics.gauge(
    "styx_backup_last_success_timestamp_seconds",
    "When the last `styx backup` of this store succeeded (Unix seconds; 0: never), from its backup.created audit record.",
    async () => ((await audit.latest("backup.created"))?.ts ?? 0) / 1000,
  );
  metrics.labeledGauge(
    "styx_dependency_up",
    "1 while a dependency (sqlite, data_dir, memory; postgres, nats, redis, s3) answered its last check (sampled each second), else 0; writes are shed while one is down.",
    "dependency",
    () => [...opts.dependencies()].map(([name, up]) => [name, up ? 1 : 0] as const),
  );
  const storage = new BackgroundSample(() => opts.storage.meter.measure(), {
    everyMs: opts.storage.everyMs,
    now: opts.now,
    onError: (err) => log.warn({ err }, "measuring storage failed; styx_storage_bytes keeps its last figures"),
  });
  void storage.refresh();
  metrics.labeledGauge(
    "styx_storage_bytes",
    "What the data occupies, by kind (database, blobs, history; disjoint: their sum is the whole), measured in the background at most once a minute. Micronode: the SQLite file and WAL less the warm history's pages; the blob dir (cold history archives included); the warm history's pages. Macronode: the cluster's PostgreSQL tables; the blob bytes Styx tracks per owner (an upper bound of the bucket); the JetStream stream.",
    "kind",
    () => {
      storage.due();
      const u = storage.latest;
      return u ? STORAGE_KINDS.map((k) => [k, u[k]] as const) : [];
    },
  );
  const capacity = opts.storage.capacityBytes;
  if (capacity !== undefined) {
    metrics.gauge(
      "styx_storage_capacity_bytes",
      "Provisioned storage (STYX_STORAGE_CAPACITY): StyxStorageNearlyFull fires past 80 % of it.",
      () => capacity,
    );
  }
  if (opts.poolWait) {
    const pool = new BackgroundSample(opts.poolWait, {
      everyMs: 5000,
      now: opts.now,
      onError: (err) => log.warn({ err }, "probing the PostgreSQL pool failed"),
    });
    void pool.refresh();
    metrics.gauge(
      "styx_postgres_pool_wait_seconds",
      "How long the last probe (every 5 s) waited for an idle connection of this gateway's PostgreSQL pool, at most 5 s (also while PostgreSQL is down): seconds mean every connection is busy and queries queue.",
      () => {
        pool.due();
        return pool.latest ?? 0;
      },
    );
  }
  metrics.gauge(
    "styx_vector_backlog",
    "Vectors written but not yet in the ANN index (searched exactly meanwhile).",
    () => opts.vectors.backlog,
  );
}
