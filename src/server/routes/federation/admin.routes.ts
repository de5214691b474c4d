import type { FastifyInstance } from "fastify";
import type { Static } from "typebox";
import { ErrorBody } from "../../../protocol/common.js";
import { FederationAdminView } from "../../../protocol/federation.js";

/** What the federation admin route reads. */
export interface FederationAdminDeps {
  /** This Styx's id, its link up (state, ids, flows, domains, cursors, outbox depth, last error) and the downstreams linked to it. */
  view(): Promise<Static<typeof FederationAdminView>>;
}

/** `GET /v1/admin/federation` (SPEC §17.4; admin token). */
export function federationAdminRoutes(app: FastifyInstance, deps: FederationAdminDeps): void {
  app.get(
    "/v1/admin/federation",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Federation: this Styx's instance id, its link to the upstream, and the downstreams linked to it",
        response: { 200: FederationAdminView, 401: ErrorBody, 403: ErrorBody },
      },
    },
    async () => deps.view(),
  );
}
