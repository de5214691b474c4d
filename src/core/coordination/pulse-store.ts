import type { Pulse } from "./engagement.js";

/**
 * Where the last computed pulse is kept for every process of one Styx to read (micronode:
 * memory; macronode: Redis, so every gateway serves what the leader computed).
 * Obligations: `latest` returns the last pulse `put` by any process (equal to it field by
 * field, `regimes` included), or undefined when none was; a `put` replaces it whole.
 */
export interface PulseStore {
  latest(): Promise<Pulse | undefined>;
  put(pulse: Pulse): Promise<void>;
}
