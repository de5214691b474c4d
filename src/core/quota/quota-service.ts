import type { CallContext } from "../identity/principal.js";
import type { Tier, User } from "../identity/types.js";
import type { AuditLog } from "../platform/audit.js";
import type { BlobPutResult, BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import { notFound } from "../platform/errors.js";
import type { BucketSpec } from "../platform/rate-limiter.js";
import { applyOverride, type LimitsOverride, type QuotaName, type QuotaPolicy, quotaExceeded, type UserLimits } from "./limits.js";
import { isEmptyOverride, type QuotaStore } from "./quota-store.js";
import { type SocketCounts, userSocketsKey } from "./socket-counts.js";
import { DAY_MS, MINUTE_MS, type UsageCounters } from "./usage-counters.js";

/** How long a user's limits (tier + override) are remembered: an override set on another gateway applies within this. */
export const LIMITS_CACHE_MS = 5_000;
/** How long a user's stored bytes read from the stores are trusted (this process's own additions are counted meanwhile). */
export const STORED_BYTES_CACHE_MS = 30_000;
/** Users whose limits and stored bytes are remembered at once (the oldest forgotten first). */
const CACHE_USERS = 10_000;

/** The windowed quotas and their windows. */
const WINDOWS = new Map<QuotaName, number>([
  ["entries_per_day", DAY_MS],
  ["lethe_writes_per_day", DAY_MS],
  ["deposits_per_minute", MINUTE_MS],
]);

/** One quota of a usage report: its limit and what is used (null: not one number of the user's — sockets per key and per address). */
export interface QuotaUsage {
  readonly limit: number;
  readonly used: number | null;
  /** Windowed quotas: when the window's count starts again at 0. */
  readonly resetsAt?: number | undefined;
}

/** A user's usage and limits (`GET /v1/styx/usage`, the admin's view). */
export interface UsageReport {
  readonly userId: string;
  readonly tier: Tier;
  readonly rate: BucketSpec;
  readonly override: LimitsOverride | undefined;
  readonly quotas: ReadonlyMap<QuotaName, QuotaUsage>;
}

/** A write's quota charge: entries (and those asking for lethe) and their bytes. */
export interface WriteCharge {
  readonly entries: number;
  readonly lethe: number;
  readonly bytes: number;
}

/** The quota check a write path needs: charge before storing, give back if the store failed. */
export interface WriteQuota {
  chargeWrites(userId: string, charge: WriteCharge): Promise<() => Promise<void>>;
}

/** What a deletion gives back: bytes no longer stored (SPEC §12's stored-bytes quota). */
export interface StoredBytesRelease {
  releaseBytes(userId: string, bytes: number): void;
}

/** Releases a blob reference and gives its bytes back (SPEC §10, §12). */
export interface BlobRelease {
  releaseBlob(userId: string, cid: string, blobs: Pick<BlobStore, "stat" | "release">): Promise<boolean>;
}

/** The quota check a deposit needs. */
export interface DepositQuota {
  chargeDeposit(userId: string): Promise<void>;
}

/** Dependencies of the quota service. */
export interface QuotaDeps {
  /** The tier table in force (config.quotas.table) and new users' tier. */
  readonly table: Readonly<Record<Tier, UserLimits>>;
  readonly defaultTier: Tier;
  readonly users: { getUser(id: string): Promise<User | undefined>; setUserTier(id: string, tier: Tier, at: number): Promise<boolean> };
  readonly store: QuotaStore;
  readonly counters: UsageCounters;
  /** Bytes of the user's entries (content + metadata JSON, UTF-8) as stored. */
  readonly entries: { storedBytes(userId: string): Promise<number> };
  readonly audit: Pick<AuditLog, "append">;
  readonly clock: Clock;
  /** Open sockets by count key (SPEC §12's socket caps): a user's count in the usage report. */
  readonly sockets?: Pick<SocketCounts, "count"> | undefined;
  /** Told the user whose override changed (the macronode signals the other gateways). */
  readonly onOverride?: ((userId: string) => void) | undefined;
}

/**
 * Per-user limits and quotas (SPEC §12) in one place: the limits in force (tier + admin
 * override, remembered `LIMITS_CACHE_MS`), the windowed counters, stored bytes (entries read
 * from the entry store, blobs counted as stored), the refusals, the usage report and the
 * admin's overrides (audited).
 */
export class QuotaService implements QuotaPolicy, WriteQuota, DepositQuota, StoredBytesRelease, BlobRelease {
  readonly #d: QuotaDeps;
  readonly #limits = new Map<string, { at: number; tier: Tier; override: LimitsOverride | undefined; limits: UserLimits }>();
  readonly #bytes = new Map<string, { at: number; bytes: number }>();

  constructor(deps: QuotaDeps) {
    this.#d = deps;
  }

  async limitsOf(userId: string): Promise<UserLimits> {
    return (await this.#resolve(userId)).limits;
  }

  /** Forgets what is remembered of `userId`'s limits (an override changed here or on another gateway). */
  forget(userId: string): void {
    this.#limits.delete(userId);
  }

  /** Charges a write of entries: stored bytes first, then entries/day and lethe writes/day. Returns the give-back. */
  async chargeWrites(userId: string, charge: WriteCharge): Promise<() => Promise<void>> {
    const { quotas } = await this.limitsOf(userId);
    const used = await this.#storedBytes(userId);
    if (used + charge.bytes > quotas.stored_bytes) throw quotaExceeded("stored_bytes", quotas.stored_bytes, used);
    const taken: [QuotaName, number][] = [];
    const giveBack = async () => {
      for (const [name, n] of taken) await this.#add(userId, name, -n, quotas[name]);
    };
    try {
      for (const [name, n] of [
        ["entries_per_day", charge.entries],
        ["lethe_writes_per_day", charge.lethe],
      ] as const) {
        if (n === 0) continue;
        await this.#take(userId, name, n, quotas[name]);
        taken.push([name, n]);
      }
    } catch (err) {
      await giveBack();
      throw err;
    }
    this.#addBytes(userId, charge.bytes);
    return async () => {
      this.#addBytes(userId, -charge.bytes);
      await giveBack();
    };
  }

  /**
   * Bytes the user no longer stores (a deleted entry): taken off this gateway's count at once.
   * The usage view and the next recount read the stores, so other gateways follow within 30 s.
   */
  releaseBytes(userId: string, bytes: number): void {
    this.#addBytes(userId, -bytes);
  }

  async chargeDeposit(userId: string): Promise<void> {
    const { quotas } = await this.limitsOf(userId);
    await this.#take(userId, "deposits_per_minute", 1, quotas.deposits_per_minute);
  }

  /**
   * Stores a blob within the user's stored bytes: a blob new to the user that would pass the
   * quota is released again and refused (nothing kept); storing a blob the user already has adds
   * nothing and always succeeds.
   */
  async putBlob(
    userId: string,
    source: AsyncIterable<Uint8Array>,
    maxBytes: number,
    blobs: Pick<BlobStore, "put" | "release">,
  ): Promise<BlobPutResult> {
    const limit = (await this.limitsOf(userId)).quotas.stored_bytes;
    const stored = await blobs.put(userId, source, { maxBytes });
    if (!stored.created) return stored;
    const used = await this.#storedBytes(userId);
    if (used + stored.size > limit) {
      await blobs.release(userId, stored.cid);
      throw quotaExceeded("stored_bytes", limit, used);
    }
    await this.#d.store.addBlobBytes(userId, stored.size);
    this.#addBytes(userId, stored.size);
    return stored;
  }

  /**
   * Drops the user's reference to a blob and gives its bytes back to the stored-bytes quota (the
   * bytes `putBlob` counted when the user first stored it). False, and nothing given back, when
   * the user held no reference.
   */
  /** Forgets an erased user: its windowed counters (every quota, every window) and what this process remembers of it. */
  async forgetUser(userId: string): Promise<void> {
    await this.#d.counters.forget(`:${userId}`);
    this.#limits.delete(userId);
    this.#bytes.delete(userId);
  }

  async releaseBlob(userId: string, cid: string, blobs: Pick<BlobStore, "stat" | "release">): Promise<boolean> {
    const found = await blobs.stat(userId, cid);
    if (!(await blobs.release(userId, cid))) return false;
    if (found && found.size > 0) {
      await this.#d.store.addBlobBytes(userId, -found.size);
      this.#addBytes(userId, -found.size);
    }
    return true;
  }

  /** The user's usage and limits, stored bytes read afresh from the stores. 404 for an unknown user. */
  async usage(userId: string): Promise<UsageReport> {
    const user = await this.#d.users.getUser(userId);
    if (!user) throw notFound("No such user.");
    const { tier, override, limits } = await this.#resolve(userId);
    this.#bytes.delete(userId);
    const quotas = new Map<QuotaName, QuotaUsage>();
    quotas.set("stored_bytes", { limit: limits.quotas.stored_bytes, used: await this.#storedBytes(userId) });
    for (const [name, windowMs] of WINDOWS) {
      const c = await this.#d.counters.add(counterKey(userId, name), windowMs, 0, limits.quotas[name]);
      quotas.set(name, { limit: limits.quotas[name], used: c.used, resetsAt: c.resetAt });
    }
    const sockets = this.#d.sockets ? await this.#d.sockets.count(userSocketsKey(userId)) : null;
    quotas.set("sockets_per_user", { limit: limits.quotas.sockets_per_user, used: sockets });
    // Per key and per address are not one number of the user's.
    for (const name of ["sockets_per_key", "sockets_per_ip"] as const) quotas.set(name, { limit: limits.quotas[name], used: null });
    return { userId, tier, rate: limits.rate, override, quotas };
  }

  /** Sets (or, empty, clears) `userId`'s override; audited as `user.limits`. 404 for an unknown user. */
  async setOverride(actor: string, userId: string, override: LimitsOverride, ctx: CallContext = {}): Promise<UsageReport> {
    if (!(await this.#d.users.getUser(userId))) throw notFound("No such user.");
    const cleared = isEmptyOverride(override);
    await this.#d.store.setOverride(userId, cleared ? undefined : override, this.#d.clock.now());
    this.forget(userId);
    this.#d.onOverride?.(userId);
    await this.#d.audit.append({
      actor,
      action: "user.limits",
      target: `user:${userId}`,
      ...ctx,
      details: cleared ? { cleared: true } : { rate: override.rate, burst: override.burst, ...override.quotas },
    });
    return this.usage(userId);
  }

  /** Moves `userId` to `tier` (its limits and quotas follow at once here, within LIMITS_CACHE_MS elsewhere); audited as `user.tier`. 404 for an unknown user. */
  async setTier(actor: string, userId: string, tier: Tier, ctx: CallContext = {}): Promise<UsageReport> {
    const before = (await this.#d.users.getUser(userId))?.tier;
    if (before === undefined || !(await this.#d.users.setUserTier(userId, tier, this.#d.clock.now()))) throw notFound("No such user.");
    this.forget(userId);
    this.#d.onOverride?.(userId);
    await this.#d.audit.append({ actor, action: "user.tier", target: `user:${userId}`, ...ctx, details: { from: before, to: tier } });
    return this.usage(userId);
  }

  async #resolve(userId: string) {
    const now = this.#d.clock.now();
    const known = this.#limits.get(userId);
    if (known && now - known.at < LIMITS_CACHE_MS) return known;
    const [user, override] = await Promise.all([this.#d.users.getUser(userId), this.#d.store.getOverride(userId)]);
    const tier = user?.tier ?? this.#d.defaultTier;
    const entry = { at: now, tier, override, limits: applyOverride(this.#d.table[tier], override) };
    remember(this.#limits, userId, entry);
    return entry;
  }

  async #storedBytes(userId: string): Promise<number> {
    const now = this.#d.clock.now();
    const known = this.#bytes.get(userId);
    if (known && now - known.at < STORED_BYTES_CACHE_MS) return known.bytes;
    const [entries, blobs] = await Promise.all([this.#d.entries.storedBytes(userId), this.#d.store.blobBytes(userId)]);
    remember(this.#bytes, userId, { at: now, bytes: entries + blobs });
    return entries + blobs;
  }

  #addBytes(userId: string, bytes: number): void {
    const known = this.#bytes.get(userId);
    if (known) known.bytes = Math.max(0, known.bytes + bytes);
  }

  async #take(userId: string, name: QuotaName, n: number, limit: number): Promise<void> {
    const c = await this.#add(userId, name, n, limit);
    if (!c.allowed) throw quotaExceeded(name, limit, c.used, c.resetAt - this.#d.clock.now());
  }

  #add(userId: string, name: QuotaName, n: number, limit: number) {
    return this.#d.counters.add(counterKey(userId, name), WINDOWS.get(name) as number, n, limit);
  }
}

/** The counter of one user's windowed quota. */
function counterKey(userId: string, name: QuotaName): string {
  return `${name}:${userId}`;
}

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > CACHE_USERS) map.delete(map.keys().next().value as string);
}
