import type { Redis } from "ioredis";
import type { Clock } from "../../core/platform/clock.js";
import type { UsageCounters, WindowCount } from "../../core/quota/usage-counters.js";
import { SERVER_NOW_LUA } from "./redis-rate-limiter.js";

/**
 * One add, atomically: the window holding now (Redis server's TIME unless ARGV[4] gives a time),
 * its count, the add when it stays within the limit (a give-back always, never below 0), and
 * the key expiring with its window.
 * KEYS[1] counter; ARGV window ms, amount, limit, now ms ("" = TIME).
 */
const ADD_SCRIPT = `
local window = tonumber(ARGV[1])
local amount = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
${SERVER_NOW_LUA}
local index = math.floor(now / window)
local ends = (index + 1) * window
local key = KEYS[1] .. ':' .. string.format('%d', index)
local used = tonumber(redis.call('GET', key)) or 0
local next = used + amount
if next < 0 then next = 0 end
if amount > 0 and next > limit then return { 0, used, ends } end
if next ~= used then
  redis.call('SET', key, string.format('%d', next), 'PX', math.max(1, ends - now) + 60000)
end
return { 1, next, ends }
`;

interface AddCommand {
  styxQuotaAdd(key: string, windowMs: number, amount: number, limit: number, now: string): Promise<[number, number, number]>;
}

/**
 * Windowed quota counters in Redis, shared by every gateway of the cluster (macronode). Each add
 * is one Lua script, so concurrent adds from any gateway are serialized by Redis, on the Redis
 * server's clock. Keys are `<cluster>:q:<key>:<window index>` (the prefix comes from the
 * connection), expiring a minute after their window. While Redis is down `add` rejects at once;
 * the composition root falls back to the gateway's own counters then.
 */
export class RedisUsageCounters implements UsageCounters {
  readonly #redis: Redis & AddCommand;
  readonly #clock: Clock | undefined;

  /** `redis` is a client from `openRedis`; `clock` for tests only (as RedisRateLimiter's). */
  constructor(redis: Redis, opts: { clock?: Clock } = {}) {
    if (!("styxQuotaAdd" in redis)) redis.defineCommand("styxQuotaAdd", { numberOfKeys: 1, lua: ADD_SCRIPT });
    this.#redis = redis as Redis & AddCommand;
    this.#clock = opts.clock;
  }

  /** SCAN for `q:*:<…suffix>:*` (every window and window size), then DEL: rare (an erasure), never on a request path. */
  async forget(suffix: string): Promise<void> {
    const prefix = this.#redis.options.keyPrefix ?? "";
    // Ids are [A-Za-z0-9_.-]: nothing in a suffix is a glob character.
    const match = `${prefix}q:*${suffix}:*`;
    let cursor = "0";
    do {
      const [next, keys] = await this.#redis.scan(cursor, "MATCH", match, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) await this.#redis.del(...keys.map((k) => k.slice(prefix.length)));
    } while (cursor !== "0");
  }

  async add(key: string, windowMs: number, amount: number, limit: number): Promise<WindowCount> {
    const now = this.#clock ? String(Math.floor(this.#clock.now())) : "";
    const [allowed, used, resetAt] = await this.#redis.styxQuotaAdd(`q:${windowMs}:${key}`, windowMs, amount, limit, now);
    return { allowed: allowed === 1, used, resetAt };
  }
}
