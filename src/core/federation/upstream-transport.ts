import type { StreamPosition } from "../fabric/history.js";
import type { FederationRecord } from "./records.js";

/**
 * The downstream's view of its upstream (SPEC §17.2): what the link says and hears, in domain
 * form. Implemented over HTTP (hello, pushes, snapshots) and the server's own socket (record
 * streams) in adapters/http/; a test double of this port drives the link's unit tests.
 */
export interface UpstreamTransport {
  /** `POST /v1/styx/federation/hello`; throws UpstreamError. `signal` aborts it (the link stops). */
  hello(request: HelloRequest, signal?: AbortSignal): Promise<HelloReply>;
  /** `POST /v1/styx/federation/records` with at most MAX_RECORDS_PER_PUSH records; throws UpstreamError. `signal` aborts it. */
  push(records: readonly FederationRecord[], signal?: AbortSignal): Promise<PushReply>;
  /**
   * `GET /v1/styx/federation/snapshot?domain=`: the domain's live records, then its position.
   * Throws UpstreamError (before or while iterating); a stream that ends without a position is
   * an error too (an incomplete snapshot is never taken as the whole). `signal` aborts the read.
   */
  snapshot(domain: string, signal?: AbortSignal): AsyncIterable<SnapshotLine>;
  /**
   * Opens the record socket and resolves once it is authenticated (throws UpstreamError). The
   * handlers hear every record, every resume answer, and the close (once).
   */
  open(handlers: RecordHandlers): Promise<RecordChannel>;
}

/** The hello the downstream sends at every connect. */
export interface HelloRequest {
  readonly instanceId: string;
  readonly version: string;
  /** Flows as STYX_FEDERATE writes them (`pheromone`, `lethe:down`, …). */
  readonly flows: readonly string[];
  /** Domains, or `["*"]`. */
  readonly domains: readonly string[];
  readonly embedDim: number;
}

/** The upstream's answer to hello. */
export interface HelloReply {
  readonly instanceId: string;
  readonly version: string;
  readonly flows: readonly string[];
  readonly domains: readonly string[];
  readonly embedDim: number;
  /** `federation:{domain}` → current position, for the domains the upstream named. */
  readonly positions: ReadonlyMap<string, StreamPosition>;
}

/** The upstream's answer to a push: how many were applied or known, and which (by index) were refused with what code. */
export interface PushReply {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: readonly { readonly index: number; readonly code: string }[];
}

/** One snapshot line: a record (or one that did not decode, with why), or the closing position. */
export type SnapshotLine =
  | { readonly type: "record"; readonly record: FederationRecord }
  | { readonly type: "invalid"; readonly reason: string }
  | { readonly type: "position"; readonly position: StreamPosition };

/** A resume's answer for one stream (`recovered: false`: events were lost; the link takes the snapshot). */
export interface ResumeOutcome {
  readonly recovered: boolean;
  readonly position: StreamPosition;
  readonly reason?: string;
}

/** What the record socket reports. Called synchronously, in arrival order. */
export interface RecordHandlers {
  /** A `styx:federation:record` event at `position` of `stream`; `record` undefined when it did not decode (`reason`). */
  record(stream: string, position: StreamPosition, record: FederationRecord | undefined, reason?: string): void;
  /** The answer to a resume, per stream. */
  resumed(stream: string, outcome: ResumeOutcome): void;
  /** The socket closed (or failed); `error` says why, as an UpstreamError. Called once. */
  closed(error: UpstreamError): void;
}

/** An open record socket. */
export interface RecordChannel {
  /** Follows each stream from its position (the server replays what came after it, then live events). */
  resume(positions: ReadonlyMap<string, StreamPosition>): void;
  /** Closes the socket (`closed` is still called). */
  close(): void;
}

/**
 * How a call to the upstream failed:
 * - `network`: no answer (refused connection, timeout, reset, an unreadable answer);
 * - `unavailable`: 5xx;
 * - `throttled`: 429 (`retryAfterMs` from Retry-After when given), or 402 STYX_CREDIT_EXHAUSTED
 *   (a priced upstream paused the link's down-flow until its federation user tops up);
 * - `too_large`: 413 (a push too big for the upstream's body limit);
 * - `refused`: 401 or 403 (the key is wrong, revoked, or lacks `federate`), or 409
 *   STYX_FEDERATION_LOOP — trying again changes nothing until the configuration does;
 * - `not_linked`: 409 STYX_FEDERATION_NOT_LINKED (the upstream forgot the hello: say it again);
 * - `invalid`: any other 4xx (a bug of one side: logged, retried slowly).
 */
export type UpstreamFailure = "network" | "unavailable" | "throttled" | "too_large" | "refused" | "not_linked" | "invalid";

/** A failed call to the upstream, classified (see UpstreamFailure); `code` is the upstream's error code when it sent one. */
export class UpstreamError extends Error {
  readonly failure: UpstreamFailure;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    failure: UpstreamFailure,
    message: string,
    opts: { status?: number | undefined; code?: string | undefined; retryAfterMs?: number | undefined; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "UpstreamError";
    this.failure = failure;
    this.status = opts.status;
    this.code = opts.code;
    this.retryAfterMs = opts.retryAfterMs;
  }
}

/** The failure class of an HTTP status and error code from the upstream (see UpstreamFailure). */
export function failureOf(status: number, code: string | undefined): UpstreamFailure {
  if (status === 429 || status === 402) return "throttled";
  if (status === 413) return "too_large";
  if (status >= 500) return "unavailable";
  if (status === 401 || status === 403) return "refused";
  if (status === 409) return code === "STYX_FEDERATION_NOT_LINKED" ? "not_linked" : "refused";
  return "invalid";
}

/** The domain of a `federation:{domain}` stream, else undefined. */
export function federationDomain(stream: string): string | undefined {
  return stream.startsWith("federation:") ? stream.slice("federation:".length) : undefined;
}
