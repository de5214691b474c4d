/** An event on its way to subscribers: `channel` is the event type, e.g. `styx:lethe:published`. */
export interface StyxEvent {
  /** `user:{id}`, `domain:{d}` or `public`. */
  readonly stream: string;
  readonly channel: string;
  readonly payload: Record<string, unknown>;
}

/**
 * Publish/subscribe of Styx events. The in-process adapter serves the micronode; the event
 * fabric adds sequencing and history on top, and NATS carries it across gateways.
 * Obligations: `publish` never throws because of a subscriber; subscribers see events of one
 * stream in publication order.
 */
export interface EventBus {
  publish(event: StyxEvent): Promise<void>;
  /** Calls `handler` for every later event; returns the unsubscribe function. */
  subscribe(handler: (event: StyxEvent) => void): () => void;
}
