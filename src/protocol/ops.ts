import { Type } from "typebox";

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
});

/** `GET /readyz` answer (200 ready, 503 shedding). */
export const Readiness = Type.Object({
  ready: Type.Boolean(),
  accepting_writes: Type.Boolean(),
  accepting_reads: Type.Boolean(),
  reasons: Type.Array(Type.String()),
});
