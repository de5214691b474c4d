import type { FastifyInstance } from "fastify";
import { StyxError } from "../../core/platform/errors.js";
import type { Metrics } from "../metrics.js";
import { toStyxError } from "../presenters/errors.js";

/**
 * Every error leaves in one shape, `{ error: { code, message, request_id, details? } }`, with
 * its table status. 5xx bodies carry a generic message; the cause is logged, never sent.
 */
export function registerErrors(app: FastifyInstance, metrics: Metrics): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toStyxError(err);
    if (e.status >= 500 && e.code === "STYX_INTERNAL") req.log.error({ err }, "unhandled error");
    else req.log.debug({ code: e.code, msg: e.message }, "request refused");
    if (e.code === "STYX_PAYLOAD_TOO_LARGE") metrics.rejected.inc({ reason: "too_large" });
    if (e.code === "STYX_DECOMPRESSION_LIMIT") metrics.rejected.inc({ reason: "decompression" });
    if (e.retryAfterSeconds !== undefined) reply.header("retry-after", String(e.retryAfterSeconds));
    const message = e.code === "STYX_INTERNAL" ? "Internal error; quote the request id to the operator." : e.message;
    const body: { code: string; message: string; request_id: string; details?: unknown } = {
      code: e.code,
      message,
      request_id: req.id,
    };
    if (e.details !== undefined && e.code !== "STYX_INTERNAL") body.details = e.details;
    return reply.code(e.status).type("application/json; charset=utf-8").send({ error: body });
  });
  app.setNotFoundHandler((req) => {
    throw new StyxError("STYX_ROUTE_NOT_FOUND", `No route ${req.method} ${req.url.split("?")[0]}.`);
  });
}
