/**
 * OpenTelemetry for a Styx process: the SDK's tracer provider exporting over OTLP/HTTP, the
 * standard instrumentations and @fastify/otel. Loaded by app/tracing.ts with a dynamic import
 * only while OTEL_EXPORTER_OTLP_ENDPOINT is set: with tracing off no module of this folder, and
 * so no OpenTelemetry package, is ever loaded.
 */
import { register } from "node:module";
import { FastifyOtelInstrumentation } from "@fastify/otel";
import { OTLPTraceExporter as OTLPJsonTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as OTLPProtoTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { AwsInstrumentation } from "@opentelemetry/instrumentation-aws-sdk";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PinoInstrumentation } from "@opentelemetry/instrumentation-pino";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-node";
import type { FastifyPluginCallback } from "fastify";
import { createAddHookMessageChannel } from "import-in-the-middle";
import type { Tracer } from "../../core/platform/tracer.js";
import { OtelTracer } from "./otel-tracer.js";

/** What `startOtel` needs: the OTLP endpoint and encoding, extra headers, the service's name and version, the sampled share. */
export interface OtelOptions {
  /** The collector's base URL; spans go to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  readonly protocol: "http/protobuf" | "http/json";
  readonly headers: ReadonlyMap<string, string>;
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Share of new traces sampled (0-1); a remote parent's sampled flag is followed. */
  readonly sampleRatio: number;
}

/** Tracing as started: the core Tracer, @fastify/otel's plugin for the server, and the exporter's flush and shutdown. */
export interface OtelTracing {
  readonly tracer: Tracer;
  /** Registered on the Fastify instance before any route: one span per request, named after its route. */
  readonly fastifyPlugin: FastifyPluginCallback;
  /**
   * Exports every span ended so far, waiting at most `timeoutMs`; resolves with the export's
   * error (a collector that is down or slow) instead of rejecting: a stop never fails for it.
   */
  flush(timeoutMs?: number): Promise<Error | undefined>;
  /** Unhooks the instrumentations, then flushes and stops exporting (bounded as `flush`). */
  shutdown(timeoutMs?: number): Promise<Error | undefined>;
}

/** How long a stop waits for the last spans to be exported by default. */
const FLUSH_TIMEOUT_MS = 2000;

/** `flush`, settled within `timeoutMs`: undefined when exported, else why not. */
async function boundedFlush(flush: Promise<void>, timeoutMs: number): Promise<Error | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`the collector took longer than ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([flush.then(() => undefined), late]);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    clearTimeout(timer);
  }
}

/** The traces URL of an OTLP/HTTP base endpoint (`…/v1/traces`, as the OpenTelemetry specification appends it). */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * Starts tracing for the process: registers the import hook (so the ESM imports of ioredis and
 * the AWS SDK that follow are instrumented), the tracer provider (W3C trace context propagation,
 * AsyncLocalStorage context) and the instrumentations. Modules imported before this call are
 * instrumented only where the instrumentation does not depend on load order (undici's
 * diagnostics channels, @fastify/otel's plugin), which is why `styx serve` calls it first.
 */
export async function startOtel(options: OtelOptions): Promise<OtelTracing> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register("import-in-the-middle/hook.mjs", import.meta.url, registerOptions);

  const headers = Object.fromEntries(options.headers);
  const exporterOptions = { url: tracesUrl(options.endpoint), headers };
  const exporter =
    options.protocol === "http/json" ? new OTLPJsonTraceExporter(exporterOptions) : new OTLPProtoTraceExporter(exporterOptions);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": options.serviceName, "service.version": options.serviceVersion }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  provider.register();

  const fastify = new FastifyOtelInstrumentation({ registerOnInitialization: false });
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation(),
      // The embedder's and the anonymizer's fetch (Node's undici).
      new UndiciInstrumentation(),
      // Redis calls outside a traced request (presence sweeps, timers) make no trace of their own.
      new IORedisInstrumentation({ requireParentSpan: true }),
      // One span per S3 call; its HTTP request is not traced again underneath.
      new AwsInstrumentation({ suppressInternalInstrumentation: true }),
      // Log correlation only: trace_id and span_id in each log line of a traced request.
      new PinoInstrumentation({ disableLogSending: true }),
      fastify,
    ],
  });
  await waitForAllMessagesAcknowledged();

  return {
    tracer: new OtelTracer(provider.getTracer("styx", options.serviceVersion)),
    fastifyPlugin: fastify.plugin() as FastifyPluginCallback,
    flush: (timeoutMs = FLUSH_TIMEOUT_MS) => boundedFlush(provider.forceFlush(), timeoutMs),
    shutdown: (timeoutMs = FLUSH_TIMEOUT_MS) => {
      unregister();
      return boundedFlush(provider.shutdown(), timeoutMs);
    },
  };
}
