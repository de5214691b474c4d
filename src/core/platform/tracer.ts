/**
 * The Tracer port: spans around the work a request causes, without a vendor in core. Styx
 * implements it with OpenTelemetry (adapters/otel/) only while OTEL_EXPORTER_OTLP_ENDPOINT is
 * set; otherwise every caller holds `noTracer`, and the composition root wraps nothing.
 */

/** What a span stands for, as OpenTelemetry's span kinds. */
export type SpanKind = "internal" | "server" | "client" | "producer" | "consumer";

/** A span's attributes: flat, scalar values only (never a client's content). */
export type SpanAttributes = Readonly<Record<string, string | number | boolean>>;

/** How a span is started. */
export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: SpanAttributes;
  /**
   * Where the span hangs. Unset: under the active span, and with no active span (background
   * work) `fn` runs without one. A W3C `traceparent`: continues that remote trace. `null`: a new
   * trace (a socket message with no `traceparent`).
   */
  readonly parent?: string | null;
}

/** Starts spans; `span` ends its span when `fn`'s result settles (a promise) or at once (a value). */
export interface Tracer {
  /** False for `noTracer`: callers may skip building attributes. */
  readonly enabled: boolean;
  /** Runs `fn` inside a span named `name` (its failure recorded on the span, then thrown on). */
  span<T>(name: string, fn: () => T, options?: SpanOptions): T;
  /** The W3C `traceparent` of the active span, to carry across a process boundary (NATS headers). */
  traceparent(): string | undefined;
}

/** The tracer of a Styx without tracing: runs `fn`, knows no trace. */
export const noTracer: Tracer = {
  enabled: false,
  span: (_name, fn) => fn(),
  traceparent: () => undefined,
};

/** A W3C trace context `traceparent` of version 00 (SPEC §9's optional field of socket `event` messages). */
export const TRACEPARENT_PATTERN = "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$";
