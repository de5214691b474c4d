import type { FastifyInstance, FastifyRequest } from "fastify";
import { DEFAULT_LIST_LIMIT, type EntryService } from "../../../core/knowledge/entry-service.js";
import { ErrorBody } from "../../../protocol/common.js";
import {
  DeleteEntryAnswer,
  EntryIdParams,
  EntryPage,
  EntryView,
  ListEntriesParams,
  METADATA_PARAM_PREFIX,
  ValidateEntryAnswer,
  ValidateEntryBody,
} from "../../../protocol/entries.js";
import { tenantGolem, userPrincipal } from "../../context.js";
import { presentEntry } from "../../presenters/knowledge.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/**
 * One entry at a time (SPEC §4.1): `GET /v1/styx/entries/:id`, `GET /v1/styx/entries` (filters,
 * cursor pages), `DELETE /v1/styx/entries/:id`, `POST /v1/styx/entries/:id/validate`. Another
 * user's entry, and a sibling's private one for a golem credential, answer 404 as if absent.
 */
export function entryRecordRoutes(app: FastifyInstance, deps: { entries: EntryService }): void {
  const ctx = (req: FastifyRequest) => ({ requestId: req.id, ip: req.ip });

  app.get<{ Params: EntryIdParams }>(
    "/v1/styx/entries/:id",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["knowledge"],
        summary: "One of your entries by id (a golem credential: its own, or the clade's)",
        params: EntryIdParams,
        response: { 200: EntryView, ...errors },
      },
    },
    async (req) => presentEntry(await deps.entries.get(userPrincipal(req), req.params.id, ctx(req))),
  );

  app.get<{ Querystring: ListEntriesParams }>(
    "/v1/styx/entries",
    {
      config: { golemCredential: "own", tenant: [{ from: "query", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["knowledge"],
        summary: "Your entries, oldest first, filtered (golem, layer, category, domain, metadata.<key>, created range), by cursor pages",
        querystring: ListEntriesParams,
        response: { 200: EntryPage, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      // Metadata keys stay data: pairs in an array, never keys of an object of ours.
      const metadata: [string, string][] = [];
      for (const name of Object.keys(q)) {
        if (!name.startsWith(METADATA_PARAM_PREFIX)) continue;
        metadata.push([name.slice(METADATA_PARAM_PREFIX.length), String((q as Record<string, unknown>)[name])]);
      }
      const page = await deps.entries.list(userPrincipal(req), {
        golemId: q.golem_id,
        layer: q.layer,
        category: q.category,
        domain: q.domain,
        metadata,
        createdAfter: q.created_after === undefined ? undefined : Date.parse(q.created_after),
        createdBefore: q.created_before === undefined ? undefined : Date.parse(q.created_before),
        cursor: q.cursor,
        limit: q.limit ?? DEFAULT_LIST_LIMIT,
      });
      return { entries: page.entries.map(presentEntry), next_cursor: page.next };
    },
  );

  app.delete<{ Params: EntryIdParams }>(
    "/v1/styx/entries/:id",
    {
      config: { golemCredential: "own" },
      schema: {
        tags: ["knowledge"],
        summary: "Delete one of your entries (vault and clade copies, vectors, lexical rows; a queued lethe copy too)",
        params: EntryIdParams,
        response: { 200: DeleteEntryAnswer, ...errors },
      },
    },
    async (req) => {
      const r = await deps.entries.delete(userPrincipal(req), req.params.id, ctx(req));
      return { id: r.id, deleted: [...r.deleted], lethe: r.lethe };
    },
  );

  app.post<{ Params: EntryIdParams; Body: ValidateEntryBody }>(
    "/v1/styx/entries/:id/validate",
    {
      config: { golemCredential: "own", tenant: [{ from: "body", field: "golem_id", kind: "golem", acts: true }] },
      schema: {
        tags: ["knowledge"],
        summary: "Validate or contradict an entry: another golem of the clade (vault, clade) or another user (lethe)",
        params: EntryIdParams,
        body: ValidateEntryBody,
        response: { 200: ValidateEntryAnswer, ...errors, 409: ErrorBody },
      },
    },
    async (req) => {
      const b = req.body;
      return deps.entries.validate(userPrincipal(req), req.params.id, tenantGolem(req, b.golem_id), b.agrees, ctx(req));
    },
  );
}
