import type { EventBus } from "../core/fabric/event-bus.js";
import { streamKind } from "../core/fabric/streams.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { RateLimiter } from "../core/platform/rate-limiter.js";
import type { SocketCounts } from "../core/quota/socket-counts.js";
import type { Metrics } from "../server/metrics.js";
import { FallbackRateLimiter } from "./fallback-rate-limiter.js";
import { FallbackSocketCounts } from "./fallback-socket-counts.js";
import type { ProcessLog } from "./log.js";

/**
 * Hooks the metrics and the log of a process to its parts: events counted by stream kind, a
 * failing event subscriber logged, the gauges read at scrape time (live pheromones, the last
 * backup, the vector backlog), and — on a macronode — the rate limiter's and the socket counts'
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
  metrics.gauge(
    "styx_vector_backlog",
    "Vectors written but not yet in the ANN index (searched exactly meanwhile).",
    () => opts.vectors.backlog,
  );
}
