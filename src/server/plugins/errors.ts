import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { ERROR_TABLE, type ErrorCode, StyxError } from "../../core/platform/errors.js";
import type { Metrics } from "../metrics.js";
import { toStyxError } from "../presenters/errors.js";

/**
 * Every error leaves in one shape, `{ error: { code, message, request_id, details? } }`, with
 * its table status. 5xx bodies carry a generic message; the cause is logged, never sent.
 */
export function registerErrors(
  app: FastifyInstance,
  metrics: Metrics,
  /** A refusal for a path no route serves, more precise than 404 STYX_ROUTE_NOT_FOUND (a feature switched off), or undefined. */
  unrouted?: (path: string) => StyxError | undefined,
): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toStyxError(err);
    if (e.status >= 500 && e.code === "STYX_INTERNAL") req.log.error({ err }, "unhandled error");
    else req.log.debug({ code: e.code, msg: e.message }, "request refused");
    if (e.code === "STYX_PAYLOAD_TOO_LARGE") metrics.rejected.inc({ reason: "too_large" });
    if (e.code === "STYX_DECOMPRESSION_LIMIT") metrics.rejected.inc({ reason: "decompression" });
    if (e.code === "STYX_QUOTA_EXCEEDED") metrics.rejected.inc({ reason: "quota" });
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
    const path = req.url.split("?")[0] as string;
    throw unrouted?.(path) ?? new StyxError("STYX_ROUTE_NOT_FOUND", `No route ${req.method} ${path}.`);
  });
}

/**
 * What the HTTP parser refuses before any route runs (headers past 16 KiB, broken framing, a
 * request that never finished arriving), in the same error shape; the connection is closed, as
 * Node does. Fastify's `clientErrorHandler`.
 */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const code: ErrorCode =
    err.code === "HPE_HEADER_OVERFLOW"
      ? "STYX_HEADERS_TOO_LARGE"
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "STYX_REQUEST_TIMEOUT"
        : "STYX_BAD_REQUEST";
  const spec = ERROR_TABLE[code];
  const body = JSON.stringify({ error: { code, message: spec.message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${spec.status} ${STATUS_CODES[spec.status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
