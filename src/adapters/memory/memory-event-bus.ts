import type { EventBus, StyxEvent } from "../../core/fabric/event-bus.js";

/** In-process event bus: synchronous fan-out to the handlers of this process. */
export class MemoryEventBus implements EventBus {
  readonly #handlers = new Set<(event: StyxEvent) => void>();
  /** Called with a handler's exception (the bus itself never throws). */
  onError: (err: unknown) => void = () => {};

  async publish(event: StyxEvent): Promise<void> {
    for (const h of this.#handlers) {
      try {
        h(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  subscribe(handler: (event: StyxEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }
}
