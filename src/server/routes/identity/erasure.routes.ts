import { Readable } from "node:stream";
import type { FastifyInstance } from "fastify";
import type { ErasureService } from "../../../core/identity/erasure-service.js";
import type { ExportRecord } from "../../../core/identity/export-service.js";
import type { IdentityService } from "../../../core/identity/identity-service.js";
import { actorOf } from "../../../core/identity/principal.js";
import type { Clock } from "../../../core/platform/clock.js";
import { ErrorBody, GolemIdParams, UserIdParams } from "../../../protocol/common.js";
import { ErasureJobParams, ErasureJobView, ExportLines } from "../../../protocol/identity.js";
import { tenantGolem, userPrincipal } from "../../context.js";
import { presentErasureJob, presentExportRecord } from "../../presenters/identity.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** What the erasure routes use: the job service, the erasure task's wake-up, the export reader. */
export interface ErasureRouteDeps {
  readonly jobs: Pick<ErasureService, "request" | "status">;
  /** Runs the erasure task soon (on the leader of a macronode). */
  readonly start: () => void;
  /** Everything of a user, lazily (core/identity/export-service.ts). */
  readonly exportOf: (userId: string) => AsyncIterable<ExportRecord>;
}

/**
 * Erasure and export (SPEC §3): an owner erases a golem, the admin a user — each one durable job
 * answered 202 and run by the erasure task; the job's status for whoever asked; an owner's
 * export of everything of theirs as NDJSON, streamed with backpressure.
 */
export function erasureRoutes(
  app: FastifyInstance,
  deps: { erasure: ErasureRouteDeps; identity: Pick<IdentityService, "getUser">; clock: Clock },
): void {
  const { erasure } = deps;

  app.delete<{ Params: { golem_id: string } }>(
    "/v1/styx/golems/:golem_id",
    {
      config: { golemCredential: "owner-only", tenant: [{ from: "params", field: "golem_id", kind: "golem" }] },
      schema: {
        tags: ["identity"],
        summary: "Erase a golem: entries, blobs only it references, presence, stream history, clade deltas (one durable job)",
        params: GolemIdParams,
        response: { 202: ErasureJobView, ...errors },
      },
    },
    async (req, reply) => {
      const caller = userPrincipal(req);
      const golem = tenantGolem(req, req.params.golem_id);
      const job = await erasure.jobs.request(
        actorOf(caller),
        { kind: "golem", userId: golem.userId, golemId: golem.id },
        { requestId: req.id, ip: req.ip },
      );
      erasure.start();
      return reply.code(202).send(presentErasureJob(job));
    },
  );

  app.delete<{ Params: { user_id: string } }>(
    "/v1/admin/users/:user_id",
    {
      config: { auth: "admin" },
      schema: {
        tags: ["admin"],
        summary: "Erase a user and everything of theirs; keys revoked, sockets closed (one durable job)",
        params: UserIdParams,
        response: { 202: ErasureJobView, ...errors },
      },
    },
    async (req, reply) => {
      const user = await deps.identity.getUser(req.params.user_id);
      const job = await erasure.jobs.request("admin", { kind: "user", userId: user.id }, { requestId: req.id, ip: req.ip });
      erasure.start();
      return reply.code(202).send(presentErasureJob(job));
    },
  );

  app.get<{ Params: { job_id: string } }>(
    "/v1/styx/erasures/:job_id",
    {
      config: { golemCredential: "owner-only" },
      schema: {
        tags: ["identity"],
        summary: "An erasure job the caller asked for",
        params: ErasureJobParams,
        response: { 200: ErasureJobView, ...errors },
      },
    },
    async (req) => presentErasureJob(await erasure.jobs.status(req.params.job_id, userPrincipal(req).userId)),
  );

  app.get<{ Params: { job_id: string } }>(
    "/v1/admin/erasures/:job_id",
    {
      config: { auth: "admin" },
      schema: { tags: ["admin"], summary: "An erasure job", params: ErasureJobParams, response: { 200: ErasureJobView, ...errors } },
    },
    async (req) => presentErasureJob(await erasure.jobs.status(req.params.job_id, null)),
  );

  app.get(
    "/v1/styx/export",
    {
      config: { golemCredential: "owner-only", heavy: true },
      schema: {
        tags: ["identity"],
        summary: "Everything of the caller as NDJSON, one record per line with its `type` (streamed; no secret or hash)",
        produces: ["application/x-ndjson"],
        response: { 200: ExportLines, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (req, reply) => {
      const userId = userPrincipal(req).userId;
      const now = deps.clock.now();
      // Each store page is read only when the socket drained the lines of the last one.
      const lines = Readable.from(
        (async function* () {
          for await (const r of erasure.exportOf(userId)) yield `${JSON.stringify(presentExportRecord(r, now))}\n`;
        })(),
      );
      return reply.type("application/x-ndjson").header("cache-control", "no-store").send(lines);
    },
  );
}
