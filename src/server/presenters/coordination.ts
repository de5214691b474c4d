import { ACHIEVEMENTS, type Unlocked } from "../../core/coordination/achievements.js";
import type { CausalEdge } from "../../core/coordination/causal.js";
import { publicEdge } from "../../core/coordination/causal-service.js";
import { type BloodstainResult, type DeathRecord, lifespanMs } from "../../core/coordination/death.js";
import type { LineageNode } from "../../core/coordination/engagement.js";
import type { SensedDomain } from "../../core/coordination/pheromone-service.js";
import { iso } from "../../core/platform/clock.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../../core/privacy/public-pipeline.js";
import { seconds } from "./fabric.js";

/** A time on the public field (pheromones, causal edges), to the minute. */
const fieldTime = (ms: number) => iso(publicTime(ms, PUBLIC_TIME_RESOLUTION_MS.field));

/** Domain → wire JSON for pheromones, bloodstains, causal edges and engagement views. */

/** One domain of a sense answer. */
export function presentSensed(s: SensedDomain) {
  return {
    threat_level: s.threat,
    opportunity_level: s.opportunity,
    wisdom_level: s.wisdom,
    live: s.live,
    pheromones: s.pheromones.map(({ pheromone: p, current, halfLifeMs }) => ({
      id: p.id,
      layer: p.layer,
      class: p.class,
      regime: p.regime,
      intensity: current,
      confirmations: p.confirmations,
      half_life_seconds: halfLifeMs / 1000,
      deposited_at: fieldTime(p.depositedAt),
      metadata: p.metadata,
    })),
  };
}

export function presentBloodstain(r: BloodstainResult) {
  return {
    golem_id: r.golemId,
    died_at: iso(r.diedAt),
    entry_ids: [...r.entryIds],
    pheromone_ids: [...r.pheromoneIds],
    lethe_queued: r.letheQueued,
  };
}

/** A causal edge without its publisher hash (publishers are never returned): core's one public form. */
export function presentEdge(e: CausalEdge) {
  return publicEdge(e);
}

export type LineageNodeView = ReturnType<typeof presentLineage>;

export function presentLineage(n: LineageNode): {
  golem_id: string;
  generation: number;
  status: string;
  archetype: string | null;
  created_at: string;
  died_at: string | null;
  death_cause: string | null;
  children: unknown[];
} {
  const g = n.golem;
  return {
    golem_id: g.id,
    generation: g.generation,
    status: g.status,
    archetype: g.archetype,
    created_at: iso(g.createdAt),
    died_at: g.diedAt === null ? null : iso(g.diedAt),
    death_cause: g.deathCause,
    children: n.children.map(presentLineage),
  };
}

export function presentGrave(d: DeathRecord) {
  return {
    golem_id: d.golemId,
    generation: d.generation,
    death_cause: d.deathCause,
    died_at: iso(d.diedAt),
    ticks_lived: d.ticksLived,
    warnings: d.warnings,
    causal_edges: d.causalEdges,
    testament_excerpt: d.testamentExcerpt,
    signed: d.signed,
    ...presentDeathFacts(d),
  };
}

/** What a death record tells of the life it ended: lifespan, final heartbeat, the bloodstain's domains. */
export function presentDeathFacts(d: DeathRecord) {
  return {
    lifespan_seconds: seconds(lifespanMs(d)),
    final_phase: d.finalPhase,
    final_pad: d.finalPad,
    final_nav: d.finalNav,
    domains: [...d.domains],
  };
}

export function presentAchievement(u: Unlocked) {
  return { code: u.code, title: ACHIEVEMENTS[u.code].title, description: ACHIEVEMENTS[u.code].description, unlocked_at: iso(u.unlockedAt) };
}
