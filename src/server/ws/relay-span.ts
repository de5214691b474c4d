import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import type { Tracer } from "../../core/platform/tracer.js";
import type { EventMessage } from "../../protocol/fabric.js";

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
