import type { FastifyInstance } from "fastify";
import type { CausalService } from "../../../core/coordination/causal-service.js";
import type { Golem } from "../../../core/identity/types.js";
import { ErrorBody } from "../../../protocol/common.js";
import { CausalPublishAnswer, CausalPublishBody, DiscoverAnswer, DiscoverQuery } from "../../../protocol/coordination.js";
import { tenantGolem } from "../../context.js";
import { presentEdge } from "../../presenters/coordination.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

/** `POST /v1/styx/causal/publish` and `GET /v1/styx/causal/discover` (SPEC §7). */
export function causalRoutes(app: FastifyInstance, deps: { causal: CausalService }): void {
  app.post<{ Body: CausalPublishBody }>(
    "/v1/styx/causal/publish",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem", acts: true }] },
      schema: {
        tags: ["coordination"],
        summary: "Publish a causal edge (another publisher's agreement validates it, disagreement contradicts it)",
        body: CausalPublishBody,
        response: { 201: CausalPublishAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      return reply.code(201).send(await publishEdge(deps.causal, tenantGolem(req, b.golem_id), b));
    },
  );

  app.get<{ Querystring: DiscoverQuery }>(
    "/v1/styx/causal/discover",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["coordination"],
        summary: "Federated causal edges, most validated first (no publisher is ever named)",
        querystring: DiscoverQuery,
        response: { 200: DiscoverAnswer, ...errors },
      },
    },
    async (req) => discoverEdges(deps.causal, req.query),
  );
}

/** A causal publication, as answered (HTTP and MCP `publish_causal`). */
export async function publishEdge(causal: Pick<CausalService, "publish">, golem: Golem, b: Omit<CausalPublishBody, "golem_id">) {
  const { edge, outcome } = await causal.publish(golem, {
    fromVariable: b.from_variable,
    toVariable: b.to_variable,
    direction: b.direction,
    strength: b.strength,
    lagTicks: b.lag_ticks,
    evidenceCount: b.evidence_count,
    confidence: b.confidence,
    domain: b.domain,
    regime: b.regime,
  });
  return { id: edge.id, outcome, strength: edge.strength, validations: edge.validations, contradictions: edge.contradictions };
}

/** Federated causal edges, as answered (HTTP and MCP `discover_causal`). */
export async function discoverEdges(causal: Pick<CausalService, "discover">, q: DiscoverQuery) {
  const edges = await causal.discover({
    domain: q.domain,
    regime: q.regime,
    variable: q.variable,
    minValidations: q.min_validations ?? 0,
    limit: q.limit ?? 50,
  });
  return { edges: edges.map(presentEdge) };
}
