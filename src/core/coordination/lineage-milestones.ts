import type { EventBus } from "../fabric/event-bus.js";
import { golemStream, userStream } from "../fabric/streams.js";
import type { Golem } from "../identity/types.js";

/** The generations a lineage celebrates (SPEC §9): a golem registered at one of them is a milestone. */
export const LINEAGE_MILESTONES: readonly number[] = [3, 5, 10, 25, 50, 100];

/** Whether a golem of this generation marks a lineage milestone. */
export function isLineageMilestone(generation: number): boolean {
  return LINEAGE_MILESTONES.includes(generation);
}

/**
 * Announces `styx:lineage:milestone` for a newly registered golem whose generation is a
 * milestone, on its owner's stream and its own (SPEC §9); any other generation announces
 * nothing. Returns whether it announced.
 */
export async function announceMilestone(bus: Pick<EventBus, "publish">, golem: Golem): Promise<boolean> {
  if (!isLineageMilestone(golem.generation)) return false;
  const payload = {
    golem_id: golem.id,
    generation: golem.generation,
    parent_golem_id: golem.parentGolemId,
    archetype: golem.archetype,
    reached_at: new Date(golem.createdAt).toISOString(),
  };
  await Promise.all(
    [userStream(golem.userId), golemStream(golem.id)].map((stream) => bus.publish({ stream, channel: "styx:lineage:milestone", payload })),
  );
  return true;
}
