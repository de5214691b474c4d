import type { Leadership } from "../core/platform/leadership.js";

/** A Leadership the test hands over (`set(true)`) and takes back (`set(false)`): one per simulated gateway. */
export class HandedLeadership implements Leadership {
  #onChange: (leader: boolean) => void = () => {};
  #leader = false;

  start(onChange: (leader: boolean) => void): void {
    this.#onChange = onChange;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** Makes this process lead, or no longer lead. */
  set(leader: boolean): void {
    this.#leader = leader;
    this.#onChange(leader);
  }

  async stop(): Promise<void> {
    if (this.#leader) this.set(false);
  }
}
