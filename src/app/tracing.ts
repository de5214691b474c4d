import type { FastifyPluginCallback } from "fastify";
import type { TracingConfig } from "../config/load.js";
import type { SpanAttributes, Tracer } from "../core/platform/tracer.js";
import type { Storage } from "./storage.js";
import { VERSION } from "./version.js";

/**
 * Tracing as the composition root holds it: the Tracer port (OpenTelemetry's, or `noTracer`),
 * the server's plugin and the exporter's flush.
 */
export interface Tracing {
  readonly tracer: Tracer;
  readonly fastifyPlugin: FastifyPluginCallback;
  /** Exports the spans ended so far within a bound; resolves with why it could not (never rejects). */
  flush(): Promise<Error | undefined>;
}

let started: Promise<Tracing> | undefined;

/**
 * Starts OpenTelemetry once per process (the first configuration wins: the SDK registers itself
 * globally). adapters/otel/ and with it every OpenTelemetry package is imported here and only
 * here, on the first call: a Styx without OTEL_EXPORTER_OTLP_ENDPOINT never calls this. `styx
 * serve` calls it before importing the server, so the instrumentations see every module load.
 */
export function startTracing(config: TracingConfig): Promise<Tracing> {
  started ??= import("../adapters/otel/sdk.js").then((otel) => otel.startOtel({ ...config, serviceVersion: VERSION }));
  return started;
}

/**
 * The port `port` with each method call in a span named `<name>.<method>` (a child of the active
 * span; none outside a trace), calling the adapter itself (its private fields intact). With a
 * disabled tracer, `port` itself. This is where store spans come from: core and the store
 * adapters hold no tracing code.
 */
export function tracePort<T extends object>(tracer: Tracer, name: string, port: T, attributes: SpanAttributes = {}): T {
  if (!tracer.enabled) return port;
  // By function, not by name: a property set later (`bus.onError = …`) is read back as set.
  const wrapped = new WeakMap<object, unknown>();
  return new Proxy(port, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function" || prop === "constructor") return value;
      let fn = wrapped.get(value);
      if (!fn) {
        const spanName = `${name}.${String(prop)}`;
        const options = { kind: "client" as const, attributes: { "styx.port": name, ...attributes } };
        fn = (...args: unknown[]) => tracer.span(spanName, () => Reflect.apply(value, target, args), options);
        wrapped.set(value, fn);
      }
      return fn;
    },
    // Accessors run on the adapter itself (`bus.onError = …` reaches its setter with its private fields).
    set: (target, prop, value) => Reflect.set(target, prop, value, target),
  });
}

/** The stores whose calls a request's trace shows, wrapped by `tracePort`; the rest of `storage` as it is. */
export function traceStorage(storage: Storage, tracer: Tracer, system: string): Storage {
  if (!tracer.enabled) return storage;
  const at = { "db.system.name": system };
  const c = storage.coordination;
  return {
    ...storage,
    identity: tracePort(tracer, "IdentityStore", storage.identity, at),
    entries: tracePort(tracer, "EntryStore", storage.entries, at),
    events: storage.events && tracePort(tracer, "EventLog", storage.events, at),
    clade: tracePort(tracer, "CladeStore", storage.clade, at),
    quotas: tracePort(tracer, "QuotaStore", storage.quotas, at),
    marketplace: tracePort(tracer, "MarketplaceStore", storage.marketplace, at),
    federation: tracePort(tracer, "FederationStore", storage.federation, at),
    coordination: {
      pheromones: tracePort(tracer, "PheromoneStore", c.pheromones, at),
      causal: tracePort(tracer, "CausalStore", c.causal, at),
      deaths: tracePort(tracer, "DeathStore", c.deaths, at),
      achievements: tracePort(tracer, "AchievementStore", c.achievements, at),
    },
  };
}
