/**
 * Who runs the background tasks. In a micronode the one process always leads; in a macronode
 * the gateways campaign for one lease (a PostgreSQL advisory lock) and at most one holds it at
 * a time. When the holder dies its lease goes with its connection, and another gateway takes
 * over at its next campaign.
 * Obligations: `onChange(true)` is called when this process becomes leader and
 * `onChange(false)` as soon as it may no longer be (before another process can win), never
 * twice in a row with the same value; `stop` gives the lease up.
 */
export interface Leadership {
  /** Starts campaigning; `onChange` follows this process's leadership. */
  start(onChange: (leader: boolean) => void): void;
  /** Whether this process leads right now. */
  readonly isLeader: boolean;
  /** Stops campaigning and releases the lease if held. */
  stop(): Promise<void>;
}

/** The leadership of a process that is alone: it leads from `start` to `stop`. */
export class SoleLeadership implements Leadership {
  #leader = false;
  #onChange: (leader: boolean) => void = () => {};

  start(onChange: (leader: boolean) => void): void {
    this.#onChange = onChange;
    this.#leader = true;
    onChange(true);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  async stop(): Promise<void> {
    if (!this.#leader) return;
    this.#leader = false;
    this.#onChange(false);
  }
}
