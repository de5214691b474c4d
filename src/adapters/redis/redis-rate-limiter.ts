import type { Redis } from "ioredis";
import type { Clock } from "../../core/platform/clock.js";
import type { BucketLeases, LeaseResult } from "../../core/platform/leased-rate-limiter.js";
import type { BucketSpec, RateLimiter, TakeResult } from "../../core/platform/rate-limiter.js";

/** Lua: `now` (ms) from the Redis server's TIME unless the caller passed one, so every gateway uses one clock. */
export const SERVER_NOW_LUA = `
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * One lease, atomically: refill from the stored state to now, take as many whole tokens as there
 * are up to `want` when at least `least` are there, else none (and the wait until `least` are),
 * store the rest, and let the key expire when the bucket would be full again (a full bucket is
 * the same as no key). A take of `cost` is a lease of exactly `cost`. "Now" is the Redis server's
 * clock unless ARGV[5] gives one, so every gateway measures elapsed time on the same clock
 * whatever its own says.
 * KEYS[1] bucket; ARGV rate, burst, least, want, now ms ("" = TIME), least TTL ms.
 */
const LEASE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local least = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
${SERVER_NOW_LUA}local s = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if not tokens or not at then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
if now > at then at = now end
local granted = 0
if tokens >= least then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
end
local ttl = math.ceil((burst - tokens) / rate * 1000)
if ttl > 0 then
  redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%d', at))
  redis.call('PEXPIRE', KEYS[1], math.max(ttl, tonumber(ARGV[6])))
else
  redis.call('DEL', KEYS[1])
end
local retry = 0
if granted < least then retry = math.ceil((least - tokens) / rate * 1000) end
return { granted, math.floor(tokens), retry }
`;

/** A manual clock's time has nothing to do with the server's expiry clock: keep its buckets this long at least. */
const INJECTED_CLOCK_LEAST_TTL_MS = 3_600_000;

interface LeaseCommand {
  styxLease(
    key: string,
    rate: number,
    burst: number,
    least: number,
    want: number,
    now: string,
    leastTtlMs: number,
  ): Promise<[number, number, number]>;
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
 * serialized by Redis; so is each lease (a block of tokens a LeasedRateLimiter spends locally).
 * Keys are `<cluster>:rl:<key>` (the prefix comes from the connection).
 * While Redis is down `take` rejects at once; what to do then is the caller's policy.
 */
export class RedisRateLimiter implements RateLimiter, BucketLeases {
  readonly #redis: Redis & LeaseCommand;
  readonly #clock: Clock | undefined;

  /** `redis` is a client from `openRedis`; the script is registered on it. */
  constructor(redis: Redis, opts: RedisRateLimiterOptions = {}) {
    if (!("styxLease" in redis)) redis.defineCommand("styxLease", { numberOfKeys: 1, lua: LEASE_SCRIPT });
    this.#redis = redis as Redis & LeaseCommand;
    this.#clock = opts.clock;
  }

  async take(key: string, spec: BucketSpec, cost = 1): Promise<TakeResult> {
    const r = await this.lease(key, spec, cost, cost);
    return { allowed: r.granted >= cost, remaining: r.remaining, retryAfterMs: r.retryAfterMs };
  }

  /** One lease for a LeasedRateLimiter: one Lua script, on the same bucket keys and clock as `take`. */
  async lease(key: string, spec: BucketSpec, least: number, want: number): Promise<LeaseResult> {
    const now = this.#clock ? String(Math.floor(this.#clock.now())) : "";
    const leastTtl = this.#clock ? INJECTED_CLOCK_LEAST_TTL_MS : 0;
    const [granted, remaining, retryAfterMs] = await this.#redis.styxLease(`rl:${key}`, spec.rate, spec.burst, least, want, now, leastTtl);
    return { granted, remaining, retryAfterMs };
  }
}
