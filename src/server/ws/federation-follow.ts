import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { federationStream, streamKind } from "../../core/fabric/streams.js";
import type { FederationLink } from "../../core/federation/federation-store.js";
import { RECORD_KINDS, type RecordKind, takesDown } from "../../core/federation/flows.js";
import { linkTakes } from "../../core/federation/outlet.js";
import type { CreditMeter } from "../../core/payments/credit.js";
import { StyxError } from "../../core/platform/errors.js";
import { MAX_DOMAINS_PER_SOCKET, type SubscribeMessage } from "../../protocol/fabric.js";
import { RecordToll } from "./record-toll.js";
import type { SocketSession } from "./session.js";

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

/** Pricing on: the relay credit federation records are paid from, and where a failed draw is reported. */
export interface FederationPricing {
  readonly meter: Pick<CreditMeter, "take" | "refill">;
  readonly warn: (msg: string, err: unknown) => void;
}

/**
 * What a downstream's socket is not sent (its own records, see federationSkip) and, pricing
 * on, what each record sent costs it (1 atomic unit of its federation user's credit, RecordToll).
 */
function federate(session: SocketSession, link: FederationLink, pricing: FederationPricing | undefined): void {
  const toll =
    pricing &&
    new RecordToll({
      meter: pricing.meter,
      userId: link.userId,
      conn: session.connection,
      onError: (err) => pricing.warn("a federation socket's relay credit could not be drawn: the socket is closed", err),
    });
  session.subscriptions.skipWhen(federationSkip(link), toll);
}

/**
 * `subscribe.federation` / `unsubscribe.federation` (SPEC §17.2) for a socket whose access was
 * checked (`link`: its federate key's link; undefined: the admin token, watching): the
 * `federation:{domain}` streams of domains the hello agreed to (403 STYX_FEDERATION_NOT_AGREED
 * otherwise), within the domain bound, the link's own records skipped (and, pricing on, each
 * record sent paid for).
 */
export async function followFederation(
  session: SocketSession,
  link: FederationLink | undefined,
  type: SubscribeMessage["type"],
  domains: readonly string[],
  pricing?: FederationPricing,
): Promise<void> {
  const subs = session.subscriptions;
  const streams = domains.map(federationStream);
  if (type === "unsubscribe") {
    for (const s of streams) subs.leave(s);
    return;
  }
  if (link && !domains.every((d) => takesDomain(link, d))) throw new StyxError("STYX_FEDERATION_NOT_AGREED");
  const added = streams.filter((s) => !subs.follows(s));
  if (subs.federationCount() + added.length > MAX_DOMAINS_PER_SOCKET) {
    throw new StyxError("STYX_VALIDATION", `A socket follows at most ${MAX_DOMAINS_PER_SOCKET} federation domains.`);
  }
  if (link) federate(session, link, pricing);
  for (const s of added) await subs.join(s);
}

/** A `resume` naming federation streams, for a socket whose access was checked: the link's own records skipped in the replay and after (and paid for). */
export function resumeFederation(session: SocketSession, link: FederationLink | undefined, pricing?: FederationPricing): void {
  if (link) federate(session, link, pricing);
}
