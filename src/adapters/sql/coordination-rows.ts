/** Rows of the coordination tables (pheromones, causal_edges, deaths) as domain objects, for both adapters. */
import type { CausalEdge, Direction, StrengthBucket } from "../../core/coordination/causal.js";
import type { BloodstainResult, DeathRecord } from "../../core/coordination/death.js";
import type { Pheromone, PheromoneLayer } from "../../core/coordination/pheromone.js";
import type { Pad } from "../../core/fabric/presence.js";
import { sqlBool } from "./codec.js";

/** The columns of `pheromones` a Pheromone is read from (`fades_at` is derived from them). */
export interface PheromoneRow {
  id: string;
  layer: PheromoneLayer;
  class: string;
  domain: string;
  regime: string;
  intensity: number;
  confirmations: number;
  deposited_at: number;
  created_at: number;
  source_hash: string;
  metadata: string;
  hv: Buffer | null;
}

export function toPheromone(r: PheromoneRow): Pheromone {
  return {
    id: r.id,
    layer: r.layer,
    class: r.class,
    domain: r.domain,
    regime: r.regime,
    intensity: r.intensity,
    confirmations: r.confirmations,
    depositedAt: r.deposited_at,
    createdAt: r.created_at,
    sourceHash: r.source_hash,
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
    hv: r.hv ? new Uint8Array(r.hv) : null,
  };
}

export interface CausalEdgeRow {
  id: string;
  from_variable: string;
  to_variable: string;
  domain: string;
  regime: string;
  direction: Direction;
  strength: StrengthBucket;
  lag_ticks: number;
  evidence_count: number;
  confidence: number;
  validations: number;
  contradictions: number;
  publisher_hash: string;
  created_at: number;
  updated_at: number;
}

export function toEdge(r: CausalEdgeRow): CausalEdge {
  return {
    id: r.id,
    fromVariable: r.from_variable,
    toVariable: r.to_variable,
    domain: r.domain,
    regime: r.regime,
    direction: r.direction,
    strength: r.strength,
    lagTicks: r.lag_ticks,
    evidenceCount: r.evidence_count,
    confidence: r.confidence,
    validations: r.validations,
    contradictions: r.contradictions,
    publisherHash: r.publisher_hash,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** The columns of a death added by migration 10, as both engines bind them (JSON as text). */
export function deathFinalColumns(d: Omit<DeathRecord, "result">): [number | null, string | null, string | null, number | null, string] {
  return [d.bornAt, d.finalPhase, d.finalPad === null ? null : JSON.stringify(d.finalPad), d.finalNav, JSON.stringify(d.domains)];
}

export interface DeathRow {
  golem_id: string;
  user_id: string;
  generation: number;
  death_cause: string;
  died_at: number;
  recorded_at: number;
  ticks_lived: number;
  warnings: number;
  causal_edges: number;
  testament_excerpt: string | null;
  somatic_fragment: string | null;
  /** 0/1 in SQLite, true/false in PostgreSQL. */
  signed: number | boolean;
  born_at: number | null;
  final_phase: string | null;
  /** JSON of a Pad, or null. */
  final_pad: string | null;
  final_nav: number | null;
  /** JSON list of domains. */
  domains: string;
  result: string;
}

export function toDeathRecord(r: DeathRow): DeathRecord {
  return {
    golemId: r.golem_id,
    userId: r.user_id,
    generation: r.generation,
    deathCause: r.death_cause,
    diedAt: r.died_at,
    recordedAt: r.recorded_at,
    ticksLived: r.ticks_lived,
    warnings: r.warnings,
    causalEdges: r.causal_edges,
    testamentExcerpt: r.testament_excerpt,
    somaticFragment: r.somatic_fragment === null ? null : (JSON.parse(r.somatic_fragment) as Record<string, unknown>),
    signed: sqlBool(r.signed),
    bornAt: r.born_at,
    finalPhase: r.final_phase,
    finalPad: r.final_pad === null ? null : (JSON.parse(r.final_pad) as Pad),
    finalNav: r.final_nav,
    domains: JSON.parse(r.domains) as string[],
    result: JSON.parse(r.result) as BloodstainResult,
  };
}
