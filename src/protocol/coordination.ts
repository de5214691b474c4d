import { type Static, Type } from "typebox";
import { ACHIEVEMENTS } from "../core/coordination/achievements.js";
import { DIRECTIONS, MIN_CONFIDENCE, MIN_EVIDENCE, STRENGTH_BUCKETS } from "../core/coordination/causal.js";
import { HV_BYTES, PHEROMONE_LAYERS } from "../core/coordination/pheromone.js";
import { DOMAIN_PATTERN } from "../core/fabric/streams.js";
import { GOLEM_STATUSES } from "../core/identity/types.js";
import { Id, IsoTime, listPattern, MAX_INT32, MAX_SAFE, Nullable } from "./common.js";
import { Domain } from "./knowledge.js";

/** Wire schemas of the coordination services: pheromones, bloodstains, causal federation, engagement (SPEC §5–8). */

const Strict = { additionalProperties: false } as const;
const Unit = Type.Number({ minimum: 0, maximum: 1 });
const Regime = Type.String({ minLength: 1, maxLength: 64, description: "Market regime, e.g. `bull`" });
const Layer = Type.Union(PHEROMONE_LAYERS.map((l) => Type.Literal(l)));
const Direction = Type.Union([Type.Literal(DIRECTIONS[0]), Type.Literal(DIRECTIONS[1])]);
/** A causal variable name. */
const Variable = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description: "Variable (1–64 chars: A–Z a–z 0–9 _ . : -)" });
/** A pheromone class: a short token (`from->to` for a causal edge's wisdom). */
export const PheromoneClass = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9_.:>-]{0,130}$", description: "Class token (≤ 131 chars)" });
const Metadata = Type.Object({}, { additionalProperties: true, description: "JSON object, ≤ 4 KiB" });

/** `POST /v1/styx/pheromone/deposit` body. */
export const DepositBody = Type.Object(
  {
    golem_id: Id,
    layer: Layer,
    class: PheromoneClass,
    intensity: Unit,
    domain: Domain,
    regime: Regime,
    metadata: Type.Optional(Metadata),
    content_hv: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9+/]+={0,2}$",
        minLength: 1704,
        maxLength: 1708,
        description: `A ${HV_BYTES * 8}-bit hypervector: ${HV_BYTES} bytes, base64`,
      }),
    ),
  },
  Strict,
);
export type DepositBody = Static<typeof DepositBody>;

/** Deposit answer. */
export const DepositAnswer = Type.Object({ id: Type.String(), confirmations: Type.Integer(), reinforced: Type.Boolean() });

/** `GET /v1/styx/pheromone/sense` query. */
export const SenseQuery = Type.Object(
  {
    domains: Type.String({
      pattern: listPattern(DOMAIN_PATTERN.slice(1, -1)),
      maxLength: 2100,
      description: "comma-separated domains (≤ 32)",
    }),
    regime: Type.Optional(Regime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: "Pheromones listed per domain (default 50)" })),
  },
  Strict,
);
export type SenseQuery = Static<typeof SenseQuery>;

const SensedPheromone = Type.Object({
  id: Type.String(),
  layer: Layer,
  class: Type.String(),
  regime: Type.String(),
  intensity: Type.Number({ description: "Current intensity (decayed)" }),
  confirmations: Type.Integer(),
  half_life_seconds: Type.Number(),
  deposited_at: IsoTime,
  metadata: Type.Record(Type.String(), Type.Unknown()),
});

/** Sense answer: per domain, the levels and the strongest live pheromones. */
export const SenseAnswer = Type.Object({
  domains: Type.Record(
    Type.String(),
    Type.Object({
      threat_level: Type.Number(),
      opportunity_level: Type.Number(),
      wisdom_level: Type.Number(),
      live: Type.Integer(),
      pheromones: Type.Array(SensedPheromone),
    }),
  ),
});

/** `POST /v1/styx/bloodstain` body (SPEC §6). */
export const BloodstainBody = Type.Object(
  {
    golem_id: Id,
    generation: Type.Integer({ minimum: 0, maximum: MAX_INT32 }),
    death_cause: Type.String({ minLength: 1, maxLength: 256 }),
    warnings: Type.Array(
      Type.Object(
        { domain: Domain, regime: Regime, class: PheromoneClass, severity: Unit, message: Type.String({ minLength: 1, maxLength: 4096 }) },
        Strict,
      ),
      { maxItems: 64 },
    ),
    causal_edges: Type.Optional(
      Type.Array(
        Type.Object(
          { from_variable: Variable, to_variable: Variable, direction: Direction, strength: Unit, domain: Domain, regime: Regime },
          Strict,
        ),
        { maxItems: 64 },
      ),
    ),
    somatic_landscape_fragment: Type.Optional(Metadata),
    death_testament_excerpt: Type.Optional(Type.String({ maxLength: 4096 })),
    timestamp: IsoTime,
    ticks_lived: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SAFE })),
    publish_to_lethe: Type.Optional(Type.Boolean({ description: "Queue anonymized copies of the warnings for lethe (default false)" })),
    signature: Type.Optional(Type.String({ pattern: "^0x[0-9a-fA-F]{130}$", description: "EIP-712 signature by the golem's wallet" })),
  },
  Strict,
);
export type BloodstainBody = Static<typeof BloodstainBody>;

/**
 * `GET /v1/styx/bloodstain/typed-data` answer: the EIP-712 domain and types a golem's wallet
 * signs a bloodstain under, with this Styx's instance id for the message's `instance`. Field
 * names inside `domain` and `types` are EIP-712's own, ready for `signTypedData`.
 */
export const BloodstainTypedData = Type.Object({
  domain: Type.Object({ name: Type.Literal("Styx"), version: Type.Literal("2"), chainId: Type.Integer({ description: "STYX_CHAIN_ID" }) }),
  primary_type: Type.Literal("Bloodstain"),
  types: Type.Object({
    Bloodstain: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })),
  }),
  instance: Type.String({ description: "STYX_INSTANCE_ID: the message's `instance` field" }),
  content_hash: Type.String({ description: "How the message's contentHash is computed from the upload" }),
});

/** Bloodstain answer (the same on a repeat upload). */
export const BloodstainAnswer = Type.Object({
  golem_id: Type.String(),
  died_at: IsoTime,
  entry_ids: Type.Array(Type.String()),
  pheromone_ids: Type.Array(Type.String()),
  lethe_queued: Type.Integer(),
});

/** `POST /v1/styx/causal/publish` body (SPEC §7). */
export const CausalPublishBody = Type.Object(
  {
    golem_id: Id,
    from_variable: Variable,
    to_variable: Variable,
    direction: Direction,
    strength: Unit,
    lag_ticks: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    evidence_count: Type.Integer({ minimum: MIN_EVIDENCE, maximum: MAX_INT32 }),
    confidence: Type.Number({ minimum: MIN_CONFIDENCE, maximum: 1 }),
    domain: Domain,
    regime: Regime,
  },
  Strict,
);
export type CausalPublishBody = Static<typeof CausalPublishBody>;

const Strength = Type.Union(STRENGTH_BUCKETS.map((b) => Type.Literal(b)));

/** Publish answer: what the publication did and the edge's counts. */
export const CausalPublishAnswer = Type.Object({
  id: Type.String(),
  outcome: Type.Union([Type.Literal("created"), Type.Literal("validated"), Type.Literal("contradicted"), Type.Literal("unchanged")]),
  strength: Strength,
  validations: Type.Integer(),
  contradictions: Type.Integer(),
});

/** `GET /v1/styx/causal/discover` query. */
export const DiscoverQuery = Type.Object(
  {
    domain: Type.Optional(Domain),
    regime: Type.Optional(Regime),
    variable: Type.Optional(Variable),
    min_validations: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_INT32 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  },
  Strict,
);
export type DiscoverQuery = Static<typeof DiscoverQuery>;

/** A federated edge as discover lists it: no publisher of any kind. */
export const CausalEdgeView = Type.Object({
  id: Type.String(),
  from_variable: Type.String(),
  to_variable: Type.String(),
  direction: Direction,
  strength: Strength,
  lag_ticks: Type.Integer(),
  evidence_count: Type.Integer(),
  confidence: Type.Number(),
  validations: Type.Integer(),
  contradictions: Type.Integer(),
  domain: Type.String(),
  regime: Type.String(),
  created_at: IsoTime,
});
export const DiscoverAnswer = Type.Object({ edges: Type.Array(CausalEdgeView) });

/** A golem in a lineage tree; `children` are nodes of the same shape. */
export const LineageNode = Type.Object({
  golem_id: Type.String(),
  generation: Type.Integer(),
  status: Type.Union(GOLEM_STATUSES.map((s) => Type.Literal(s))),
  archetype: Nullable(Type.String()),
  created_at: IsoTime,
  died_at: Nullable(IsoTime),
  death_cause: Nullable(Type.String()),
  children: Type.Array(Type.Unknown(), { description: "Child nodes (same shape), oldest first" }),
});
export const LineageAnswer = Type.Object({ user_id: Type.String(), roots: Type.Array(LineageNode) });

/** `GET /v1/styx/graveyard/:user_id` query. */
export const GraveyardQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, description: "Page size (default 20)" })),
    cursor: Type.Optional(
      Type.String({ pattern: "^[0-9]{1,16}\\.[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$", description: "next_cursor of the previous page" }),
    ),
  },
  Strict,
);
export type GraveyardQuery = Static<typeof GraveyardQuery>;

const PadView = Type.Object({ pleasure: Type.Number(), arousal: Type.Number(), dominance: Type.Number() });

/** What a death record tells of the life it ended (the graveyard and the golem view). */
export const DeathFacts = {
  lifespan_seconds: Nullable(Type.Integer({ description: "From registration to death; null when the birth is unknown" })),
  final_phase: Nullable(Type.String({ description: "Phase of the last heartbeat before death (null: none heard)" })),
  final_pad: Nullable(PadView),
  final_nav: Nullable(Type.Number()),
  domains: Type.Array(Type.String(), { description: "Domains the bloodstain touched (warnings and causal edges), sorted" }),
};

export const GraveView = Type.Object({
  golem_id: Type.String(),
  generation: Type.Integer(),
  death_cause: Type.String(),
  died_at: IsoTime,
  ticks_lived: Type.Integer(),
  warnings: Type.Integer(),
  causal_edges: Type.Integer(),
  testament_excerpt: Nullable(Type.String()),
  signed: Type.Boolean(),
  ...DeathFacts,
});
export const GraveyardAnswer = Type.Object({ user_id: Type.String(), golems: Type.Array(GraveView), next_cursor: Nullable(Type.String()) });

const AchievementCode = Type.Union(Object.keys(ACHIEVEMENTS).map((c) => Type.Literal(c)));
export const AchievementsAnswer = Type.Object({
  golem_id: Type.String(),
  achievements: Type.Array(Type.Object({ code: AchievementCode, title: Type.String(), description: Type.String(), unlocked_at: IsoTime })),
});

const LayerFigures = Type.Object({ live: Type.Integer(), intensity: Type.Number() });
export const PulseAnswer = Type.Object({
  computed_at: IsoTime,
  active_golems: Type.Integer(),
  dead_total: Type.Integer(),
  deaths_24h: Type.Integer(),
  pheromones: Type.Object({ threat: LayerFigures, opportunity: LayerFigures, wisdom: LayerFigures }),
  top_domains: Type.Array(Type.Object({ domain: Type.String(), pheromones: Type.Integer() })),
  mean_pad: Nullable(Type.Object({ pleasure: Type.Number(), arousal: Type.Number(), dominance: Type.Number() })),
  regimes: Type.Record(Type.String(), Type.Integer()),
});
