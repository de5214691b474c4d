import type { EventBus, SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";

/** What the bus needs from its history: the append path, the delivery path and its error hook. */
export interface DeliveringHistory {
  append(event: StyxEvent): Promise<SequencedEvent>;
  subscribe(handler: (event: SequencedEvent) => void): () => void;
  onError: (err: unknown) => void;
}

/**
 * The macronode event bus: `publish` resolves once JetStream acknowledged the event (it is
 * durable and numbered); subscribers see it — and every other gateway's events — when this
 * gateway's consumer delivers it, a moment later. Unlike LocalEventBus, a subscriber may
 * therefore see an event after its `publish` resolved.
 */
export class NatsEventBus implements EventBus {
  readonly #history: DeliveringHistory;

  constructor(history: DeliveringHistory) {
    this.#history = history;
  }

  /** Called with a subscriber's exception (delivery goes on); the history's hook, shared. */
  get onError(): (err: unknown) => void {
    return this.#history.onError;
  }

  set onError(fn: (err: unknown) => void) {
    this.#history.onError = fn;
  }

  publish(event: StyxEvent): Promise<SequencedEvent> {
    return this.#history.append(event);
  }

  subscribe(handler: (event: SequencedEvent) => void): () => void {
    return this.#history.subscribe(handler);
  }
}
