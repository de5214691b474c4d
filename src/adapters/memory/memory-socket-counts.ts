import type { Clock } from "../../core/platform/clock.js";
import type { ClaimResult, CountedSocket, SocketClaim, SocketCounts } from "../../core/quota/socket-counts.js";

/**
 * Socket counts in process memory: exact for one process (micronode). Behind several gateways
 * each would count only its own sockets — use the Redis adapter there (it falls back to this one
 * while Redis is down). Expired entries are dropped when a claim would pass a limit (so a
 * refusal never counts an expired socket) and otherwise at most once per half TTL per key: a
 * claim costs O(1), not a walk of every socket under the key (10,000 sockets from one address
 * made connecting quadratic: bench/connections.ts).
 */
export class MemorySocketCounts implements SocketCounts {
  /** Key → socket id → expiry (epoch ms). */
  readonly #sets = new Map<string, Map<string, number>>();
  /** Key → when its expired entries are next dropped (epoch ms). */
  readonly #sweepAt = new Map<string, number>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async claim(socketId: string, claims: readonly SocketClaim[], ttlMs: number): Promise<ClaimResult> {
    const now = this.#clock.now();
    for (const [index, c] of claims.entries()) {
      const set = this.#sets.get(c.key);
      if (!set) {
        if (c.limit < 1) return { ok: false, index, used: 0 };
        continue;
      }
      const extra = set.has(socketId) ? 0 : 1;
      if (set.size + extra > c.limit || now >= (this.#sweepAt.get(c.key) ?? 0)) {
        for (const [id, expires] of set) if (expires <= now) set.delete(id);
        this.#sweepAt.set(c.key, now + ttlMs / 2);
      }
      if (set.size + extra > c.limit) return { ok: false, index, used: set.size };
    }
    for (const c of claims) this.#put(c.key, socketId, now + ttlMs);
    return { ok: true };
  }

  async refresh(sockets: readonly CountedSocket[], ttlMs: number): Promise<void> {
    const expires = this.#clock.now() + ttlMs;
    for (const s of sockets) for (const key of s.keys) this.#put(key, s.id, expires);
  }

  async release(socketId: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const set = this.#sets.get(key);
      if (!set) continue;
      set.delete(socketId);
      if (set.size === 0) {
        this.#sets.delete(key);
        this.#sweepAt.delete(key);
      }
    }
  }

  async count(key: string): Promise<number> {
    const now = this.#clock.now();
    let n = 0;
    for (const expires of this.#sets.get(key)?.values() ?? []) if (expires > now) n++;
    return n;
  }

  #put(key: string, socketId: string, expires: number): void {
    let set = this.#sets.get(key);
    if (!set) {
      set = new Map();
      this.#sets.set(key, set);
    }
    set.set(socketId, expires);
  }
}
