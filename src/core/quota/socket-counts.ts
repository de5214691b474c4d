import type { Principal } from "../identity/principal.js";
import type { QuotaName, UserLimits } from "./limits.js";

/**
 * Open sockets counted per user, key and client address (SPEC §12: "sockets per user, key and
 * IP"). A count is a set of socket ids under a key (`user:<id>`, `key:<credential>`, `ip:<addr>`),
 * each entry expiring unless refreshed, so the sockets of a gateway that died stop counting on
 * their own. The memory adapter counts one process (micronode); the Redis adapter counts the
 * cluster, so a user cannot open N× their cap across N gateways.
 */

/** One count a socket joins: the key and the most sockets it may hold. */
export interface SocketClaim {
  readonly key: string;
  readonly limit: number;
}

/** The answer of a claim: admitted, or the first claim (by index) whose key is full and how many it holds. */
export type ClaimResult = { readonly ok: true } | { readonly ok: false; readonly index: number; readonly used: number };

/** A socket and the keys it is counted under (for refreshes). */
export interface CountedSocket {
  readonly id: string;
  readonly keys: readonly string[];
}

/**
 * Sets of live socket ids by key.
 * Obligations: `claim` is atomic over all its keys — it adds the socket under every key, or under
 * none when one key would then hold more than its limit; a socket already under a key counts
 * once there (a claim repeated with a lower limit refuses when the key holds more than it). An
 * entry expires `ttlMs` after its last claim or refresh; `refresh` also re-adds entries that are
 * missing (lost to a store outage). `release` of an absent entry does nothing.
 */
export interface SocketCounts {
  claim(socketId: string, claims: readonly SocketClaim[], ttlMs: number): Promise<ClaimResult>;
  refresh(sockets: readonly CountedSocket[], ttlMs: number): Promise<void>;
  release(socketId: string, keys: readonly string[]): Promise<void>;
  /** Live (unexpired) sockets under `key` now. */
  count(key: string): Promise<number>;
}

/** The count key of a user's sockets (`sockets_per_user`). */
export function userSocketsKey(userId: string): string {
  return `user:${userId}`;
}

/** A claim with the quota it enforces (what a refusal names). */
export interface QuotaClaim extends SocketClaim {
  readonly quota: QuotaName;
}

/**
 * The counts a socket joins (SPEC §12): its client address always — under the limit of its
 * user's tier, or of the default tier while nobody is known (`limits` is then the default tier's)
 * — and, for a user's credential, the user and the key (or session). The admin token is counted by
 * address only.
 */
export function socketClaims(ip: string, principal: Principal | undefined, limits: UserLimits): QuotaClaim[] {
  const claims: QuotaClaim[] = [];
  if (principal?.kind === "user") {
    claims.push({ quota: "sockets_per_user", key: userSocketsKey(principal.userId), limit: limits.quotas.sockets_per_user });
    claims.push({ quota: "sockets_per_key", key: `key:${principal.credentialId}`, limit: limits.quotas.sockets_per_key });
  }
  claims.push({ quota: "sockets_per_ip", key: `ip:${ip}`, limit: limits.quotas.sockets_per_ip });
  return claims;
}
