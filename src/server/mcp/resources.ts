import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { diedGolem } from "../../core/fabric/fabric-service.js";
import { PUBLIC_STREAM, streamDomain, streamUser } from "../../core/fabric/streams.js";

/**
 * The URIs of Styx's MCP resources and which of them an event of the fabric changes. A
 * resource is read with the session's credential, so `styx://graveyard` is the caller's own;
 * an update is only ever sent to a session that read and subscribed to the resource.
 */
export const RESOURCE_URIS = {
  pulse: "styx://pulse",
  graveyard: "styx://graveyard",
  /** A template: `{golem_id}` is one of the caller's golems. */
  snapshot: "styx://golems/{golem_id}/snapshot",
  /** A template: `{domain}` is a knowledge domain. */
  pheromones: "styx://pheromones/{domain}",
} as const;

/** The snapshot resource of one golem. */
export function snapshotUri(golemId: string): string {
  return `styx://golems/${encodeURIComponent(golemId)}/snapshot`;
}

/** The pheromone-field resource of one domain. */
export function pheromonesUri(domain: string): string {
  return `styx://pheromones/${domain}`;
}

/** A resource an event changed; `userId` set when only that user's sessions may hear of it. */
export interface TouchedResource {
  readonly uri: string;
  readonly userId?: string;
}

/**
 * The resources an event changes: the pulse when a new one is announced, a domain's field on
 * a deposit or reinforcement there, and a user's graveyard and the dead golem's snapshot on
 * a bloodstain (heard on the owner's stream). Other events change no resource.
 */
export function touchedBy(e: Pick<SequencedEvent, "stream" | "channel" | "payloadJson">): TouchedResource[] {
  if (e.channel === "styx:pulse" && e.stream === PUBLIC_STREAM) return [{ uri: RESOURCE_URIS.pulse }];
  if (e.channel === "styx:pheromone:deposit" || e.channel === "styx:pheromone:reinforced") {
    const domain = streamDomain(e.stream);
    return domain === undefined ? [] : [{ uri: pheromonesUri(domain) }];
  }
  if (e.channel === "styx:bloodstain") {
    const userId = streamUser(e.stream);
    if (userId === undefined) return [];
    let golemId: string | undefined;
    try {
      golemId = diedGolem(e as SequencedEvent);
    } catch {
      golemId = undefined;
    }
    return [{ uri: RESOURCE_URIS.graveyard, userId }, ...(golemId ? [{ uri: snapshotUri(golemId), userId }] : [])];
  }
  return [];
}
