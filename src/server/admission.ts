import { isGolemCredential, type Principal } from "../core/identity/principal.js";
import type { Scope } from "../core/identity/types.js";
import { StyxError } from "../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../core/platform/rate-limiter.js";
import type { QuotaPolicy } from "../core/quota/limits.js";

/**
 * Admission rules shared by the HTTP plugins and the socket gateway, written once so the two
 * transports cannot drift: how a bearer token is read, which token bucket a caller draws from,
 * what a scope allows, and the one `STYX_RATE_LIMITED` refusal.
 */

/** The token of an `Authorization` header: undefined when there is none, null when it is not `Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined | null {
  if (!header) return undefined;
  return /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? null;
}

/** The message of a malformed `Authorization` header, on both transports. */
export const BEARER_HINT = "Use 'Authorization: Bearer <key>'.";

/**
 * The token bucket a principal's requests and messages draw from (SPEC §12): the user's, shared
 * by every key and session of the user; the admin token's own.
 */
export function identityBucket(p: Principal): string {
  return p.kind === "admin" ? "admin" : `user:${p.userId}`;
}

/**
 * The share of the user's bucket a golem credential may spend on its own: it draws from the
 * user's bucket and also from one of its own at this fraction of the user's rate and burst, so
 * one golem cannot spend its whole fleet's budget.
 */
export const GOLEM_CREDENTIAL_SHARE = 0.5;

/** The buckets a principal draws one token from, in order: the user's (or admin's), then a golem credential's own. */
export async function identityBuckets(
  p: Principal,
  quotas: Pick<QuotaPolicy, "limitsOf">,
  adminRate: BucketSpec,
): Promise<[string, BucketSpec][]> {
  if (p.kind === "admin") return [["admin", adminRate]];
  const { rate } = await quotas.limitsOf(p.userId);
  const buckets: [string, BucketSpec][] = [[identityBucket(p), rate]];
  if (isGolemCredential(p)) buckets.push([`golem-cred:${p.credentialId}`, golemShare(rate)]);
  return buckets;
}

/** A golem credential's own bucket: `GOLEM_CREDENTIAL_SHARE` of the user's rate and burst, at least 1 each. */
export function golemShare(rate: BucketSpec): BucketSpec {
  return {
    rate: Math.max(1, rate.rate * GOLEM_CREDENTIAL_SHARE),
    burst: Math.max(1, Math.floor(rate.burst * GOLEM_CREDENTIAL_SHARE)),
  };
}

/** Options of `limitIdentity`: the limiter, where users' limits come from, the admin token's bucket and the refusal metric. */
export interface IdentityLimits {
  readonly limiter: RateLimiter;
  readonly quotas: Pick<QuotaPolicy, "limitsOf">;
  readonly adminRate: BucketSpec;
  readonly refused: () => void;
}

/** Takes one token from each of the principal's buckets (`identityBuckets`), or throws `rateLimited` — on HTTP and sockets alike. */
export async function limitIdentity(opts: IdentityLimits, p: Principal): Promise<void> {
  for (const [bucket, spec] of await identityBuckets(p, opts.quotas, opts.adminRate)) {
    await takeToken(opts.limiter, bucket, spec, opts.refused);
  }
}

/** The token bucket of a client address (requests and socket upgrades alike). */
export function ipBucket(ip: string): string {
  return `ip:${ip}`;
}

/** Refuses a user credential that lacks `scope` (`STYX_AUTH_FORBIDDEN`). */
export function requireScope(p: Principal & { kind: "user" }, scope: Scope): void {
  if (!p.scopes.includes(scope)) throw new StyxError("STYX_AUTH_FORBIDDEN", `The key lacks the '${scope}' scope.`);
}

/**
 * The one `STYX_RATE_LIMITED` refusal (SPEC §12): `Retry-After` in whole seconds (at least 1; the
 * HTTP header) and the exact wait in `details.retry_after_ms` (both transports).
 */
export function rateLimited(retryAfterMs: number): StyxError {
  const ms = Math.max(0, Math.ceil(retryAfterMs));
  return new StyxError("STYX_RATE_LIMITED", undefined, {
    retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
    details: { retry_after_ms: ms },
  });
}

/** Takes one token from `bucket`, or throws `rateLimited` after calling `refused` (a metric). */
export async function takeToken(limiter: RateLimiter, bucket: string, spec: BucketSpec, refused: () => void): Promise<void> {
  const r = await limiter.take(bucket, spec);
  if (r.allowed) return;
  refused();
  throw rateLimited(r.retryAfterMs);
}
