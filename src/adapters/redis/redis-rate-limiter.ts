import type { Redis } from "ioredis";
import type { Clock } from "../../core/platform/clock.js";
import type { BucketSpec, RateLimiter, TakeResult } from "../../core/platform/rate-limiter.js";

/** Lua: `now` (ms) from the Redis server's TIME unless the caller passed one, so every gateway uses one clock. */
export const SERVER_NOW_LUA = `
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * One take, atomically: refill from the stored state to now, take `cost` when there is enough,
 * store the rest, and let the key expire when the bucket would be full again (a full bucket is
 * the same as no key). "Now" is the Redis server's clock unless ARGV[4] gives one, so every
 * gateway measures elapsed time on the same clock whatever its own says.
 * KEYS[1] bucket; ARGV rate, burst, cost, now ms ("" = TIME), least TTL ms.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
${SERVER_NOW_LUA}local s = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if not tokens or not at then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
if now > at then at = now end
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
local ttl = math.ceil((burst - tokens) / rate * 1000)
if ttl > 0 then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%d', at))
  redis.call('PEXPIRE', KEYS[1], math.max(ttl, tonumber(ARGV[5])))
else
  redis.call('DEL', KEYS[1])
end
local retry = 0
if allowed == 0 then retry = math.ceil((cost - tokens) / rate * 1000) end
return { allowed, math.floor(tokens), retry }
`;

/** A manual clock's time has nothing to do with the server's expiry clock: keep its buckets this long at least. */
const INJECTED_CLOCK_LEAST_TTL_MS = 3_600_000;

interface TakeCommand {
  styxTake(key: string, rate: number, burst: number, cost: number, now: string, leastTtlMs: number): Promise<[number, number, number]>;
}

/** Options of `RedisRateLimiter`. */
export interface RedisRateLimiterOptions {
  /**
   * For tests only: measure time with this clock instead of the Redis server's `TIME` (a
   * manual clock that the contract suite advances). Production leaves it unset: gateways with
   * skewed clocks must share one timeline, the server's.
   */
  readonly clock?: Clock;
}

/**
 * Token buckets in Redis, shared by every gateway of the cluster (macronode). Each take is one
 * Lua script (EVALSHA), so concurrent takes of one key from any number of gateways are
 * serialized by Redis. Keys are `<cluster>:rl:<key>` (the prefix comes from the connection).
 * While Redis is down `take` rejects at once; what to do then is the caller's policy.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis & TakeCommand;
  readonly #clock: Clock | undefined;

  /** `redis` is a client from `openRedis`; the script is registered on it. */
  constructor(redis: Redis, opts: RedisRateLimiterOptions = {}) {
    if (!("styxTake" in redis)) redis.defineCommand("styxTake", { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.#redis = redis as Redis & TakeCommand;
    this.#clock = opts.clock;
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    const now = this.#clock ? String(Math.floor(this.#clock.now())) : "";
    const leastTtl = this.#clock ? INJECTED_CLOCK_LEAST_TTL_MS : 0;
    const [allowed, remaining, retryAfterMs] = await this.#redis.styxTake(`rl:${key}`, spec.rate, spec.burst, cost, now, leastTtl);
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }
}
