import type { Redis } from "ioredis";
import type { Pulse } from "../../core/coordination/engagement.js";
import type { PulseStore } from "../../core/coordination/pulse-store.js";

/** The key of the pulse (under the connection's `<cluster>:` prefix). */
const KEY = "pulse";

/**
 * The cluster's pulse in Redis: one JSON string the leader replaces after each computation
 * and every gateway reads. Regimes (a Map keyed by golems' strings) travel as [regime, count]
 * pairs, never as keys of a plain object.
 */
export class RedisPulseStore implements PulseStore {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async latest(): Promise<Pulse | undefined> {
    const json = await this.#redis.get(KEY);
    if (json === null) return undefined;
    const { regimes, ...rest } = JSON.parse(json) as Omit<Pulse, "regimes"> & { regimes: [string, number][] };
    return { ...rest, regimes: new Map(regimes) };
  }

  async put(pulse: Pulse): Promise<void> {
    await this.#redis.set(KEY, JSON.stringify({ ...pulse, regimes: [...pulse.regimes] }));
  }
}
