import type { FastifyInstance } from "fastify";
import { HV_BYTES } from "../../../core/coordination/pheromone.js";
import type { PheromoneService } from "../../../core/coordination/pheromone-service.js";
import type { Golem } from "../../../core/identity/types.js";
import { MAX_METADATA_BYTES } from "../../../core/knowledge/knowledge-service.js";
import { StyxError } from "../../../core/platform/errors.js";
import { jsonRecord } from "../../../core/platform/json-record.js";
import { ErrorBody } from "../../../protocol/common.js";
import { DepositAnswer, DepositBody, SenseAnswer, SenseQuery } from "../../../protocol/coordination.js";
import { tenantGolem } from "../../context.js";
import { presentSensed } from "../../presenters/coordination.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };
/** Most domains one sense request may name. */
const MAX_SENSE_DOMAINS = 32;

/** `POST /v1/styx/pheromone/deposit` and `GET /v1/styx/pheromone/sense` (SPEC §5). */
export function pheromoneRoutes(app: FastifyInstance, deps: { pheromones: PheromoneService }): void {
  app.post<{ Body: DepositBody }>(
    "/v1/styx/pheromone/deposit",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem", acts: true }] },
      schema: {
        tags: ["coordination"],
        summary: "Deposit a pheromone (a matching live one is reinforced instead)",
        body: DepositBody,
        response: { 201: DepositAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      return reply.code(201).send(await depositPheromone(deps.pheromones, tenantGolem(req, b.golem_id), b));
    },
  );

  app.get<{ Querystring: SenseQuery }>(
    "/v1/styx/pheromone/sense",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["coordination"],
        summary: "Live pheromones and threat/opportunity/wisdom levels per domain",
        querystring: SenseQuery,
        response: { 200: SenseAnswer, ...errors },
      },
    },
    async (req) => sensePheromones(deps.pheromones, req.query.domains.split(","), req.query.regime, req.query.limit ?? 50),
  );
}

/** A deposit checked (metadata size, hypervector length) and made, as answered (HTTP and MCP `deposit`). */
export async function depositPheromone(pheromones: Pick<PheromoneService, "deposit">, golem: Golem, b: Omit<DepositBody, "golem_id">) {
  if (b.metadata && Buffer.byteLength(JSON.stringify(b.metadata)) > MAX_METADATA_BYTES) {
    throw new StyxError("STYX_VALIDATION", `metadata is larger than ${MAX_METADATA_BYTES} bytes of JSON.`, {
      details: [{ path: "/metadata" }],
    });
  }
  let hv: Uint8Array | undefined;
  if (b.content_hv !== undefined) {
    hv = new Uint8Array(Buffer.from(b.content_hv, "base64"));
    if (hv.length !== HV_BYTES) {
      throw new StyxError("STYX_VALIDATION", `content_hv must decode to ${HV_BYTES} bytes (got ${hv.length}).`, {
        details: [{ path: "/content_hv" }],
      });
    }
  }
  const o = await pheromones.deposit(golem, {
    layer: b.layer,
    class: b.class,
    intensity: b.intensity,
    domain: b.domain,
    regime: b.regime,
    metadata: b.metadata as Record<string, unknown> | undefined,
    hv,
  });
  return { id: o.pheromone.id, confirmations: o.pheromone.confirmations, reinforced: o.reinforced };
}

/** Live pheromones and levels of up to 32 distinct domains, as answered (HTTP and MCP `sense`). */
export async function sensePheromones(
  pheromones: Pick<PheromoneService, "sense">,
  named: readonly string[],
  regime: string | undefined,
  limit: number,
) {
  const domains = [...new Set(named)];
  if (domains.length > MAX_SENSE_DOMAINS) {
    throw new StyxError("STYX_VALIDATION", `At most ${MAX_SENSE_DOMAINS} domains per request.`, { details: [{ path: "/domains" }] });
  }
  const sensed = await pheromones.sense(domains, regime, limit);
  // Keyed by the caller's domains (`constructor` is one): an object without a prototype.
  return { domains: jsonRecord(sensed.map((s) => [s.domain, presentSensed(s)])) };
}
