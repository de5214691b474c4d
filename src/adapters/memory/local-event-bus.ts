import type { EventBus, SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";

/**
 * The in-process event bus of a micronode: `publish` sequences the event through the history
 * (which stores it), then hands it to this process's subscribers. Move to the NATS bus when
 * more than one gateway must see the same events.
 */
export class LocalEventBus implements EventBus {
  readonly #handlers = new Set<(event: SequencedEvent) => void>();
  readonly #history: { append(event: StyxEvent): Promise<SequencedEvent> };
  /** Called with a subscriber's exception (the bus itself never throws because of one). */
  onError: (err: unknown) => void = () => {};

  constructor(history: { append(event: StyxEvent): Promise<SequencedEvent> }) {
    this.#history = history;
  }

  async publish(event: StyxEvent): Promise<SequencedEvent> {
    const sequenced = await this.#history.append(event);
    for (const h of this.#handlers) {
      try {
        h(sequenced);
      } catch (err) {
        this.onError(err);
      }
    }
    return sequenced;
  }

  subscribe(handler: (event: SequencedEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
}
