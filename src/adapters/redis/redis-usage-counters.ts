import type { Redis } from "ioredis";
import type { Clock } from "../../core/platform/clock.js";
import type { CounterReservations, Reservation } from "../../core/quota/leased-counters.js";
import type { UsageCounters, WindowCount } from "../../core/quota/usage-counters.js";
import { SERVER_NOW_LUA } from "./redis-rate-limiter.js";

/**
 * The counter's window holding now (`window` and `now` set before it): its index, end, key and
 * count so far.
 */
const WINDOW_LUA = `${SERVER_NOW_LUA}
local index = math.floor(now / window)
local ends = (index + 1) * window
local key = KEYS[1] .. ':' .. string.format('%d', index)
local used = tonumber(redis.call('GET', key)) or 0`;

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
${WINDOW_LUA}
local next = used + amount
if next < 0 then next = 0 end
if amount > 0 and next > limit then return { 0, used, ends } end
if next ~= used then
  redis.call('SET', key, string.format('%d', next), 'PX', math.max(1, ends - now) + 60000)
end
return { 1, next, ends }
`;

/**
 * One reservation, atomically: in the window holding now, add as much as fits under the limit up
 * to `want` when at least `least` fits, else nothing.
 * KEYS[1] counter; ARGV window ms, least, want, limit, now ms ("" = TIME). Answers granted, count, window end.
 */
const RESERVE_SCRIPT = `
local window = tonumber(ARGV[1])
local least = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local now = tonumber(ARGV[5])
${WINDOW_LUA}
local room = limit - used
if room < least or room <= 0 then return { 0, used, ends } end
local granted = math.min(want, room)
redis.call('SET', key, string.format('%d', used + granted), 'PX', math.max(1, ends - now) + 60000)
return { granted, used + granted, ends }
`;

/**
 * Gives back `amount` of the window that ends at ARGV[2] (never below 0; nothing once its key expired).
 * KEYS[1] counter; ARGV window ms, window end, amount.
 */
const RELEASE_SCRIPT = `
local index = math.floor(tonumber(ARGV[2]) / tonumber(ARGV[1])) - 1
local key = KEYS[1] .. ':' .. string.format('%d', index)
local used = tonumber(redis.call('GET', key))
if not used then return 0 end
local next = used - tonumber(ARGV[3])
if next < 0 then next = 0 end
redis.call('SET', key, string.format('%d', next), 'KEEPTTL')
return next
`;

interface AddCommand {
  styxQuotaAdd(key: string, windowMs: number, amount: number, limit: number, now: string): Promise<[number, number, number]>;
  styxQuotaReserve(
    key: string,
    windowMs: number,
    least: number,
    want: number,
    limit: number,
    now: string,
  ): Promise<[number, number, number]>;
  styxQuotaRelease(key: string, windowMs: number, resetAt: number, amount: number): Promise<number>;
}

/**
 * Windowed quota counters in Redis, shared by every gateway of the cluster (macronode). Each add
 * is one Lua script, so concurrent adds from any gateway are serialized by Redis, on the Redis
 * server's clock. Keys are `<cluster>:q:<key>:<window index>` (the prefix comes from the
 * connection), expiring a minute after their window. Reservations (blocks a LeasedUsageCounters
 * spends locally) and their release are one script each too. While Redis is down `add` rejects at once;
 * the composition root falls back to the gateway's own counters then.
 */
export class RedisUsageCounters implements UsageCounters, CounterReservations {
  readonly #redis: Redis & AddCommand;
  readonly #clock: Clock | undefined;

  /** `redis` is a client from `openRedis`; `clock` for tests only (as RedisRateLimiter's). */
  constructor(redis: Redis, opts: { clock?: Clock } = {}) {
    if (!("styxQuotaAdd" in redis)) redis.defineCommand("styxQuotaAdd", { numberOfKeys: 1, lua: ADD_SCRIPT });
    if (!("styxQuotaReserve" in redis)) redis.defineCommand("styxQuotaReserve", { numberOfKeys: 1, lua: RESERVE_SCRIPT });
    if (!("styxQuotaRelease" in redis)) redis.defineCommand("styxQuotaRelease", { numberOfKeys: 1, lua: RELEASE_SCRIPT });
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

  /** One reservation for a LeasedUsageCounters: one Lua script, on the same counter keys and clock as `add`. */
  async reserve(key: string, windowMs: number, least: number, want: number, limit: number): Promise<Reservation> {
    const now = this.#clock ? String(Math.floor(this.#clock.now())) : "";
    const [granted, used, resetAt] = await this.#redis.styxQuotaReserve(`q:${windowMs}:${key}`, windowMs, least, want, limit, now);
    return { granted, used, resetAt };
  }

  async release(key: string, windowMs: number, resetAt: number, amount: number): Promise<void> {
    await this.#redis.styxQuotaRelease(`q:${windowMs}:${key}`, windowMs, resetAt, amount);
  }
}
