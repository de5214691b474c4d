import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import type { Principal } from "../../../core/identity/principal.js";
import type { KnowledgeService } from "../../../core/knowledge/knowledge-service.js";
import type { QueryInput } from "../../../core/knowledge/query.js";
import type { Category, Layer } from "../../../core/knowledge/types.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import { QueryAnswer, QueryBody, QueryParams } from "../../../protocol/knowledge.js";
import { userPrincipal } from "../../context.js";
import { presentQueryAnswer } from "../../presenters/knowledge.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** `POST|GET /v1/styx/query`: one ranked list across the layers the caller may read. */
export function queryRoutes(
  app: FastifyInstance,
  deps: { knowledge: KnowledgeService; identity: Pick<IdentityStore, "getGolem">; dimensions: number },
): void {
  const run = (req: FastifyRequest, q: QueryInput) => rankedQuery(deps, userPrincipal(req), q);

  app.post<{ Body: QueryBody }>(
    "/v1/styx/query",
    {
      // A query changes nothing: it needs only the read scope.
      config: { scope: "read", golemCredential: "own", heavy: true },
      schema: {
        tags: ["knowledge"],
        summary: "Ranked query across vault, clade and lethe",
        body: QueryBody(deps.dimensions),
        response: { 200: QueryAnswer, ...errors },
      },
    },
    async (req) => {
      return run(req, queryOfBody(req.body));
    },
  );

  app.get<{ Querystring: QueryParams }>(
    "/v1/styx/query",
    {
      config: { golemCredential: "own", heavy: true },
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

/** A ranked query for a user principal, its golem's lineage weighing inheritance, as answered (HTTP and MCP `recall`). */
export async function rankedQuery(
  deps: { knowledge: KnowledgeService; identity: Pick<IdentityStore, "getGolem"> },
  p: Extract<Principal, { kind: "user" }>,
  q: QueryInput,
) {
  const ancestors = p.golemId === null ? undefined : await ancestorsOf(deps.identity, p.golemId);
  const hits = await deps.knowledge.query({ userId: p.userId, golemId: p.golemId, ...(ancestors ? { ancestors } : {}) }, q);
  return presentQueryAnswer(hits, q.explain);
}

/** Deepest lineage walked for inheritance decay (0.85^32 ≈ 0.006: older ancestors change nothing). */
const MAX_LINEAGE = 32;

/** The golem's ancestors → generations up, walking parent links. */
async function ancestorsOf(identity: Pick<IdentityStore, "getGolem">, golemId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let current = await identity.getGolem(golemId);
  for (let up = 1; current?.parentGolemId && up <= MAX_LINEAGE; up++) {
    if (out.has(current.parentGolemId)) break;
    out.set(current.parentGolemId, up);
    current = await identity.getGolem(current.parentGolemId);
  }
  return out;
}

/** A `POST /v1/styx/query` body (or MCP's recall arguments, the same schema) as the core's query. */
export function queryOfBody(b: QueryBody) {
  return {
    text: b.query,
    embedding: b.embedding,
    layers: b.layers,
    domains: b.domains,
    categories: b.categories,
    limit: b.limit ?? 10,
    explain: b.explain ?? false,
  };
}
