import type { FastifyInstance } from "fastify";
import type { BloodstainService } from "../../../core/coordination/bloodstain-service.js";
import type { IdentityStore } from "../../../core/identity/identity-store.js";
import { MAX_METADATA_BYTES } from "../../../core/knowledge/knowledge-service.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import { BloodstainAnswer, BloodstainBody } from "../../../protocol/coordination.js";
import { tenantGolem } from "../../context.js";
import { presentBloodstain } from "../../presenters/coordination.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** `POST /v1/styx/bloodstain`: a golem's death and everything it leaves behind (SPEC §6). */
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
}
