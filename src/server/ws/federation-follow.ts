import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { streamKind } from "../../core/fabric/streams.js";
import type { FederationLink } from "../../core/federation/federation-store.js";
import { RECORD_KINDS, type RecordKind, takesDown } from "../../core/federation/flows.js";
import { linkTakes } from "../../core/federation/outlet.js";

/**
 * What a downstream's socket does not receive of the `federation:{domain}` streams it follows
 * (SPEC §17.3): a record of its own origin (nothing returns home), and a record of a kind or
 * domain its hello did not take down. Other streams pass untouched.
 */
export function federationSkip(link: FederationLink): (event: SequencedEvent) => boolean {
  const takes = linkTakes(link);
  const own = `{"origin":${JSON.stringify(link.instanceId)},`;
  return (e) => {
    if (streamKind(e.stream) !== "federation") return false;
    // Records are serialised origin first (recordToWire): the common case needs no parse.
    if (e.payloadJson.startsWith(own)) return true;
    const r = JSON.parse(e.payloadJson) as { origin?: unknown; kind?: unknown; domain?: unknown };
    if (r.origin === link.instanceId) return true;
    if (!RECORD_KINDS.includes(r.kind as RecordKind) || typeof r.domain !== "string") return true;
    return !takesDown(takes.flows, takes.domains, r.kind as RecordKind, r.domain);
  };
}

/** Whether a link takes any record kind down in `domain` (a `federation:{domain}` it may follow). */
export function takesDomain(link: FederationLink, domain: string): boolean {
  const takes = linkTakes(link);
  return RECORD_KINDS.some((k) => takesDown(takes.flows, takes.domains, k, domain));
}
