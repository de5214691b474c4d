import type { FastifyInstance } from "fastify";
import type { Metrics } from "../metrics.js";

/** Per-request metrics and the `x-request-id` response header. */
export function registerObservability(app: FastifyInstance, metrics: Metrics): void {
  app.addHook("onRequest", async (req, reply) => {
    metrics.inflight.inc();
    metrics.inflightNow++;
    // 'close' fires once per response, answered or aborted mid-body (onResponse misses aborts).
    reply.raw.once("close", () => {
      metrics.inflight.dec();
      metrics.inflightNow--;
    });
    reply.header("x-request-id", req.id);
  });
  app.addHook("onResponse", async (req, reply) => {
    const route = req.routeOptions.url ?? "unmatched";
    metrics.requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    metrics.duration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes a well-formed `x-request-id` from the client, otherwise makes one. */
export function genRequestId(req: { headers: Record<string, string | string[] | undefined> }): string {
  const given = req.headers["x-request-id"];
  if (typeof given === "string" && REQUEST_ID.test(given)) return given;
  return `req_${globalThis.crypto.randomUUID()}`;
}
