import type { FastifyError } from "fastify";
import { type ErrorCode, StyxError } from "../../core/platform/errors.js";
import { type AjvIssue, validationError } from "../../protocol/json-rules.js";

/** Fastify's error codes that are the client's doing, and the Styx code each answers with (a Map: `e.code` is any thrown string). */
const FASTIFY_CODES = new Map<string, ErrorCode>([
  ["FST_ERR_CTP_BODY_TOO_LARGE", "STYX_PAYLOAD_TOO_LARGE"],
  ["FST_ERR_CTP_INVALID_MEDIA_TYPE", "STYX_UNSUPPORTED_MEDIA_TYPE"],
  ["FST_ERR_CTP_INVALID_CONTENT_LENGTH", "STYX_BAD_REQUEST"],
  ["FST_ERR_CTP_EMPTY_JSON_BODY", "STYX_BAD_JSON"],
  ["FST_ERR_CTP_INVALID_JSON_BODY", "STYX_BAD_JSON"],
  ["FST_ERR_MAX_PARAM_LENGTH", "STYX_URI_TOO_LONG"],
  ["FST_ERR_BAD_URL", "STYX_BAD_REQUEST"],
]);

/** Turns anything thrown while handling a request into a StyxError (unknown errors → STYX_INTERNAL). */
export function toStyxError(err: unknown): StyxError {
  if (err instanceof StyxError) return err;
  const e = err as FastifyError & { validation?: AjvIssue[]; validationContext?: string };
  if (Array.isArray(e.validation)) return validationError(e.validation, e.validationContext ?? "request");
  const mapped = typeof e.code === "string" ? FASTIFY_CODES.get(e.code) : undefined;
  if (mapped) return new StyxError(mapped, e.message, { cause: err });
  if (e instanceof SyntaxError && e.statusCode === 400) return new StyxError("STYX_BAD_JSON", e.message, { cause: err });
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    if (e.statusCode === 413) return new StyxError("STYX_PAYLOAD_TOO_LARGE", undefined, { cause: err });
    if (e.statusCode === 415) return new StyxError("STYX_UNSUPPORTED_MEDIA_TYPE", undefined, { cause: err });
    return new StyxError("STYX_BAD_REQUEST", e.message, { cause: err });
  }
  return new StyxError("STYX_INTERNAL", undefined, { cause: err });
}
