import type { DeathRecord } from "../../core/coordination/death.js";
import type { FieldCell } from "../../core/coordination/pheromone-service.js";
import type { ApiKey } from "../../core/identity/types.js";
import { iso } from "../../core/platform/clock.js";

/** Domain → wire JSON for the admin dashboard. */

/** A heat-map cell. */
export function presentFieldCell(c: FieldCell) {
  return { domain: c.domain, layer: c.layer, level: c.level, live: c.live };
}

/** A death of any user, as the dashboard lists it. */
export function presentRecentDeath(d: DeathRecord) {
  return {
    golem_id: d.golemId,
    user_id: d.userId,
    generation: d.generation,
    death_cause: d.deathCause,
    died_at: iso(d.diedAt),
    ticks_lived: d.ticksLived,
    warnings: d.warnings,
  };
}

/** A usable key, without its hash. */
export function presentActiveKey(k: ApiKey) {
  return {
    id: k.id,
    user_id: k.userId,
    golem_id: k.golemId,
    name: k.name,
    scopes: [...k.scopes],
    created_at: iso(k.createdAt),
    expires_at: k.expiresAt === null ? null : iso(k.expiresAt),
  };
}
