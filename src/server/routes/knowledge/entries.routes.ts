import type { FastifyInstance } from "fastify";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import type { KnowledgeService } from "../../../core/knowledge/knowledge-service.js";
import { iso } from "../../../core/platform/clock.js";
import { ErrorBody } from "../../../protocol/common.js";
import { WriteEntryAnswer, WriteEntryBody } from "../../../protocol/knowledge.js";
import { tenantGolem } from "../../context.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 413: ErrorBody };

/** `POST /v1/styx/entries`: one write, fanned out to vault, clade and (later) lethe. */
export function entryRoutes(
  app: FastifyInstance,
  deps: { knowledge: KnowledgeService; identity: Pick<IdentityStore, "getUser">; dimensions: number },
): void {
  const Body = WriteEntryBody(deps.dimensions);
  app.post<{ Body: WriteEntryBody }>(
    "/v1/styx/entries",
    {
      config: { tenant: [{ from: "body", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["knowledge"],
        summary: "Write an entry (vault always; clade and lethe by the promotion gates)",
        body: Body,
        response: { 201: WriteEntryAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const golem = tenantGolem(req, b.golem_id);
      const owner = await deps.identity.getUser(golem.userId);
      const r = await deps.knowledge.write(
        {
          golem,
          layer: b.layer,
          category: b.category,
          content: b.content,
          contentBlob: b.content_blob,
          embedding: b.embedding,
          domain: b.domain,
          regime: b.regime,
          confidence: b.confidence,
          affect: b.affect,
          emotion: b.emotion,
          ttlSeconds: b.ttl_seconds,
          metadata: b.metadata as Record<string, unknown> | undefined,
          idempotencyKey: b.idempotency_key,
        },
        owner?.walletAddress ? [owner.walletAddress] : [],
      );
      if (!r.created) reply.header("idempotency-replayed", "true");
      return reply.code(201).send({ id: r.id, namespaces: [...r.namespaces], ...(r.letheAt === null ? {} : { lethe_at: iso(r.letheAt) }) });
    },
  );
}
