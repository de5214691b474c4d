import type { Redis } from "ioredis";
import type { GolemPresence, Presence } from "../../core/fabric/presence.js";

/**
 * Layout (under the connection's `<cluster>:` prefix):
 * - `presence:g:<golemId>` hash { u: userId, s: the presence as JSON }
 * - `presence:u:<userId>`  set of the user's golem ids
 * - `presence:seen`        sorted set of golem ids by lastSeen (activeSince and sweep are ranges)
 * The scripts build the keys of a golem's previous owner themselves (ARGV carries the prefix,
 * which ioredis only adds to KEYS): fine on one Redis, not on Redis Cluster.
 */
const BEAT_SCRIPT = `
local old = redis.call('HGET', KEYS[1], 'u')
if old and old ~= ARGV[1] then redis.call('SREM', ARGV[5] .. 'presence:u:' .. old, ARGV[2]) end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 's', ARGV[3])
redis.call('SADD', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
`;

/** Forgets up to ARGV[3] golems seen before ARGV[1] (exclusive); returns how many. KEYS[1] the seen set. */
const SWEEP_SCRIPT = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  local g = ARGV[2] .. 'presence:g:' .. id
  local u = redis.call('HGET', g, 'u')
  if u then redis.call('SREM', ARGV[2] .. 'presence:u:' .. u, id) end
  redis.call('DEL', g)
  redis.call('ZREM', KEYS[1], id)
end
return #ids
`;

/** Forgets one golem: KEYS[1] its hash, KEYS[2] the seen set, ARGV[1] its id, ARGV[2] the prefix. */
const FORGET_SCRIPT = `
local u = redis.call('HGET', KEYS[1], 'u')
if u then redis.call('SREM', ARGV[2] .. 'presence:u:' .. u, ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
`;

/** A user's golems in one round trip: each member's state (a member whose hash is gone yields false). KEYS[1] the user's set. */
const OF_USER_SCRIPT = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
for i, id in ipairs(ids) do out[i] = redis.call('HGET', ARGV[1] .. 'presence:g:' .. id, 's') end
return out
`;

/** Golems forgotten per sweep script run, so one run never blocks Redis for long. */
const SWEEP_BATCH = 500;
/** Golems read per pipeline in activeSince. */
const READ_BATCH = 1000;

interface PresenceCommands {
  styxPresenceBeat(
    g: string,
    u: string,
    seen: string,
    userId: string,
    golemId: string,
    json: string,
    lastSeen: number,
    prefix: string,
  ): Promise<null>;
  styxPresenceSweep(seen: string, before: number, prefix: string, limit: number): Promise<number>;
  styxPresenceOfUser(u: string, prefix: string): Promise<(string | null)[]>;
  styxPresenceForget(g: string, seen: string, golemId: string, prefix: string): Promise<null>;
}

/**
 * The presence map in Redis, shared by every gateway (macronode). A beat is one script, so
 * the golem's state, its user's set and the lastSeen index change together.
 */
export class RedisPresence implements Presence {
  readonly #redis: Redis & PresenceCommands;
  readonly #prefix: string;

  /** `redis` is a client from `openRedis` (its key prefix is read from the client's options). */
  constructor(redis: Redis) {
    if (!("styxPresenceBeat" in redis)) {
      redis.defineCommand("styxPresenceBeat", { numberOfKeys: 3, lua: BEAT_SCRIPT });
      redis.defineCommand("styxPresenceSweep", { numberOfKeys: 1, lua: SWEEP_SCRIPT });
      redis.defineCommand("styxPresenceOfUser", { numberOfKeys: 1, lua: OF_USER_SCRIPT });
      redis.defineCommand("styxPresenceForget", { numberOfKeys: 2, lua: FORGET_SCRIPT });
    }
    this.#redis = redis as Redis & PresenceCommands;
    this.#prefix = redis.options.keyPrefix ?? "";
  }

  async beat(state: GolemPresence): Promise<void> {
    await this.#redis.styxPresenceBeat(
      `presence:g:${state.golemId}`,
      `presence:u:${state.userId}`,
      "presence:seen",
      state.userId,
      state.golemId,
      JSON.stringify(state),
      state.lastSeen,
      this.#prefix,
    );
  }

  async ofUser(userId: string): Promise<GolemPresence[]> {
    const states = await this.#redis.styxPresenceOfUser(`presence:u:${userId}`, this.#prefix);
    // The owner is checked again on each golem: a set member is never trusted for tenancy.
    return states
      .filter((json): json is string => typeof json === "string")
      .map((json) => JSON.parse(json) as GolemPresence)
      .filter((p) => p.userId === userId);
  }

  async ofGolem(golemId: string): Promise<GolemPresence | undefined> {
    const json = await this.#redis.hget(`presence:g:${golemId}`, "s");
    return json === null ? undefined : (JSON.parse(json) as GolemPresence);
  }

  async activeSince(since: number): Promise<GolemPresence[]> {
    const ids = await this.#redis.zrangebyscore("presence:seen", since, "+inf");
    const out: GolemPresence[] = [];
    for (let i = 0; i < ids.length; i += READ_BATCH) out.push(...(await this.#read(ids.slice(i, i + READ_BATCH))));
    return out.filter((p) => p.lastSeen >= since);
  }

  async forget(golemId: string): Promise<void> {
    await this.#redis.styxPresenceForget(`presence:g:${golemId}`, "presence:seen", golemId, this.#prefix);
  }

  async sweep(before: number): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.#redis.styxPresenceSweep("presence:seen", before, this.#prefix, SWEEP_BATCH);
      total += n;
      if (n < SWEEP_BATCH) return total;
    }
  }

  /** The stored presences of `ids` in one round trip (golems swept meanwhile are skipped). */
  async #read(ids: readonly string[]): Promise<GolemPresence[]> {
    if (ids.length === 0) return [];
    const pipe = this.#redis.pipeline();
    for (const id of ids) pipe.hget(`presence:g:${id}`, "s");
    const replies = (await pipe.exec()) ?? [];
    const out: GolemPresence[] = [];
    for (const [err, json] of replies) {
      if (err) throw err;
      if (typeof json === "string") out.push(JSON.parse(json) as GolemPresence);
    }
    return out;
  }
}
