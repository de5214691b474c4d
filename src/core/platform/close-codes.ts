/**
 * Every WebSocket close code a Styx socket can end with, and whether a client should reconnect
 * after it. The error table (`errors.ts`) points each error at one of these; the rest are RFC 6455
 * codes the protocol library or the network produce. `reconnect` is decided per close code because
 * a close code is all a client learns: several errors share one (4401, 1011). The rule: a close
 * that judges the connection itself (credential, permission, payment; a 44xx whose errors are not
 * retryable) ends it for good, since a new socket with the same credential meets the same answer;
 * a close about the server (restart, overload, fault) or about how the socket behaved (too slow,
 * silent, flooding, a frame too big) reconnects, after the client's backoff, and resumes every
 * stream: what caused it is not sent again. A refused message gets an error frame and leaves the
 * socket open (SPEC §12), so a close is rarely about one message. `docs/errors.md` documents each
 * code; `scripts/gen-client.mts` turns this table into `@styx/client`'s reconnect rule. A client
 * reconnects after a code this table does not know.
 */
export const CLOSE_CODES = {
  1000: { name: "Normal Closure", reconnect: true },
  1001: { name: "Going Away", reconnect: true },
  1002: { name: "Protocol Error", reconnect: true },
  1005: { name: "No Status Received", reconnect: true },
  1006: { name: "Abnormal Closure", reconnect: true },
  1007: { name: "Invalid Frame Payload Data", reconnect: true },
  1009: { name: "Message Too Big", reconnect: true },
  1011: { name: "Internal Error", reconnect: true },
  1012: { name: "Service Restart", reconnect: true },
  1013: { name: "Try Again Later", reconnect: true },
  4008: { name: "Slow Consumer", reconnect: true },
  4009: { name: "Ping Timeout", reconnect: true },
  4400: { name: "Bad Request", reconnect: false },
  4401: { name: "Unauthorized", reconnect: false },
  // SPEC §11.5 names it (STYX_PAYMENT_REQUIRED, STYX_PAYMENT_INVALID) before the error table has a row for it.
  4402: { name: "Payment Required", reconnect: false },
  4403: { name: "Forbidden", reconnect: false },
  4404: { name: "Not Found", reconnect: false },
  4408: { name: "Request Timeout", reconnect: true },
  4409: { name: "Conflict", reconnect: false },
  4410: { name: "Gone", reconnect: true },
  4414: { name: "URI Too Long", reconnect: false },
  4415: { name: "Unsupported Media Type", reconnect: false },
  4416: { name: "Range Not Satisfiable", reconnect: false },
  4429: { name: "Too Many Requests", reconnect: true },
  4431: { name: "Request Header Fields Too Large", reconnect: false },
} as const satisfies Record<number, CloseSpec>;

/** One row of the close-code table. */
export interface CloseSpec {
  /** The RFC 6455 name of a 1xxx code; the HTTP reason phrase of a 44xx one. */
  readonly name: string;
  /** Whether a client should open a new socket (after its backoff) and resume after this close. */
  readonly reconnect: boolean;
}

/** A close code Styx knows. */
export type CloseCode = keyof typeof CLOSE_CODES;
