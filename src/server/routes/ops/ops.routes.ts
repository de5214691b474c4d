import type { FastifyInstance } from "fastify";
import type { DependencyCheck, DependencyStatus } from "../../../core/platform/health.js";
import { Health, MetricsText, Readiness, ReadinessQuery } from "../../../protocol/ops.js";
import type { LoadMonitor } from "../../load-monitor.js";
import type { Metrics } from "../../metrics.js";

/** Dependencies of the ops routes. */
export interface OpsDeps {
  readonly version: string;
  readonly profile: "micro" | "macro";
  readonly amnesia: boolean;
  readonly startedAt: number;
  readonly dependencies: readonly DependencyCheck[];
  /** Links to other Styx (the federation upstream): listed by health, never in its status nor in readiness. */
  readonly links?: readonly DependencyCheck[];
  readonly load: Pick<LoadMonitor, "state">;
  readonly metrics: Metrics;
  /** A shutdown's drain window: not ready, so load balancers stop sending, while requests are still served. */
  readonly draining: () => boolean;
}

const ops = { auth: "public", exempt: true } as const;

/** `/v1/styx/health`, `/readyz`, `/metrics`: public, never rate limited. */
export function opsRoutes(app: FastifyInstance, deps: OpsDeps): void {
  app.get(
    "/v1/styx/health",
    { config: ops, schema: { tags: ["ops"], summary: "Liveness and each dependency's status", response: { 200: Health } } },
    async () => {
      const entries = await Promise.all(deps.dependencies.map(async (d) => [d.name, await d.check()] as const));
      const dependencies: Record<string, DependencyStatus> = Object.fromEntries(entries);
      const links = deps.links?.length
        ? Object.fromEntries(await Promise.all(deps.links.map(async (d) => [d.name, await d.check()])))
        : undefined;
      return {
        status: entries.every(([, s]) => s.status === "up") ? ("ok" as const) : ("degraded" as const),
        version: deps.version,
        profile: deps.profile,
        amnesia: deps.amnesia,
        uptime_s: Math.round((performance.now() - deps.startedAt) / 10) / 100,
        dependencies,
        ...(links ? { links } : {}),
      };
    },
  );

  app.get<{ Querystring: ReadinessQuery }>(
    "/readyz",
    {
      config: ops,
      schema: {
        tags: ["ops"],
        summary: "Readiness: 503 once writes are shed (?for=reads: once reads are)",
        querystring: ReadinessQuery,
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (req, reply) => {
      const s = deps.load.state();
      const draining = deps.draining();
      const ready = (req.query.for === "reads" ? s.acceptingReads : s.acceptingWrites) && !draining;
      reply.code(ready ? 200 : 503);
      return {
        ready,
        accepting_writes: s.acceptingWrites,
        accepting_reads: s.acceptingReads,
        reasons: draining ? ["draining", ...s.reasons] : [...s.reasons],
      };
    },
  );

  app.get(
    "/metrics",
    {
      config: ops,
      schema: {
        tags: ["ops"],
        summary: "Prometheus metrics (text exposition format)",
        response: { 200: { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: MetricsText } } } },
      },
    },
    async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
}
