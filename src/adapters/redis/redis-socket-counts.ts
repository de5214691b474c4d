import type { Redis } from "ioredis";
import type { Clock } from "../../core/platform/clock.js";
import type { ClaimResult, CountedSocket, SocketClaim, SocketCounts } from "../../core/quota/socket-counts.js";

/**
 * Layout (under the connection's `<cluster>:` prefix): `sk:<key>` is a sorted set of socket ids
 * scored by their expiry (epoch ms). "Now" is the Redis server's clock unless ARGV gives one, so
 * gateways with skewed clocks share one timeline (as the rate limiter's buckets do).
 */
const NOW = `
local now = tonumber(ARGV[3])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** Keeps a key at least until its latest entry expires. */
const KEEP = `
local function keep(key, ms)
  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * All or nothing: drops expired entries, refuses at the first key that would hold more than its
 * limit (returns its index and count), else adds the socket under every key.
 * KEYS the counts; ARGV socket id, ttl ms, now ms ("" = TIME), least key ttl ms, then each key's limit.
 */
const CLAIM_SCRIPT = `${NOW}${KEEP}
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local n = redis.call('ZCARD', key)
  local add = 1
  if redis.call('ZSCORE', key, ARGV[1]) then add = 0 end
  if n + add > tonumber(ARGV[4 + i]) then return { i - 1, n } end
end
local ttl = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  keep(key, math.max(ttl, tonumber(ARGV[4])))
end
return { -1, 0 }
`;

/** Pushes one socket's expiry ahead under every key (re-adding it where missing). KEYS the counts; ARGV id, ttl, now, least ttl. */
const REFRESH_SCRIPT = `${NOW}${KEEP}
local ttl = tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  keep(key, math.max(ttl, tonumber(ARGV[4])))
end
`;

/** Live entries under one key. KEYS the count; ARGV unused, unused, now ("" = TIME). */
const COUNT_SCRIPT = `${NOW}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

/** A manual clock's time has nothing to do with the server's expiry clock: keep keys this long at least. */
const INJECTED_CLOCK_LEAST_TTL_MS = 3_600_000;
/** Sockets refreshed per pipeline. */
const REFRESH_BATCH = 1000;

interface CountCommands {
  styxSocketClaim(n: number, ...args: (string | number)[]): Promise<[number, number]>;
  styxSocketRefresh(n: number, ...args: (string | number)[]): Promise<null>;
  styxSocketCount(n: number, ...args: (string | number)[]): Promise<number>;
}

/** Options of `RedisSocketCounts`. */
export interface RedisSocketCountsOptions {
  /** For tests only: measure time with this clock instead of the Redis server's `TIME`. */
  readonly clock?: Clock;
}

/**
 * Socket counts in Redis, shared by every gateway (macronode): a claim is one script, so claims
 * of one user from any number of gateways are serialized by Redis and a cap holds cluster-wide.
 * While Redis is down every call rejects at once; the composition root falls back to local counts.
 */
export class RedisSocketCounts implements SocketCounts {
  readonly #redis: Redis & CountCommands;
  readonly #clock: Clock | undefined;

  /** `redis` is a client from `openRedis`; the scripts are registered on it. */
  constructor(redis: Redis, opts: RedisSocketCountsOptions = {}) {
    if (!("styxSocketClaim" in redis)) {
      redis.defineCommand("styxSocketClaim", { lua: CLAIM_SCRIPT });
      redis.defineCommand("styxSocketRefresh", { lua: REFRESH_SCRIPT });
      redis.defineCommand("styxSocketCount", { lua: COUNT_SCRIPT });
    }
    this.#redis = redis as Redis & CountCommands;
    this.#clock = opts.clock;
  }

  async claim(socketId: string, claims: readonly SocketClaim[], ttlMs: number): Promise<ClaimResult> {
    const keys = claims.map((c) => `sk:${c.key}`);
    const limits = claims.map((c) => c.limit);
    const [index, used] = await this.#redis.styxSocketClaim(keys.length, ...keys, socketId, ttlMs, ...this.#time(), ...limits);
    return index < 0 ? { ok: true } : { ok: false, index, used };
  }

  async refresh(sockets: readonly CountedSocket[], ttlMs: number): Promise<void> {
    for (let i = 0; i < sockets.length; i += REFRESH_BATCH) {
      const pipe = this.#redis.pipeline() as unknown as CountCommands & { exec(): Promise<[Error | null, unknown][] | null> };
      for (const s of sockets.slice(i, i + REFRESH_BATCH)) {
        const keys = s.keys.map((k) => `sk:${k}`);
        void pipe.styxSocketRefresh(keys.length, ...keys, s.id, ttlMs, ...this.#time());
      }
      for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
    }
  }

  async release(socketId: string, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const pipe = this.#redis.pipeline();
    for (const k of keys) pipe.zrem(`sk:${k}`, socketId);
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }

  async count(key: string): Promise<number> {
    return this.#redis.styxSocketCount(1, `sk:${key}`, "", "", this.#time()[0]);
  }

  /** ARGV "now" and least key ttl: the Redis server's clock, or the injected one. */
  #time(): [string, number] {
    return this.#clock ? [String(Math.floor(this.#clock.now())), INJECTED_CLOCK_LEAST_TTL_MS] : ["", 0];
  }
}
