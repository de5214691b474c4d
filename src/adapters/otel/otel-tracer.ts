import {
  type Context,
  context,
  type Tracer as OtelApiTracer,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { SpanOptions, SpanKind as StyxSpanKind, Tracer } from "../../core/platform/tracer.js";

const KINDS: Readonly<Record<StyxSpanKind, SpanKind>> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** Reads a W3C `traceparent` out of a one-key carrier. */
const fromTraceparent = {
  get: (carrier: string, key: string) => (key === "traceparent" ? carrier : undefined),
  keys: () => ["traceparent"],
};

/** The core Tracer port over OpenTelemetry's API (whichever provider is registered: the SDK's, see sdk.ts). */
export class OtelTracer implements Tracer {
  readonly enabled = true;
  readonly #tracer: OtelApiTracer;

  constructor(tracer: OtelApiTracer = trace.getTracer("styx")) {
    this.#tracer = tracer;
  }

  span<T>(name: string, fn: () => T, options: SpanOptions = {}): T {
    const parent = this.#parentOf(options.parent);
    if (!parent) return fn();
    const span = this.#tracer.startSpan(name, { kind: KINDS[options.kind ?? "internal"], attributes: options.attributes }, parent);
    return context.with(trace.setSpan(parent, span), () => {
      let result: T;
      try {
        result = fn();
      } catch (err) {
        fail(span, err);
        throw err;
      }
      // The chained promise is returned, so a rejection nobody handles is still reported as unhandled.
      if (isThenable(result))
        return result.then(
          (value) => (span.end(), value),
          (err: unknown) => {
            fail(span, err);
            throw err;
          },
        ) as T;
      span.end();
      return result;
    });
  }

  traceparent(): string | undefined {
    const carrier: Record<string, string> = {};
    propagation.inject(context.active(), carrier);
    return carrier.traceparent;
  }

  /** The context a new span starts in; undefined: no span (no active trace and no remote parent). */
  #parentOf(parent: string | null | undefined): Context | undefined {
    if (parent === null) return ROOT_CONTEXT;
    if (parent !== undefined) return propagation.extract(ROOT_CONTEXT, parent, fromTraceparent);
    const active = context.active();
    return trace.getSpan(active) ? active : undefined;
  }
}

function fail(span: Span, err: unknown): void {
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : undefined });
  span.end();
}

function isThenable<T>(v: T): v is T & PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}
