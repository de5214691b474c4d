import type { FastifyInstance } from "fastify";
import type { CausalService } from "../../../core/coordination/causal-service.js";
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
      const { edge, outcome } = await deps.causal.publish(tenantGolem(req, b.golem_id), {
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
      return reply
        .code(201)
        .send({ id: edge.id, outcome, strength: edge.strength, validations: edge.validations, contradictions: edge.contradictions });
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
    async (req) => {
      const q = req.query;
      const edges = await deps.causal.discover({
        domain: q.domain,
        regime: q.regime,
        variable: q.variable,
        minValidations: q.min_validations ?? 0,
        limit: q.limit ?? 50,
      });
      return { edges: edges.map(presentEdge) };
    },
  );
}
