import { Readable } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { History } from "../../../core/fabric/history.js";
import { federationStream } from "../../../core/fabric/streams.js";
import type { FederationLink, FederationStore } from "../../../core/federation/federation-store.js";
import { linkTakesDown } from "../../../core/federation/outlet.js";
import type { RecordApplier } from "../../../core/federation/records.js";
import type { FederationSnapshot } from "../../../core/federation/snapshot.js";
import { type CreditMeter, FEDERATION_RECORD_PRICE } from "../../../core/payments/credit.js";
import type { Clock } from "../../../core/platform/clock.js";
import { StyxError } from "../../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../../core/platform/rate-limiter.js";
import { ErrorBody } from "../../../protocol/common.js";
import { HelloAnswer, HelloBody, RecordsAnswer, RecordsBody, SnapshotQuery } from "../../../protocol/federation.js";
import { recordToWire } from "../../../protocol/federation-codec.js";
import { rateLimited } from "../../admission.js";
import { pushRecords } from "./push.js";

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 409: ErrorBody, 429: ErrorBody };
const snapshotErrors = { ...errors, 402: ErrorBody };

/** What the federation routes work with (the upstream side of SPEC §17.2). */
export interface FederationRouteDeps {
  /** This Styx's STYX_INSTANCE_ID. */
  readonly instanceId: string;
  readonly version: string;
  readonly embedDim: number;
  readonly store: Pick<FederationStore, "saveLink" | "link" | "touchLink">;
  readonly applier: RecordApplier;
  readonly snapshot: Pick<FederationSnapshot, "pages">;
  readonly history: Pick<History, "position">;
  readonly limiter: RateLimiter;
  /** STYX_FEDERATION_MAX_RECORDS: records a federate key may push, as a token bucket (one token a record). */
  readonly maxRecords: BucketSpec;
  /** Called after a hello saved a link (the outlet reads the links again). */
  readonly linked: () => void;
  readonly clock: Clock;
  /** Pricing on: relay credit, which a paused link's snapshot is refused without (402 STYX_CREDIT_EXHAUSTED). */
  readonly credit?: Pick<CreditMeter, "refill"> | undefined;
}

/** The federate key of a request (a key, not a session: the link is kept by key). */
function keyOf(req: FastifyRequest): { keyId: string; userId: string } {
  const p = req.principal;
  if (p?.kind !== "user" || p.via !== "api_key") throw new StyxError("STYX_AUTH_FORBIDDEN", "Federation speaks with a federate API key.");
  return { keyId: p.credentialId, userId: p.userId };
}

/** The link of the request's key, or 409 STYX_FEDERATION_NOT_LINKED. */
async function linkOf(deps: FederationRouteDeps, req: FastifyRequest): Promise<FederationLink> {
  const link = await deps.store.link(keyOf(req).keyId);
  if (!link) throw new StyxError("STYX_FEDERATION_NOT_LINKED");
  return link;
}

/**
 * `POST /v1/styx/federation/hello`, `POST /v1/styx/federation/records` and
 * `GET /v1/styx/federation/snapshot` (SPEC §17.2): the upstream side of a link, for `federate`
 * keys only (a `read`/`write` key gets 403; a federate key gets 403 everywhere else, see
 * plugins/auth.ts). Golem credentials never federate.
 */
export function federationRoutes(app: FastifyInstance, deps: FederationRouteDeps): void {
  const config = { scope: "federate", golemCredential: "owner-only" } as const;

  app.post<{ Body: HelloBody }>(
    "/v1/styx/federation/hello",
    {
      config,
      schema: {
        tags: ["federation"],
        summary: "Open (or renew) a downstream's link: its instance id, flows and domains; answers this Styx's and the stream positions",
        body: HelloBody,
        response: { 200: HelloAnswer, ...errors },
      },
    },
    async (req) => {
      const b = req.body;
      if (b.instance_id === deps.instanceId) throw new StyxError("STYX_FEDERATION_LOOP");
      const { keyId, userId } = keyOf(req);
      const now = deps.clock.now();
      await deps.store.saveLink({
        keyId,
        userId,
        instanceId: b.instance_id,
        version: b.version,
        flows: b.flows,
        domains: b.domains,
        embedDim: b.embed_dim,
        helloAt: now,
        lastSeenAt: now,
      });
      deps.linked();
      const positions = new Map<string, { epoch: string; seq: number }>();
      for (const d of b.domains) if (d !== "*") positions.set(d, await deps.history.position(federationStream(d)));
      return {
        instance_id: deps.instanceId,
        version: deps.version,
        flows: b.flows,
        domains: b.domains,
        embed_dim: deps.embedDim,
        positions: Object.fromEntries(positions),
      };
    },
  );

  app.post<{ Body: RecordsBody }>(
    "/v1/styx/federation/records",
    {
      config,
      schema: {
        tags: ["federation"],
        summary: "Push a downstream's own records (at most 500): each checked and applied alone, refusals listed by index",
        body: RecordsBody,
        response: { 200: RecordsAnswer, ...errors },
      },
    },
    async (req) => {
      const link = await linkOf(deps, req);
      const records = req.body.records;
      const took = await deps.limiter.take(`federation:${link.keyId}`, deps.maxRecords, records.length);
      if (!took.allowed) throw rateLimited(took.retryAfterMs);
      const answer = await pushRecords(link, records, deps.applier);
      await deps.store.touchLink(link.keyId, deps.clock.now());
      return answer;
    },
  );

  app.get<{ Querystring: SnapshotQuery }>(
    "/v1/styx/federation/snapshot",
    {
      config: { ...config, heavy: true },
      schema: {
        tags: ["federation"],
        summary: "A domain's live deposits, lethe entries and causal edges as records (NDJSON), then the stream position to resume from",
        querystring: SnapshotQuery,
        produces: ["application/x-ndjson"],
        response: { 200: { description: 'NDJSON: one record a line, then {"position": {epoch, seq}}', type: "string" }, ...snapshotErrors },
      },
    },
    async (req, reply) => {
      const link = await linkOf(deps, req);
      const domain = req.query.domain;
      const takes = (kind: "pheromone" | "lethe" | "causal") => linkTakesDown(link, kind, domain);
      if (!(["pheromone", "lethe", "causal"] as const).some(takes)) throw new StyxError("STYX_FEDERATION_NOT_AGREED");
      // Priced: the snapshot is free, but not while the link's down-flow is paused for want of credit (SPEC §17.3).
      if (deps.credit && !(await deps.credit.refill(link.userId, FEDERATION_RECORD_PRICE))) {
        throw new StyxError("STYX_CREDIT_EXHAUSTED", "No relay credit left for federation records: top up the federation user's credit.", {
          details: { balance_usd: "0" },
        });
      }
      // Taken before reading: whatever lands meanwhile is both in the snapshot and after the position (records are idempotent).
      const position = await deps.history.position(federationStream(domain));
      await deps.store.touchLink(link.keyId, deps.clock.now());
      const pages = deps.snapshot.pages(domain, link.instanceId, takes);
      const lines = Readable.from(
        (async function* () {
          for await (const page of pages) {
            if (page.length > 0) yield page.map((r) => `${JSON.stringify(recordToWire(r))}\n`).join("");
          }
          yield `${JSON.stringify({ position: { epoch: position.epoch, seq: position.seq } })}\n`;
        })(),
      );
      return reply.type("application/x-ndjson").header("cache-control", "no-store").send(lines);
    },
  );
}
