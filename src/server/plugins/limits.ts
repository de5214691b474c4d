import type { FastifyInstance, FastifyRequest } from "fastify";
import { StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import type { QuotaPolicy } from "../../core/quota/limits.js";
import { ipBucket, limitIdentity, takeToken } from "../admission.js";
import type { LoadMonitor } from "../load-monitor.js";
import type { Metrics } from "../metrics.js";

/** Options of the admission hooks. */
export interface LimitsOptions {
  readonly limiter: RateLimiter;
  /** The admin token's bucket (STYX_RATE_LIMIT); users' come from `quotas`. */
  readonly perIdentity: BucketSpec;
  /** Each user's limits: the bucket every key and session of the user draws from. */
  readonly quotas: Pick<QuotaPolicy, "limitsOf">;
  readonly perIp: BucketSpec;
  readonly load: Pick<LoadMonitor, "state">;
  readonly metrics: Metrics;
  /** True once shutdown began: new requests are refused with 503 and `Connection: close`. */
  readonly closing: () => boolean;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);
/** The wait a 503 refusal asks for (SPEC §12: `Retry-After` and `details.retry_after_ms` on every refusal). */
const RETRY_MS = 1000;

/** True for requests that change nothing: safe methods, and routes declared `scope: "read"` (a POST query). */
export function isRead(req: FastifyRequest): boolean {
  return READS.has(req.method) || req.routeOptions.config.scope === "read";
}

/**
 * Admission before any work: shutdown refusal, load shedding (writes first), then the per-IP
 * token bucket. The per-identity bucket runs after authentication (`identityLimitHook`).
 * Operational routes (`config.exempt`) bypass all of it.
 */
export function registerAdmission(app: FastifyInstance, opts: LimitsOptions): void {
  // Responses finished while draining close their connection, so keep-alive sockets do not
  // hold the shutdown open.
  app.addHook("onSend", async (_req, reply, payload) => {
    if (opts.closing()) reply.header("connection", "close");
    return payload;
  });
  app.addHook("onRequest", async (req, reply) => {
    if (opts.closing()) {
      opts.metrics.rejected.inc({ reason: "shutting_down" });
      reply.header("connection", "close");
      throw new StyxError("STYX_SHUTTING_DOWN", undefined, { retryAfterSeconds: 1, details: { retry_after_ms: RETRY_MS } });
    }
    if (req.routeOptions.config.exempt) return;
    const load = opts.load.state();
    if (isRead(req) ? !load.acceptingReads : !load.acceptingWrites) {
      opts.metrics.rejected.inc({ reason: "overloaded" });
      throw new StyxError("STYX_OVERLOADED", undefined, {
        retryAfterSeconds: 1,
        details: { reasons: load.reasons, retry_after_ms: RETRY_MS },
      });
    }
    await take(opts, ipBucket(req.ip), opts.perIp);
  });
}

/** The per-identity token buckets (the user's, a golem credential's own, the admin token's): `limitIdentity`, as on sockets. */
export async function identityLimit(opts: LimitsOptions, req: FastifyRequest): Promise<void> {
  const p = req.principal;
  if (!p || req.routeOptions.config.exempt) return;
  await limitIdentity(
    {
      limiter: opts.limiter,
      quotas: opts.quotas,
      adminRate: opts.perIdentity,
      refused: () => opts.metrics.rejected.inc({ reason: "rate_limit" }),
    },
    p,
  );
}

function take(opts: LimitsOptions, bucket: string, spec: BucketSpec): Promise<void> {
  return takeToken(opts.limiter, bucket, spec, () => opts.metrics.rejected.inc({ reason: "rate_limit" }));
}
