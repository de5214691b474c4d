import type { FastifyInstance, FastifyRequest } from "fastify";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import type { Golem } from "../../../core/identity/types.js";
import type { KnowledgeService, WriteEntryInput, WriteResult } from "../../../core/knowledge/knowledge-service.js";
import { iso } from "../../../core/platform/clock.js";
import { NOT_PUBLISHABLE } from "../../../core/privacy/grammar.js";
import { ErrorBody } from "../../../protocol/common.js";
import { MAX_BATCH, WriteEntriesAnswer, WriteEntriesBody, WriteEntryAnswer, WriteEntryBody } from "../../../protocol/knowledge.js";
import { tenantGolem, userPrincipal } from "../../context.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody };

/** `POST /v1/styx/entries` (one write, fanned out to vault, clade and later lethe) and its batch form. */
export function entryRoutes(
  app: FastifyInstance,
  deps: { knowledge: KnowledgeService; identity: Pick<IdentityStore, "getUser">; dimensions: number },
): void {
  const toInput = (req: FastifyRequest, b: WriteEntryBody): WriteEntryInput => writeInput(tenantGolem(req, b.golem_id), b);
  const present = presentWrite;
  // Read only by a write that makes a lethe copy.
  const ownerIdentifiers = (userId: string) => () => ownerWallets(deps.identity, userId);

  app.post<{ Body: WriteEntryBody }>(
    "/v1/styx/entries",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem", acts: true }] },
      schema: {
        tags: ["knowledge"],
        summary: "Write an entry (vault always; clade and lethe by the promotion gates)",
        body: WriteEntryBody(deps.dimensions),
        response: { 201: WriteEntryAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const input = toInput(req, req.body);
      const r = await deps.knowledge.write(input, ownerIdentifiers(input.golem.userId), userPrincipal(req).golemId);
      if (!r.created) reply.header("idempotency-replayed", "true");
      return reply.code(201).send(present(r));
    },
  );

  app.post<{ Body: WriteEntriesBody }>(
    "/v1/styx/entries/batch",
    {
      config: {
        golemCredential: "own",
        heavy: true,
        tenant: [{ from: "body", field: "entries", each: "golem_id", kind: "golem", acts: true }],
      },
      schema: {
        tags: ["knowledge"],
        summary: `Write up to ${MAX_BATCH} entries in one transaction (all or none; each as POST /v1/styx/entries)`,
        body: WriteEntriesBody(deps.dimensions),
        response: { 201: WriteEntriesAnswer, ...errors, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const inputs = req.body.entries.map((b) => toInput(req, b));
      const p = userPrincipal(req);
      const results = await deps.knowledge.writeMany(inputs, ownerIdentifiers(p.userId), p.golemId);
      return reply.code(201).send({ results: results.map(present) });
    },
  );
}

/** A write's body as the knowledge service takes it, for a golem tenancy resolved (HTTP and MCP `remember`). */
export function writeInput(golem: Golem, b: WriteEntryBody): WriteEntryInput {
  return {
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
  };
}

/** A write's answer (`201` body; MCP `remember` result). */
export function presentWrite(r: WriteResult) {
  return {
    id: r.id,
    namespaces: [...r.namespaces],
    ...(r.letheWaiting ? { lethe: "waiting" as const } : r.letheAt === null ? {} : { lethe_at: iso(r.letheAt) }),
    ...(r.publicRefused ? { public: { refused: NOT_PUBLISHABLE } } : {}),
  };
}

/** The owner's wallet, scrubbed from lethe copies along with the ids. */
export async function ownerWallets(identity: Pick<IdentityStore, "getUser">, userId: string): Promise<string[]> {
  const owner = await identity.getUser(userId);
  return owner?.walletAddress ? [owner.walletAddress] : [];
}
