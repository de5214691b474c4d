import type { ClaimResult, CountedSocket, SocketClaim, SocketCounts } from "../core/quota/socket-counts.js";
import { Fallback } from "./fallback-rate-limiter.js";

/**
 * The cluster's socket counts (Redis), or this process's own while the shared store fails: an
 * outage of Redis degrades the socket caps to per-gateway ones instead of refusing every socket
 * (as FallbackRateLimiter does for buckets). The local counts always mirror this process's
 * sockets, so they are exact for the gateway the moment Redis fails; releases and refreshes go to
 * both, and the first refresh after an outage re-adds to Redis the sockets admitted during it.
 */
export class FallbackSocketCounts extends Fallback implements SocketCounts {
  readonly #primary: SocketCounts;
  readonly #local: SocketCounts;

  constructor(primary: SocketCounts, local: SocketCounts) {
    super();
    this.#primary = primary;
    this.#local = local;
  }

  claim(socketId: string, claims: readonly SocketClaim[], ttlMs: number): Promise<ClaimResult> {
    return this.run(
      async () => {
        const result = await this.#primary.claim(socketId, claims, ttlMs);
        // The cluster decided; the local counts only record the socket, for the next outage.
        if (result.ok) await this.#local.claim(socketId, unbounded(claims), ttlMs);
        return result;
      },
      () => this.#local.claim(socketId, claims, ttlMs),
    );
  }

  async refresh(sockets: readonly CountedSocket[], ttlMs: number): Promise<void> {
    await this.#local.refresh(sockets, ttlMs);
    await this.run(
      () => this.#primary.refresh(sockets, ttlMs),
      async () => {},
    );
  }

  async release(socketId: string, keys: readonly string[]): Promise<void> {
    await this.#local.release(socketId, keys);
    // A release Redis missed expires there with the entry's ttl.
    await this.run(
      () => this.#primary.release(socketId, keys),
      async () => {},
    );
  }

  count(key: string): Promise<number> {
    return this.run(
      () => this.#primary.count(key),
      () => this.#local.count(key),
    );
  }
}

function unbounded(claims: readonly SocketClaim[]): SocketClaim[] {
  return claims.map((c) => ({ key: c.key, limit: Number.MAX_SAFE_INTEGER }));
}
