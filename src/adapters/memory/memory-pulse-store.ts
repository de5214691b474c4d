import type { Pulse } from "../../core/coordination/engagement.js";
import type { PulseStore } from "../../core/coordination/pulse-store.js";

/** The pulse of a lone process (micronode, amnesia): a variable. */
export class MemoryPulseStore implements PulseStore {
  #pulse: Pulse | undefined;

  async latest(): Promise<Pulse | undefined> {
    return this.#pulse;
  }

  async put(pulse: Pulse): Promise<void> {
    this.#pulse = pulse;
  }
}
