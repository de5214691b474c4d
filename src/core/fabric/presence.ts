/** Pleasure–arousal–dominance, each in [-1, 1]. */
export interface Pad {
  readonly pleasure: number;
  readonly arousal: number;
  readonly dominance: number;
}

/** A golem's last heartbeat, as the presence map keeps it. */
export interface GolemPresence {
  readonly golemId: string;
  readonly userId: string;
  readonly phase: string | null;
  readonly vitality: number | null;
  readonly pad: Pad | null;
  readonly emotion: string | null;
  readonly regime: string | null;
  readonly tick: number | null;
  readonly domains: readonly string[];
  readonly dreaming: boolean;
  readonly nav: number | null;
  /** When the heartbeat arrived (epoch ms). */
  readonly lastSeen: number;
  /**
   * The golem's identity facts as of the heartbeat (registration never changes them): its
   * archetype, generation and when it was registered (its age is counted from then). Null in a
   * heartbeat kept by an older build.
   */
  readonly archetype: string | null;
  readonly generation: number | null;
  readonly bornAt: number | null;
}

/** A golem's age at `now` in ms, from its registration (null when unknown). */
export function presenceAge(p: Pick<GolemPresence, "bornAt">, now: number): number | null {
  return p.bornAt === null || p.bornAt === undefined ? null : Math.max(0, now - p.bornAt);
}

/** A golem is online while its last heartbeat is younger than this: three missed 20 s beats. */
export const PRESENCE_ONLINE_MS = 60_000;
/** Presence older than this is forgotten by `sweep` (the fleet view shows offline golems until then). */
export const PRESENCE_FORGET_MS = 24 * 3_600_000;

/**
 * The presence map: the latest heartbeat of each golem (micronode: memory; macronode: Redis).
 * Obligations: `beat` replaces the golem's previous state whole; reads never return another
 * user's golems (the caller has checked tenancy for `userId`).
 */
export interface Presence {
  beat(state: GolemPresence): Promise<void>;
  ofUser(userId: string): Promise<GolemPresence[]>;
  ofGolem(golemId: string): Promise<GolemPresence | undefined>;
  /** Golems of every user heard from since `since` (the ecosystem pulse). */
  activeSince(since: number): Promise<GolemPresence[]>;
  /** Forgets heartbeats older than `before`; returns how many. */
  sweep(before: number): Promise<number>;
  /** Forgets one golem at once (its death). */
  forget(golemId: string): Promise<void>;
}

/** The fleet aggregate of one user (online golems only, except `golems`). */
export interface FleetAggregate {
  readonly golems: number;
  readonly online: number;
  readonly dreaming: number;
  /** Online golems per reported phase (golems' own strings: a Map, never a plain object's keys). */
  readonly byPhase: ReadonlyMap<string, number>;
  /** Online golems per reported regime. */
  readonly byRegime: ReadonlyMap<string, number>;
  readonly meanVitality: number | null;
  readonly meanPad: Pad | null;
  readonly totalNav: number | null;
  readonly maxTick: number | null;
  /** Domains by how many online golems work in them, most first (ties by name), at most 10. */
  readonly topDomains: readonly { readonly domain: string; readonly golems: number }[];
}

/** Whether a presence counts as online at `now`. */
export function isOnline(p: GolemPresence, now: number): boolean {
  return now - p.lastSeen < PRESENCE_ONLINE_MS;
}

/** Aggregates a fleet: counts, means over the golems that reported each field, top domains. */
export function aggregateFleet(fleet: readonly GolemPresence[], now: number): FleetAggregate {
  const online = fleet.filter((p) => isOnline(p, now));
  // Phases and regimes are golems' own strings: counted in Maps (a regime `constructor` once read Object's constructor here).
  const byPhase = new Map<string, number>();
  const byRegime = new Map<string, number>();
  const domains = new Map<string, number>();
  let vitality = 0;
  let vitalityN = 0;
  const pad = { pleasure: 0, arousal: 0, dominance: 0 };
  let padN = 0;
  let nav = 0;
  let navN = 0;
  let maxTick: number | null = null;
  let dreaming = 0;
  for (const p of online) {
    if (p.phase !== null) byPhase.set(p.phase, (byPhase.get(p.phase) ?? 0) + 1);
    if (p.regime !== null) byRegime.set(p.regime, (byRegime.get(p.regime) ?? 0) + 1);
    if (p.vitality !== null) {
      vitality += p.vitality;
      vitalityN++;
    }
    if (p.pad !== null) {
      pad.pleasure += p.pad.pleasure;
      pad.arousal += p.pad.arousal;
      pad.dominance += p.pad.dominance;
      padN++;
    }
    if (p.nav !== null) {
      nav += p.nav;
      navN++;
    }
    if (p.tick !== null) maxTick = Math.max(maxTick ?? 0, p.tick);
    if (p.dreaming) dreaming++;
    for (const d of new Set(p.domains)) domains.set(d, (domains.get(d) ?? 0) + 1);
  }
  const topDomains = [...domains]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 10)
    .map(([domain, golems]) => ({ domain, golems }));
  return {
    golems: fleet.length,
    online: online.length,
    dreaming,
    byPhase,
    byRegime,
    meanVitality: vitalityN ? vitality / vitalityN : null,
    meanPad: padN ? { pleasure: pad.pleasure / padN, arousal: pad.arousal / padN, dominance: pad.dominance / padN } : null,
    totalNav: navN ? nav : null,
    maxTick,
    topDomains,
  };
}
