/** What a socket event's relay needs beside the message handler (messages.ts): its span, and the position its ack names. */
import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import { isGolemCredential } from "../../core/identity/principal.js";
import type { Tracer } from "../../core/platform/tracer.js";
import type { EventMessage } from "../../protocol/fabric.js";
import type { SocketSession } from "./session.js";

/**
 * A socket event's relay: with tracing on, a server span `ws event <type>` continuing the
 * message's `traceparent` (SPEC §9), or a new trace without one; off, the relay itself.
 */
export function tracedRelay(
  tracer: Tracer,
  msg: EventMessage,
  golemId: string,
  relay: () => Promise<SequencedEvent>,
): Promise<SequencedEvent> {
  if (!tracer.enabled) return relay();
  return tracer.span(`ws event ${msg.event.type}`, relay, {
    kind: "server",
    parent: msg.traceparent ?? null,
    attributes: { "styx.golem_id": golemId, "styx.channel": msg.event.type },
  });
}

/**
 * Where an event went, for an ack: its stream and seq on the owner's stream. Not to a golem
 * credential, which does not follow that stream (SPEC §9) and would read its siblings' activity
 * in its seqs.
 */
export function positionFor(session: SocketSession, e: SequencedEvent): { stream?: string; seq?: number } {
  return isGolemCredential(session.principal) ? {} : { stream: e.stream, seq: e.seq };
}
