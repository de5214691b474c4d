import { isRetryable } from "./generated/errors.js";

/** An error answer from Styx: `{ error: { code, message, request_id, details } }` with its HTTP status (0 for a socket's error frame). */
export class StyxError extends Error {
  override readonly name = "StyxError";
  /** The stable `STYX_*` code (docs/errors.md in the server repository). */
  readonly code: string;
  readonly status: number;
  readonly requestId: string | undefined;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, requestId?: string, details?: unknown) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }

  /**
   * True when the same call may succeed later unchanged: the server's error table says so per code
   * (rate limit, overload, shutdown, internal fault, a timeout, …); a code the table lacks is
   * retryable when its status is 429 or a 5xx.
   */
  get retryable(): boolean {
    return isRetryable(this.code, this.status);
  }
}

/** Styx could not be reached (connection refused, reset, DNS, timeout); `cause` holds the network error. */
export class StyxUnreachableError extends Error {
  override readonly name = "StyxUnreachableError";
}

/** The circuit breaker is open: the call was not attempted. `retryInMs` says when a trial is allowed. */
export class CircuitOpenError extends Error {
  override readonly name = "CircuitOpenError";
  readonly retryInMs: number;

  constructor(retryInMs: number) {
    super(`Styx is unreachable; the circuit breaker is open (next trial in ${Math.ceil(retryInMs)} ms)`);
    this.retryInMs = retryInMs;
  }
}

/** The offline write queue is full: Styx has been unreachable for `max` queued writes; this one was not kept. */
export class OfflineQueueFullError extends Error {
  override readonly name = "OfflineQueueFullError";
  readonly max: number;

  constructor(max: number) {
    super(`the offline write queue is full (${max} writes wait for Styx); this write was refused`);
    this.max = max;
  }
}

/** The client was closed while the call waited. */
export class ClientClosedError extends Error {
  override readonly name = "ClientClosedError";
}

/** True for failures that mean "Styx is not there now" (network, open breaker, 503 shutting down or overloaded). */
export function isUnavailable(err: unknown): boolean {
  return err instanceof StyxUnreachableError || err instanceof CircuitOpenError || (err instanceof StyxError && err.status === 503);
}
