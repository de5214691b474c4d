import type { ClaimResult, CountedSocket, SocketClaim, SocketCounts } from "../core/quota/socket-counts.js";
import type { FallbackListener } from "./fallback-rate-limiter.js";

/**
 * The cluster's socket counts (Redis), or this process's own while the shared store fails: an
 * outage of Redis degrades the socket caps to per-gateway ones instead of refusing every socket
 * (as FallbackRateLimiter does for buckets). The local counts always mirror this process's
 * sockets, so they are exact for the gateway the moment Redis fails; releases and refreshes go to
 * both, and the first refresh after an outage re-adds to Redis the sockets admitted during it.
 */
export class FallbackSocketCounts implements SocketCounts {
  readonly #primary: SocketCounts;
  readonly #local: SocketCounts;
  #listener: FallbackListener | undefined;
  #degraded = false;

  constructor(primary: SocketCounts, local: SocketCounts) {
    this.#primary = primary;
    this.#local = local;
  }

  /** True while claims are decided by the local counts. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Sets who hears of the switches (the composition root, once the logger exists). */
  watch(listener: FallbackListener): void {
    this.#listener = listener;
  }

  async claim(socketId: string, claims: readonly SocketClaim[], ttlMs: number): Promise<ClaimResult> {
    let result: ClaimResult;
    try {
      result = await this.#primary.claim(socketId, claims, ttlMs);
    } catch (err) {
      this.#fail(err);
      return this.#local.claim(socketId, claims, ttlMs);
    }
    this.#ok();
    // The cluster decided; the local counts only record the socket, for the next outage.
    if (result.ok) await this.#local.claim(socketId, unbounded(claims), ttlMs);
    return result;
  }

  async refresh(sockets: readonly CountedSocket[], ttlMs: number): Promise<void> {
    await this.#local.refresh(sockets, ttlMs);
    try {
      await this.#primary.refresh(sockets, ttlMs);
      this.#ok();
    } catch (err) {
      this.#fail(err);
    }
  }

  async release(socketId: string, keys: readonly string[]): Promise<void> {
    await this.#local.release(socketId, keys);
    // A release Redis missed expires there with the entry's ttl.
    await this.#primary.release(socketId, keys).catch((err: unknown) => this.#fail(err));
  }

  #fail(err: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#listener?.degraded(err);
  }

  #ok(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#listener?.restored();
  }
}

function unbounded(claims: readonly SocketClaim[]): SocketClaim[] {
  return claims.map((c) => ({ key: c.key, limit: Number.MAX_SAFE_INTEGER }));
}
