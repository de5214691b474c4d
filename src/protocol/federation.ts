import { type Static, Type } from "typebox";
import { DIRECTIONS, type Direction, STRENGTH_BUCKETS, type StrengthBucket } from "../core/coordination/causal.js";
import { HV_BYTES, PHEROMONE_LAYERS, type PheromoneLayer } from "../core/coordination/pheromone.js";
import { FLOW_NAMES } from "../core/federation/flows.js";
import { MAX_RECORDS_PER_PUSH } from "../core/federation/records.js";
import { CATEGORIES, type Category } from "../core/knowledge/types.js";
import { INSTANCE_ID_PATTERN } from "../core/platform/instance-id.js";
import { Id, IsoTime, MAX_INT32 } from "./common.js";
import { Position } from "./fabric.js";
import { Domain } from "./knowledge.js";

/** Wire schemas of federation (SPEC §17): hello, records (push and stream), snapshot lines, the admin view. */

const Strict = { additionalProperties: false } as const;
const Unit = Type.Number({ minimum: 0, maximum: 1 });
/** An instance id: `sx_` + 16 lowercase hex. */
export const InstanceId = Type.String({ pattern: INSTANCE_ID_PATTERN.source, description: "STYX_INSTANCE_ID (`sx_` + 16 hex)" });
/** A keyed hash (SPEC §3): 24 lowercase hex characters. */
const SourceHash = Type.String({ pattern: "^[0-9a-f]{24}$", description: "Keyed source hash (24 hex)" });
const Regime = Type.String({ minLength: 1, maxLength: 64 });
/** A flow as `STYX_FEDERATE` writes it: a name, optionally `:up` or `:down`. */
const Flow = Type.String({ pattern: `^(${FLOW_NAMES.join("|")})(:up|:down)?$` });
/** A federated domain, or `*` for every domain. */
const FederatedDomain = Type.Union([Domain, Type.Literal("*")]);

/** `POST /v1/styx/federation/hello` body. */
export const HelloBody = Type.Object(
  {
    instance_id: InstanceId,
    version: Type.String({ minLength: 1, maxLength: 64 }),
    flows: Type.Array(Flow, { maxItems: 8, uniqueItems: true }),
    domains: Type.Array(FederatedDomain, { maxItems: 256, uniqueItems: true }),
    embed_dim: Type.Integer({ minimum: 1, maximum: 4096 }),
  },
  Strict,
);
export type HelloBody = Static<typeof HelloBody>;

/** Hello answer: the upstream's identity, what it agreed to, and the current position of each agreed domain's stream. */
export const HelloAnswer = Type.Object({
  instance_id: InstanceId,
  version: Type.String(),
  flows: Type.Array(Type.String()),
  domains: Type.Array(Type.String()),
  embed_dim: Type.Integer(),
  positions: Type.Record(Type.String(), Position, { description: "federation:{domain} → {epoch, seq} (domains named, not `*`)" }),
});
export type HelloAnswer = Static<typeof HelloAnswer>;

const Head = {
  origin: InstanceId,
  id: Id,
  domain: Domain,
  at: IsoTime,
};

/** A pheromone deposit record. */
export const PheromoneRecord = Type.Object(
  {
    ...Head,
    kind: Type.Literal("pheromone"),
    pheromone: Type.Object(
      {
        layer: Type.Unsafe<PheromoneLayer>(Type.Union(PHEROMONE_LAYERS.map((l) => Type.Literal(l)))),
        class: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.:>-]{0,130}$" }),
        intensity: Unit,
        regime: Regime,
        source: SourceHash,
        content_hv: Type.Optional(
          Type.String({ pattern: "^[A-Za-z0-9+/]+={0,2}$", minLength: 1704, maxLength: 1708, description: `${HV_BYTES} bytes, base64` }),
        ),
      },
      Strict,
    ),
  },
  Strict,
);

/** An anonymized lethe record (its `at` to the hour; `embedding` only when both sides embed in the same dimension). */
export const LetheRecord = Type.Object(
  {
    ...Head,
    kind: Type.Literal("lethe"),
    lethe: Type.Object(
      {
        category: Type.Unsafe<Category>(Type.Union(CATEGORIES.map((c) => Type.Literal(c)))),
        content: Type.String({ minLength: 1, maxLength: 65_536 }),
        regime: Type.Union([Regime, Type.Null()]),
        confidence: Unit,
        is_bloodstain: Type.Boolean(),
        source: SourceHash,
        embedding: Type.Optional(Type.Array(Type.Number(), { minItems: 1, maxItems: 4096 })),
      },
      Strict,
    ),
  },
  Strict,
);

/** A causal edge record (strength as its bucket). */
export const CausalRecord = Type.Object(
  {
    ...Head,
    kind: Type.Literal("causal"),
    causal: Type.Object(
      {
        from_variable: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$" }),
        to_variable: Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$" }),
        direction: Type.Unsafe<Direction>(Type.Union(DIRECTIONS.map((d) => Type.Literal(d)))),
        strength: Type.Unsafe<StrengthBucket>(Type.Union(STRENGTH_BUCKETS.map((s) => Type.Literal(s)))),
        lag_ticks: Type.Integer({ minimum: 0, maximum: MAX_INT32 }),
        evidence_count: Type.Integer({ minimum: 0, maximum: MAX_INT32 }),
        confidence: Unit,
        regime: Regime,
        source: SourceHash,
      },
      Strict,
    ),
  },
  Strict,
);

/** One federation record on the wire (pushes, the `styx:federation:record` channel, snapshot lines). */
export const FederationRecordWire = Type.Union([PheromoneRecord, LetheRecord, CausalRecord]);
export type FederationRecordWire = Static<typeof FederationRecordWire>;

/**
 * `POST /v1/styx/federation/records` body. Records are checked one by one (a bad one is
 * rejected by index, the others applied), so the body schema only bounds the array.
 */
export const RecordsBody = Type.Object(
  { records: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: MAX_RECORDS_PER_PUSH }) },
  Strict,
);
export type RecordsBody = Static<typeof RecordsBody>;

/** Records answer: how many were applied, how many were known, and which were refused with what code. */
export const RecordsAnswer = Type.Object({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Array(Type.Object({ index: Type.Integer(), code: Type.String() })),
});
export type RecordsAnswer = Static<typeof RecordsAnswer>;

/** `GET /v1/styx/federation/snapshot` query. */
export const SnapshotQuery = Type.Object({ domain: Domain }, Strict);
export type SnapshotQuery = Static<typeof SnapshotQuery>;

/** The snapshot's last line: where to resume the domain's stream after applying the lines before it. */
export const SnapshotPositionLine = Type.Object({ position: Position }, Strict);

/** `{"type": "subscribe", "federation": [...]}` is SubscribeMsg's `federation` field (federate keys only). */
export const FederationDomains = Type.Array(Domain, { maxItems: 256 });

/** One link as `GET /v1/admin/federation` lists it. */
export const FederationLinkView = Type.Object({
  direction: Type.Union([Type.Literal("upstream"), Type.Literal("downstream")]),
  state: Type.Union([Type.Literal("connected"), Type.Literal("connecting"), Type.Literal("disconnected"), Type.Literal("refused")]),
  instance_id: Type.Union([Type.String(), Type.Null()]),
  url: Type.Optional(Type.String()),
  key_id: Type.Optional(Id),
  flows: Type.Array(Type.String()),
  domains: Type.Array(Type.String()),
  cursors: Type.Record(Type.String(), Position),
  outbox_depth: Type.Integer(),
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_seen_at: Type.Union([IsoTime, Type.Null()]),
});

/** `GET /v1/admin/federation`: this Styx's instance id, its link up (if configured) and the downstreams linked to it. */
export const FederationAdminView = Type.Object({
  instance_id: InstanceId,
  upstream: Type.Union([FederationLinkView, Type.Null()]),
  downstreams: Type.Array(FederationLinkView),
});
