/** The settled start of every socket's chains (one promise for all sockets, not two per socket). */
const SETTLED: Promise<void> = Promise.resolve();

/**
 * The order a socket's messages are handled in: one at a time, in arrival order, except that
 * a relayed event answers at once with the promise of its completion, so consecutive events
 * pipeline; any other message waits for the events before it (a pong still means "all done").
 * Relayed events themselves start their publish in order (`relayTurn`). Bounded: more than
 * `maxPending` messages waiting or in flight is a flood.
 */
export class MessageOrder {
  readonly #maxPending: number;
  /** Messages waiting or in flight (pipelined events count until their publish settled). */
  #pending = 0;
  #chain: Promise<void> = SETTLED;
  /** Made with the first pipelined event: a socket that relays none (heartbeats only) never needs it. */
  #inflight: Set<Promise<void>> | undefined;
  /** Resolves once the latest relayed event's publish was started (the next one starts after it). */
  #relayTurn: Promise<void> = SETTLED;

  constructor(maxPending: number) {
    this.#maxPending = maxPending;
  }

  /**
   * Queues `task` behind every message before it; a task may resolve with the promise of its
   * pipelined tail (an event), which counts as in flight until it settles. False (and nothing
   * queued) when the socket already has `maxPending` messages waiting.
   */
  push(task: () => Promise<Promise<void> | undefined | void>): boolean {
    if (++this.#pending > this.#maxPending) return false;
    this.#chain = this.#chain.then(task).then(
      (tail) => {
        if (!tail) return void this.#pending--;
        this.#inflight ??= new Set();
        const inflight = this.#inflight;
        inflight.add(tail);
        void tail.finally(() => {
          inflight.delete(tail);
          this.#pending--;
        });
      },
      () => void this.#pending--,
    );
    return true;
  }

  /** Resolves when the pipelined events in flight have settled. */
  async eventsSettled(): Promise<void> {
    if (this.#inflight !== undefined && this.#inflight.size > 0) await Promise.allSettled(this.#inflight);
  }

  /**
   * Orders relayed events: `start` runs once the previous event's own start ran, so a socket's
   * events are published in order while neither waits for the other's round trips to finish.
   * Resolves when this one started.
   */
  relayTurn(start: () => Promise<void>): Promise<void> {
    const started = this.#relayTurn.then(start);
    this.#relayTurn = started.catch(() => {});
    return started;
  }
}
