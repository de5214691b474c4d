import type { Principal } from "../../core/identity/principal.js";
import { type QuotaPolicy, quotaExceeded, type UserLimits } from "../../core/quota/limits.js";
import { type SocketCounts, socketClaims } from "../../core/quota/socket-counts.js";

/** What a SocketQuota needs. */
export interface SocketQuotaDeps {
  readonly counts: SocketCounts;
  readonly policy: QuotaPolicy;
  /** The default tier's limits: an address's cap before anybody is known on the socket. */
  readonly defaults: UserLimits;
  /** How long a count lives without a refresh: a few refresh intervals, so a dead gateway's sockets stop counting. */
  readonly ttlMs: number;
}

/**
 * The socket caps of this process's sockets (SPEC §12: sockets per user, key and IP): claims
 * a socket's counts at upgrade (its address; user and key too when the upgrade carried a
 * credential) and again when it authenticates by message, refreshes them while it lives and
 * releases them when it closes. It owns which keys each socket of the process is counted under.
 */
export class SocketQuota {
  readonly #deps: SocketQuotaDeps;
  readonly #held = new Map<string, readonly string[]>();

  constructor(deps: SocketQuotaDeps) {
    this.#deps = deps;
  }

  /**
   * Counts socket `id` of address `ip` (and of `principal`'s user and key) or throws
   * `STYX_QUOTA_EXCEEDED` (429) naming the full quota — the address under the user's tier once a
   * user is known, the default tier's before. A socket closed meanwhile must be released again.
   */
  async claim(id: string, ip: string, principal: Principal | undefined): Promise<void> {
    const limits = principal?.kind === "user" ? await this.#deps.policy.limitsOf(principal.userId) : this.#deps.defaults;
    const claims = socketClaims(ip, principal, limits);
    const result = await this.#deps.counts.claim(id, claims, this.#deps.ttlMs);
    if (!result.ok) {
      const refused = claims[result.index];
      if (!refused) throw new Error(`socket count refused an unknown claim ${result.index}`);
      throw quotaExceeded(refused.quota, refused.limit, result.used);
    }
    const keys = new Set([...(this.#held.get(id) ?? []), ...claims.map((c) => c.key)]);
    this.#held.set(id, [...keys]);
  }

  /** Stops counting socket `id` (idempotent; a failure of the shared store is left to the entries' ttl). */
  release(id: string): Promise<void> {
    const keys = this.#held.get(id);
    if (!keys) return Promise.resolve();
    this.#held.delete(id);
    return this.#deps.counts.release(id, keys);
  }

  /** Pushes the expiry of every counted socket ahead (once per ping interval). */
  refresh(): Promise<void> {
    const sockets = [...this.#held].map(([id, keys]) => ({ id, keys }));
    return sockets.length === 0 ? Promise.resolve() : this.#deps.counts.refresh(sockets, this.#deps.ttlMs);
  }

  /** Sockets of this process being counted. */
  get size(): number {
    return this.#held.size;
  }
}
