import type { Peer } from "../../core/fabric/fabric-service.js";
import { type FleetAggregate, type GolemPresence, isOnline, presenceAge } from "../../core/fabric/presence.js";
import { iso } from "../../core/platform/clock.js";
import { jsonRecord, sortedByKey } from "../../core/platform/json-record.js";

/** Domain → wire JSON for the fabric's HTTP views. */

/** A golem's presence at `now`. */
export function presentPresence(p: GolemPresence, now: number) {
  return {
    golem_id: p.golemId,
    online: isOnline(p, now),
    last_seen: iso(p.lastSeen),
    phase: p.phase,
    vitality: p.vitality,
    pad: p.pad,
    emotion: p.emotion,
    regime: p.regime,
    tick: p.tick,
    domains: [...p.domains],
    dreaming: p.dreaming,
    nav: p.nav,
    // Heartbeats kept by an older build (Redis, up to a day) lack these: null, not absent.
    archetype: p.archetype ?? null,
    generation: p.generation ?? null,
    age_seconds: seconds(presenceAge(p, now)),
  };
}

/** A duration in whole seconds (null stays null). */
export function seconds(ms: number | null): number | null {
  return ms === null ? null : Math.floor(ms / 1000);
}

/** A fleet aggregate. */
export function presentAggregate(userId: string, a: FleetAggregate) {
  return {
    user_id: userId,
    golems: a.golems,
    online: a.online,
    dreaming: a.dreaming,
    by_phase: jsonRecord(sortedByKey(a.byPhase)),
    by_regime: jsonRecord(sortedByKey(a.byRegime)),
    mean_vitality: a.meanVitality,
    mean_pad: a.meanPad,
    total_nav: a.totalNav,
    max_tick: a.maxTick,
    top_domains: a.topDomains.map((d) => ({ domain: d.domain, golems: d.golems })),
  };
}

/** A clade peer. */
export function presentPeer(p: Peer) {
  return { golem_id: p.golemId, user_id: p.userId, domains: [...p.domains], registered_at: iso(p.registeredAt), online: p.online };
}
