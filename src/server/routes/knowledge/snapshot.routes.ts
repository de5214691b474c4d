import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { KnowledgeService } from "../../../core/knowledge/knowledge-service.js";
import { fairTurns } from "../../../core/platform/fair-turns.js";
import { ErrorBody, GolemIdParams } from "../../../protocol/common.js";
import { SnapshotPage, SnapshotParams } from "../../../protocol/knowledge.js";
import { userPrincipal } from "../../context.js";
import { presentSnapshotEntry } from "../../presenters/knowledge.js";
import { SLICE_MS, slicedJson } from "../../sliced-json.js";

/**
 * `GET /v1/styx/snapshot/:golem_id` (owner only): the golem's vault as NDJSON, streamed page by
 * page with backpressure, so memory stays bounded whatever the size; or `format=json` pages.
 */
export function snapshotRoutes(app: FastifyInstance, deps: { knowledge: KnowledgeService }): void {
  app.get<{ Params: { golem_id: string }; Querystring: SnapshotParams }>(
    "/v1/styx/snapshot/:golem_id",
    {
      config: { golemCredential: "own", heavy: true, tenant: [{ from: "params", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["knowledge"],
        summary: "Every vault entry of a golem (NDJSON stream, or paged JSON)",
        params: GolemIdParams,
        querystring: SnapshotParams,
        produces: ["application/x-ndjson", "application/json"],
        response: { 200: SnapshotPage, 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const golemId = req.params.golem_id;
      if (req.query.format === "json") {
        // A page of up to 1,000 entries with embeddings is megabytes of JSON: serialized in slices, not in one stretch.
        // Its pauses resume in the user's fair turn: a flooding user's pieces wait behind a lighter user's.
        const { pause } = fairTurns.lane(userPrincipal(req).userId);
        const page = await deps.knowledge.snapshotPage(golemId, req.query.limit ?? 500, req.query.after, pause);
        return reply
          .type("application/json; charset=utf-8")
          .header("cache-control", "no-store")
          .send(slicedJson("entries", page.entries, presentSnapshotEntry, { next_after: page.next }, SLICE_MS, pause));
      }
      // Small pages keep the resident set flat: each is fetched only when the socket drained the last.
      const lines = Readable.from(
        (async function* () {
          for await (const e of deps.knowledge.snapshot(golemId, 100)) yield `${JSON.stringify(presentSnapshotEntry(e))}\n`;
        })(),
      );
      return reply.type("application/x-ndjson").header("cache-control", "no-store").send(lines);
    },
  );
}
