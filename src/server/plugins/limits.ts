import type { FastifyInstance, FastifyRequest } from "fastify";
import { StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { identityBucket, ipBucket, takeToken } from "../admission.js";
import type { LoadMonitor } from "../load-monitor.js";
import type { Metrics } from "../metrics.js";

/** Options of the admission hooks. */
export interface LimitsOptions {
  readonly limiter: RateLimiter;
  readonly perIdentity: BucketSpec;
  readonly perIp: BucketSpec;
  readonly load: Pick<LoadMonitor, "state">;
  readonly metrics: Metrics;
  /** True once shutdown began: new requests are refused with 503 and `Connection: close`. */
  readonly closing: () => boolean;
}

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

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
      throw new StyxError("STYX_SHUTTING_DOWN", undefined, { retryAfterSeconds: 1 });
    }
    if (req.routeOptions.config.exempt) return;
    const load = opts.load.state();
    if (isRead(req) ? !load.acceptingReads : !load.acceptingWrites) {
      opts.metrics.rejected.inc({ reason: "overloaded" });
      throw new StyxError("STYX_OVERLOADED", undefined, { retryAfterSeconds: 1, details: { reasons: load.reasons } });
    }
    await take(opts, ipBucket(req.ip), opts.perIp);
  });
}

/** The per-identity token bucket, keyed by credential (API key, session or admin). */
export async function identityLimit(opts: LimitsOptions, req: FastifyRequest): Promise<void> {
  const p = req.principal;
  if (!p || req.routeOptions.config.exempt) return;
  await take(opts, identityBucket(p), opts.perIdentity);
}

function take(opts: LimitsOptions, bucket: string, spec: BucketSpec): Promise<void> {
  return takeToken(opts.limiter, bucket, spec, () => opts.metrics.rejected.inc({ reason: "rate_limit" }));
}
