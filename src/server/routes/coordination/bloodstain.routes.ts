import type { FastifyInstance } from "fastify";
import type { BloodstainService } from "../../../core/coordination/bloodstain-service.js";
import { BLOODSTAIN_TYPES, bloodstainDomain } from "../../../core/coordination/bloodstain-signature.js";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import { MAX_METADATA_BYTES } from "../../../core/knowledge/knowledge-service.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import { BloodstainAnswer, BloodstainBody, BloodstainTypedData } from "../../../protocol/coordination.js";
import { tenantGolem } from "../../context.js";
import { presentBloodstain } from "../../presenters/coordination.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** How the message's contentHash is made (the route's answer says it to clients). */
const CONTENT_HASH_RULE =
  "0x + BLAKE3-256 of the canonical JSON (object keys sorted, no spaces) of { warnings, causal_edges ?? [], somatic_landscape_fragment ?? null, death_testament_excerpt ?? null, ticks_lived ?? null, publish_to_lethe ?? false }";

/**
 * `POST /v1/styx/bloodstain`: a golem's death and everything it leaves behind (SPEC §6); `GET
 * /v1/styx/bloodstain/typed-data`: what its wallet signs.
 */
export function bloodstainRoutes(
  app: FastifyInstance,
  deps: { bloodstains: BloodstainService; identity: Pick<IdentityStore, "getUser"> },
): void {
  app.post<{ Body: BloodstainBody }>(
    "/v1/styx/bloodstain",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["coordination"],
        summary: "Record a golem's death: graveyard, threat and wisdom pheromones, clade warnings (a repeat returns the first answer)",
        body: BloodstainBody,
        response: { 201: BloodstainAnswer, 200: BloodstainAnswer, ...errors },
      },
    },
    async (req, reply) => {
      const fragment = req.body.somatic_landscape_fragment;
      if (fragment && Buffer.byteLength(JSON.stringify(fragment)) > MAX_METADATA_BYTES) {
        throw new StyxError("STYX_VALIDATION", `somatic_landscape_fragment is larger than ${MAX_METADATA_BYTES} bytes of JSON.`, {
          details: [{ path: "/somatic_landscape_fragment" }],
        });
      }
      const golem = tenantGolem(req, req.body.golem_id);
      const owner = await deps.identity.getUser(golem.userId);
      const body = { ...req.body, somatic_landscape_fragment: req.body.somatic_landscape_fragment as Record<string, unknown> | undefined };
      const r = await deps.bloodstains.upload(golem, body, owner?.walletAddress ? [owner.walletAddress] : []);
      return reply.code(r.created ? 201 : 200).send(presentBloodstain(r.result));
    },
  );
  app.get(
    "/v1/styx/bloodstain/typed-data",
    {
      config: { auth: "public" },
      schema: {
        tags: ["coordination"],
        summary: "The EIP-712 domain and types a golem's wallet signs its bloodstain under (bound to STYX_CHAIN_ID and STYX_INSTANCE_ID)",
        response: { 200: BloodstainTypedData },
      },
    },
    async () => {
      const { chainId, instanceId } = deps.bloodstains.binding;
      return {
        domain: bloodstainDomain(chainId),
        primary_type: "Bloodstain" as const,
        types: { Bloodstain: BLOODSTAIN_TYPES.Bloodstain.map((f) => ({ ...f })) },
        instance: instanceId,
        content_hash: CONTENT_HASH_RULE,
      };
    },
  );
}
