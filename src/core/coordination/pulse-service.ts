import type { EventBus } from "../fabric/event-bus.js";
import type { GolemPresence } from "../fabric/presence.js";
import { PUBLIC_STREAM } from "../fabric/streams.js";
import type { Clock } from "../platform/clock.js";
import { jsonRecord, sortedByKey } from "../platform/json-record.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import type { DeathStore } from "./death.js";
import { computePulse, type Pulse } from "./engagement.js";
import type { PheromoneStore } from "./pheromone-store.js";

/** What the pulse is computed from. */
export interface PulseDeps {
  /** Golems heard from in the last minute, of every user. */
  readonly presence: () => Promise<GolemPresence[]>;
  readonly deaths: Pick<DeathStore, "counts">;
  readonly pheromones: Pick<PheromoneStore, "allLive">;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** Heartbeat regimes are golems' own strings: only publishable ones are counted (SPEC §4.2). */
  readonly pipeline: Pick<PublicPipeline, "token">;
}

/** The ecosystem pulse: recomputed by its task every 60 s and served from that cache. */
export class PulseService {
  readonly #d: PulseDeps;
  #cached: Pulse | undefined;

  constructor(deps: PulseDeps) {
    this.#d = deps;
  }

  /** The last computed pulse (computed now if there is none yet). */
  async current(): Promise<Pulse> {
    return this.#cached ?? this.refresh(false);
  }

  /** Recomputes the pulse; the task also announces it as `styx:pulse` on the public stream. */
  async refresh(announce = true): Promise<Pulse> {
    const d = this.#d;
    const now = d.clock.now();
    const [presence, deaths, pheromones] = await Promise.all([d.presence(), d.deaths.counts(now - 86_400_000), d.pheromones.allLive(now)]);
    const publicPresence = presence.map((p) => ({
      ...p,
      regime: p.regime === null ? null : (d.pipeline.token(p.regime, { userId: p.userId }) ?? null),
    }));
    const pulse = computePulse({ now, presence: publicPresence, deaths, pheromones });
    this.#cached = pulse;
    if (announce) await d.bus.publish({ stream: PUBLIC_STREAM, channel: "styx:pulse", payload: pulseJson(pulse) });
    return pulse;
  }
}

/** The pulse as wire JSON (the HTTP answer and the `styx:pulse` payload). */
export function pulseJson(p: Pulse): Record<string, unknown> {
  return {
    computed_at: new Date(p.computedAt).toISOString(),
    active_golems: p.activeGolems,
    dead_total: p.deadTotal,
    deaths_24h: p.deaths24h,
    pheromones: p.pheromones,
    top_domains: p.topDomains,
    mean_pad: p.meanPad,
    // Keyed by golems' regimes: an object without a prototype (`constructor` is a regime like any other).
    regimes: jsonRecord(sortedByKey(p.regimes)),
  };
}
