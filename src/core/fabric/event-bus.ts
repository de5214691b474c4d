/** An event on its way to subscribers: `channel` is the event type, e.g. `styx:lethe:published`. */
export interface StyxEvent {
  /** `user:{id}`, `domain:{d}` or `public` (see streams.ts). */
  readonly stream: string;
  readonly channel: string;
  readonly payload: Record<string, unknown>;
}

/** An event after the bus gave it its place in its stream. */
export interface SequencedEvent {
  readonly stream: string;
  /** The history generation this `seq` belongs to (see History). */
  readonly epoch: string;
  /** Position in the stream: 1 for the first event, +1 for each later one. */
  readonly seq: number;
  /** Publication time, epoch milliseconds. */
  readonly ts: number;
  readonly channel: string;
  /** The payload as JSON text: serialised once, stored and sent as is. */
  readonly payloadJson: string;
}

/**
 * Publish/subscribe of Styx events with sequencing: `publish` resolves once the event is in
 * the stream's history with its `seq`, and subscribers see it only after that, so an event a
 * client received can always be replayed. The in-process adapter serves the micronode; NATS
 * JetStream carries the same contract across gateways.
 * Obligations: subscribers see the events of one stream in `seq` order; `publish` never throws
 * because of a subscriber; a failed publish rejects and delivers nothing.
 */
export interface EventBus {
  publish(event: StyxEvent): Promise<SequencedEvent>;
  /** Calls `handler` for every later event of any stream; returns the unsubscribe function. */
  subscribe(handler: (event: SequencedEvent) => void): () => void;
}
