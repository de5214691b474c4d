import type { FastifyInstance, FastifyRequest } from "fastify";
import type { KnowledgeService } from "../../../core/knowledge/knowledge-service.js";
import type { QueryInput } from "../../../core/knowledge/query.js";
import type { Category, Layer } from "../../../core/knowledge/types.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import { QueryAnswer, QueryBody, QueryParams } from "../../../protocol/knowledge.js";
import { userPrincipal } from "../../context.js";
import { presentHit } from "../../presenters/knowledge.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody };

/** `POST|GET /v1/styx/query`: one ranked list across the layers the caller may read. */
export function queryRoutes(app: FastifyInstance, deps: { knowledge: KnowledgeService; dimensions: number }): void {
  const run = async (req: FastifyRequest, q: QueryInput) => {
    const p = userPrincipal(req);
    const hits = await deps.knowledge.query({ userId: p.userId, golemId: p.golemId }, q);
    return { hits: hits.map((h) => presentHit(h, q.explain)) };
  };

  app.post<{ Body: QueryBody }>(
    "/v1/styx/query",
    {
      // A query changes nothing: it needs only the read scope.
      config: { scope: "read" },
      schema: {
        tags: ["knowledge"],
        summary: "Ranked query across vault, clade and lethe",
        body: QueryBody(deps.dimensions),
        response: { 200: QueryAnswer, ...errors },
      },
    },
    async (req) => {
      const b = req.body;
      return run(req, {
        text: b.query,
        embedding: b.embedding,
        layers: b.layers,
        domains: b.domains,
        categories: b.categories,
        limit: b.limit ?? 10,
        explain: b.explain ?? false,
      });
    },
  );

  app.get<{ Querystring: QueryParams }>(
    "/v1/styx/query",
    {
      schema: {
        tags: ["knowledge"],
        summary: "The same query with its fields as query parameters (lists comma-separated)",
        querystring: QueryParams,
        response: { 200: QueryAnswer, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const embedding = q.embedding?.split(",").map(Number);
      if (embedding && embedding.length !== deps.dimensions) {
        throw new StyxError("STYX_VALIDATION", `embedding must have ${deps.dimensions} numbers (got ${embedding.length}).`, {
          details: [{ path: "/embedding" }],
        });
      }
      return run(req, {
        text: q.query,
        embedding,
        layers: q.layers ? ([...new Set(q.layers.split(","))] as Layer[]) : undefined,
        domains: q.domains ? [...new Set(q.domains.split(","))] : undefined,
        categories: q.categories ? ([...new Set(q.categories.split(","))] as Category[]) : undefined,
        limit: q.limit ?? 10,
        explain: q.explain ?? false,
      });
    },
  );
}
