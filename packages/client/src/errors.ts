/** An error answer from Styx: `{ error: { code, message, request_id, details } }` with its HTTP status. */
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

  /** True when the same call may succeed later (rate limit, overload, shutdown, internal). */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
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
