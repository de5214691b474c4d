import type { Redis } from "ioredis";
import type { DeathStore } from "../../core/coordination/death.js";
import { fadesAt, type Pheromone } from "../../core/coordination/pheromone.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "../../core/coordination/pheromone-store.js";
import type { OutboxEntry } from "../../core/federation/federation-store.js";

/** Options of `RedisPheromoneCache`. */
export interface RedisPheromoneCacheOptions {
  /** The store of record (macronode: PostgresPheromoneStore). */
  readonly inner: PheromoneStore;
  /** A client from `openRedis`; gateways sharing its cluster prefix share the cache. */
  readonly redis: Redis;
  /**
   * Lifetime of a cached domain (default 2 s): only a backstop. Every write through any
   * gateway's cache invalidates at once; the TTL bounds staleness when an invalidation was lost
   * (Redis down at that moment) or a writer bypassed the cache.
   */
  readonly ttlMs?: number;
  /** Told of Redis failures the cache absorbed (reads then come from the inner store); for logging. */
  readonly onError?: (err: unknown) => void;
}

/** A cached domain: every live pheromone of it as of `at` (all regimes), filled in `epoch`. */
interface Entry {
  readonly at: number;
  readonly epoch: string;
  readonly rows: readonly WirePheromone[];
}
type WirePheromone = Omit<Pheromone, "hv"> & { readonly hv: string | null };

/**
 * Stores a filled entry only if neither the domain's generation nor the global epoch moved
 * since the reader looked: a reader that raced a deposit never puts the old rows back.
 * KEYS entry, domain generation, epoch; ARGV generation seen, epoch seen, JSON, TTL ms.
 */
const FILL_SCRIPT = `
if (redis.call('GET', KEYS[2]) or '0') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[3]) or '0') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', tonumber(ARGV[4]))
return 1
`;

/** Generations outlive any read by far; they expire so that retired domains do not stay forever. */
const GENERATION_TTL_MS = 86_400_000;
const EPOCH_KEY = "phc:epoch";

interface FillCommand {
  styxPheromoneFill(
    entry: string,
    gen: string,
    epoch: string,
    genSeen: string,
    epochSeen: string,
    json: string,
    ttlMs: number,
  ): Promise<number>;
}

/**
 * A read-through cache in Redis in front of any PheromoneStore (macronode: PostgreSQL), so
 * `sense` on a busy domain is one MGET instead of a query. What is cached is each domain's live
 * rows with their stored intensity and depositedAt: decay is computed from those at read time,
 * so a cached row stays right until the row itself changes, and every change goes through
 * `deposit` or `evaporate` here, which invalidate (the domain; all domains).
 * Redis is never a reason to fail: when it is down, reads go to the inner store.
 * Keys: `phc:e:<domain>` (entry), `phc:v:<domain>` (generation), `phc:epoch`.
 */
export class RedisPheromoneCache implements PheromoneStore {
  readonly #inner: PheromoneStore;
  readonly #redis: Redis & FillCommand;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown) => void;
  /** Domains of the deposits ended in this turn, and their one invalidation (at the turn's end). */
  readonly #turnDomains = new Set<string>();
  #turnInvalidation: Promise<void> | undefined;

  /** Wraps `opts.inner`; the fill script is registered on `opts.redis`. */
  constructor(opts: RedisPheromoneCacheOptions) {
    const { inner, redis } = opts;
    if (!("styxPheromoneFill" in redis)) redis.defineCommand("styxPheromoneFill", { numberOfKeys: 3, lua: FILL_SCRIPT });
    this.#inner = inner;
    this.#redis = redis as Redis & FillCommand;
    this.#ttlMs = opts.ttlMs ?? 2000;
    this.#onError = opts.onError ?? (() => {});
  }

  async deposit(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome> {
    const outcome = await this.#inner.deposit(d, now, outbox);
    await this.#invalidateInTurn(d.domain);
    return outcome;
  }

  /**
   * `invalidate` for the deposits that end in one turn (a group the inner store committed
   * together): their domains in one MULTI at the turn's end, each deposit answered after it.
   */
  #invalidateInTurn(domain: string): Promise<void> {
    this.#turnDomains.add(domain);
    this.#turnInvalidation ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        const domains = [...this.#turnDomains];
        this.#turnDomains.clear();
        this.#turnInvalidation = undefined;
        void this.invalidate(domains).then(resolve);
      }),
    );
    return this.#turnInvalidation;
  }

  /**
   * Drops the cached domains on every gateway; for writers that reach the inner store without
   * this cache (a death deposits inside its own transaction). Never throws.
   */
  async invalidate(domains: readonly string[]): Promise<void> {
    if (domains.length === 0) return;
    const tx = this.#redis.multi();
    for (const d of new Set(domains)) tx.del(`phc:e:${d}`).incr(`phc:v:${d}`).pexpire(`phc:v:${d}`, GENERATION_TTL_MS);
    await this.#absorb(tx.exec());
  }

  async live(domains: readonly string[], regime: string | undefined, now: number): Promise<Pheromone[]> {
    const wanted = [...new Set(domains)];
    if (wanted.length === 0) return [];
    let cached: (string | null)[];
    try {
      const keys = wanted.flatMap((d) => [`phc:e:${d}`, `phc:v:${d}`]);
      cached = await this.#redis.mget(...keys, EPOCH_KEY);
    } catch (err) {
      this.#onError(err);
      return this.#inner.live(wanted, regime, now);
    }
    const epoch = cached[cached.length - 1] ?? "0";
    const out: Pheromone[] = [];
    const missing: { domain: string; gen: string }[] = [];
    wanted.forEach((domain, i) => {
      const json = cached[2 * i];
      const entry = json ? (JSON.parse(json) as Entry) : undefined;
      // An entry filled later than `now` may lack rows that were still live at `now`.
      if (entry && entry.epoch === epoch && entry.at <= now) for (const w of entry.rows) pushLive(out, fromWire(w), regime, now);
      else missing.push({ domain, gen: cached[2 * i + 1] ?? "0" });
    });
    if (missing.length === 0) return out;
    const fresh = await this.#inner.live(
      missing.map((m) => m.domain),
      undefined,
      now,
    );
    const byDomain = new Map<string, Pheromone[]>(missing.map((m) => [m.domain, []]));
    for (const p of fresh) {
      byDomain.get(p.domain)?.push(p);
      pushLive(out, p, regime, now);
    }
    const pipe = this.#redis.pipeline() as ReturnType<Redis["pipeline"]> & FillCommand;
    for (const { domain, gen } of missing) {
      const entry: Entry = { at: now, epoch, rows: (byDomain.get(domain) ?? []).map(toWire) };
      pipe.styxPheromoneFill(`phc:e:${domain}`, `phc:v:${domain}`, EPOCH_KEY, gen, epoch, JSON.stringify(entry), this.#ttlMs);
    }
    await this.#absorb(pipe.exec());
    return out;
  }

  /** Straight to the inner store: the pulse reads everything rarely, a cache would not pay. */
  allLive(now: number): Promise<Pheromone[]> {
    return this.#inner.allLive(now);
  }

  /** Straight to the inner store (a count, no rows to cache). */
  countLive(now: number): Promise<number> {
    return this.#inner.countLive(now);
  }

  async evaporate(now: number): Promise<number> {
    const gone = await this.#inner.evaporate(now);
    // One INCR invalidates every domain: an entry of another epoch reads as a miss.
    await this.#absorb(this.#redis.incr(EPOCH_KEY));
    return gone;
  }

  /** Pages of the store itself (the snapshot reads rarely and in order, which the cache does not keep). */
  pageLive(domain: string, afterId: string, limit: number, now: number): Promise<Pheromone[]> {
    return this.#inner.pageLive(domain, afterId, limit, now);
  }

  /** Awaits a cache write; a Redis failure is reported, never thrown. */
  async #absorb(write: Promise<unknown>): Promise<void> {
    try {
      const replies = await write;
      if (Array.isArray(replies)) for (const r of replies) if (Array.isArray(r) && r[0]) throw r[0];
    } catch (err) {
      this.#onError(err);
    }
  }
}

function pushLive(out: Pheromone[], p: Pheromone, regime: string | undefined, now: number): void {
  if (fadesAt(p) > now && (regime === undefined || p.regime === regime)) out.push(p);
}

function toWire(p: Pheromone): WirePheromone {
  return { ...p, hv: p.hv ? Buffer.from(p.hv.buffer, p.hv.byteOffset, p.hv.byteLength).toString("base64") : null };
}

function fromWire(w: WirePheromone): Pheromone {
  return { ...w, hv: w.hv === null ? null : new Uint8Array(Buffer.from(w.hv, "base64")) };
}

/** The death store, with the pheromone cache told of the domains a death deposited in (it writes past the cache). */
export function invalidatingCache(deaths: DeathStore, cache: Pick<RedisPheromoneCache, "invalidate">): DeathStore {
  return {
    find: (golemId) => deaths.find(golemId),
    graveyard: (userId, limit, after) => deaths.graveyard(userId, limit, after),
    recent: (limit) => deaths.recent(limit),
    firstOfUser: (userId) => deaths.firstOfUser(userId),
    counts: (since) => deaths.counts(since),
    async record(death, effects, now, resultOf) {
      const out = await deaths.record(death, effects, now, resultOf);
      if (out.created) await cache.invalidate(effects.deposits.map((d) => d.domain)).catch(() => {});
      return out;
    },
  };
}
