import { type Static, Type } from "typebox";
import { MAX_SAFE } from "./common.js";

const Dependency = Type.Object({
  status: Type.Union([Type.Literal("up"), Type.Literal("down")]),
  latency_ms: Type.Number(),
  detail: Type.Optional(Type.String()),
});

/** `GET /v1/styx/health` answer: liveness plus each dependency's status. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal("ok"), Type.Literal("degraded")]),
  version: Type.String(),
  profile: Type.Union([Type.Literal("micro"), Type.Literal("macro")]),
  amnesia: Type.Boolean(),
  uptime_s: Type.Number(),
  dependencies: Type.Record(Type.String(), Dependency),
  links: Type.Optional(
    Type.Record(Type.String(), Dependency, {
      description:
        "Links to other Styx (`upstream`: the federation link, SPEC §17): listed, never counted in `status`; their loss sheds no local work",
    }),
  ),
});

/** `GET /readyz` query: which traffic the probe asks about (default writes). */
export const ReadinessQuery = Type.Object(
  {
    for: Type.Optional(
      Type.Union([Type.Literal("writes"), Type.Literal("reads")], {
        description:
          "writes (default): 503 once writes are shed. reads: 503 only once reads are shed too (severe overload) or while draining, so a balancer keeps a gateway whose shared dependency is down for the reads it can still serve",
      }),
    ),
  },
  { additionalProperties: false },
);
export type ReadinessQuery = Static<typeof ReadinessQuery>;

/** `GET /readyz` answer (200 ready, 503 shedding). */
export const Readiness = Type.Object({
  ready: Type.Boolean(),
  accepting_writes: Type.Boolean(),
  accepting_reads: Type.Boolean(),
  reasons: Type.Array(Type.String()),
});

/** `GET /v1/admin/audit` query. */
export const AuditQuery = Type.Object(
  {
    after: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SAFE })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { additionalProperties: false },
);

/** One audit record as presented to the operator. */
export const AuditRecordView = Type.Object({
  seq: Type.Integer(),
  ts: Type.String({ format: "date-time" }),
  actor: Type.String(),
  action: Type.String(),
  target: Type.String(),
  request_id: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
  details: Type.Unknown(),
  prev_hash: Type.String(),
  hash: Type.String(),
});

/** `GET /v1/admin/audit` answer. */
export const AuditPage = Type.Object({ records: Type.Array(AuditRecordView), next_after: Type.Integer() });

/** `GET /v1/admin/audit/verify` answer. */
export const AuditVerifyView = Type.Object({
  ok: Type.Boolean(),
  records: Type.Integer(),
  head: Type.Optional(Type.String()),
  /** Records written before the chain was keyed (BLAKE3), each sealed by a keyed record after it. */
  unkeyed: Type.Optional(Type.Integer()),
  first_bad: Type.Optional(Type.Integer()),
  reason: Type.Optional(Type.String()),
});

/** `/metrics`: the Prometheus text exposition format (checked by `promtool check metrics` in CI). */
export const MetricsText = Type.String({ description: "Prometheus text exposition format 0.0.4" });
