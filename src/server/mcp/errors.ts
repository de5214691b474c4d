import { ProtocolError } from "@modelcontextprotocol/server";
import { ERROR_TABLE, StyxError } from "../../core/platform/errors.js";
import { toStyxError } from "../presenters/errors.js";
import { type McpDeps, PRICED_OVER_MCP } from "./types.js";

/**
 * Styx errors as MCP sees them. JSON-RPC has few codes, so the Styx code always travels in
 * `data.styx_code` (with `status`, `retryable` and any `details`), and the JSON-RPC code says
 * only whose fault it was: the request's (-32602 invalid params), a missing resource (-32002,
 * the code MCP gives an unknown resource URI), the credential's (-32001), or the server's
 * (-32603). A tool's failure is a tool result with `isError` instead (MCP's rule: the model
 * reads it), carrying the same `data` as its structured content.
 */

/** JSON-RPC error codes used for Styx errors. */
export const MCP_CODES = { invalidParams: -32602, internal: -32603, unauthorized: -32001 } as const;

/** What a client learns of a Styx error: the `data` of an MCP error. */
export interface StyxErrorData {
  readonly styx_code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: unknown;
}

/** The JSON-RPC code of a Styx error, by its HTTP status. */
export function mcpCode(status: number): number {
  if (status === 401 || status === 403) return MCP_CODES.unauthorized;
  if (status >= 400 && status < 500 && status !== 429) return MCP_CODES.invalidParams;
  return MCP_CODES.internal;
}

/** The `data` of a Styx error. */
export function errorData(e: StyxError): StyxErrorData {
  return {
    styx_code: e.code,
    status: e.status,
    retryable: ERROR_TABLE[e.code].retryable,
    ...(e.details === undefined ? {} : { details: e.details }),
  };
}

/** Anything thrown by a Styx call as an MCP protocol error (an MCP error passes through; unknown errors → STYX_INTERNAL). */
export function toMcpError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  const e = toStyxError(err);
  const message = e.code === "STYX_INTERNAL" ? ERROR_TABLE.STYX_INTERNAL.message : e.message;
  return new ProtocolError(mcpCode(e.status), message, errorData(e));
}

/** A tool's failure as its result: `isError`, the message as text, `{ error: data }` as structured content. */
export function toolError(err: unknown): {
  content: { type: "text"; text: string }[];
  structuredContent: { error: StyxErrorData & { message: string } };
  isError: true;
} {
  const e = toStyxError(err);
  const message = e.code === "STYX_INTERNAL" ? ERROR_TABLE.STYX_INTERNAL.message : e.message;
  return {
    content: [{ type: "text", text: `${e.code}: ${message}` }],
    structuredContent: { error: { ...errorData(e), message } },
    isError: true,
  };
}

/**
 * Throws STYX_PAYMENT_REQUIRED for an MCP call `name` that does what a priced route does while
 * pricing is on: MCP carries no x402 payment, and serving it would make /mcp a free way around
 * the prices (SPEC §11).
 */
export function refusePriced(deps: Pick<McpDeps, "priced">, name: string): void {
  const route = PRICED_OVER_MCP.get(name);
  if (!deps.priced || route === undefined) return;
  throw new StyxError(
    "STYX_PAYMENT_REQUIRED",
    `${name} is priced on this Styx and MCP carries no payment: call ${route} over HTTP with an x402 payment.`,
  );
}
