import type { EventBus } from "../fabric/event-bus.js";
import type { GolemPresence } from "../fabric/presence.js";
import { PUBLIC_STREAM } from "../fabric/streams.js";
import type { Clock } from "../platform/clock.js";
import { jsonRecord, sortedByKey } from "../platform/json-record.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import type { DeathStore } from "./death.js";
import { computePulse, type Pulse } from "./engagement.js";
import type { PheromoneStore } from "./pheromone-store.js";
import type { PulseStore } from "./pulse-store.js";

/** What the pulse is computed from, and where it is kept. */
export interface PulseDeps {
  /** Golems heard from in the last minute, of every user. */
  readonly presence: () => Promise<GolemPresence[]>;
  readonly deaths: Pick<DeathStore, "counts">;
  readonly pheromones: Pick<PheromoneStore, "allLive">;
  /** Where the last computed pulse is kept for every process (micronode: memory; macronode: Redis). */
  readonly store: PulseStore;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** Heartbeat regimes are golems' own strings: only publishable ones are counted (SPEC §4.2). */
  readonly pipeline: Pick<PublicPipeline, "token">;
  /** How long a pulse read from the store is served before it is read again (ms; default 1,000). */
  readonly readEveryMs?: number;
  /** A stored pulse older than this is recomputed by whoever reads it (ms; default 150,000: the task missed two runs). */
  readonly staleAfterMs?: number;
  /** Called when the store could not be read or written (the pulse is then this process's own). */
  readonly warn?: (msg: string, err: unknown) => void;
}

/**
 * The ecosystem pulse: recomputed by its task every 60 s (on the leader, in a macronode) and
 * kept in the PulseStore, from which every process serves it — so every gateway answers the
 * leader's latest pulse, read again at most once a second. A process that finds none, or one
 * the task has not refreshed for over two runs, computes its own and stores it; while the
 * store fails it serves its last known pulse (or its own).
 */
export class PulseService {
  readonly #d: PulseDeps;
  #cached: Pulse | undefined;
  /** When (clock ms) the store was last read. */
  #readAt = Number.NEGATIVE_INFINITY;

  constructor(deps: PulseDeps) {
    this.#d = deps;
  }

  /** The latest pulse of this Styx (computed here only when there is none fresh enough). */
  async current(): Promise<Pulse> {
    const d = this.#d;
    const now = d.clock.now();
    if (this.#cached && now - this.#readAt < (d.readEveryMs ?? 1000)) return this.#cached;
    let stored: Pulse | undefined;
    try {
      stored = await d.store.latest();
      this.#readAt = now;
    } catch (err) {
      d.warn?.("reading the shared pulse failed; serving this process's own", err);
      return this.#cached ?? this.refresh(false);
    }
    if (stored && now - stored.computedAt <= (d.staleAfterMs ?? 150_000)) {
      this.#cached = stored;
      return stored;
    }
    return this.refresh(false);
  }

  /** Recomputes the pulse and stores it; the task also announces it as `styx:pulse` on the public stream. */
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
    this.#readAt = now;
    try {
      await d.store.put(pulse);
    } catch (err) {
      // Announced anyway: subscribers get it even if other gateways serve the previous one a while.
      d.warn?.("storing the pulse for the other gateways failed", err);
    }
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
