import type { Principal } from "../core/identity/principal.js";
import type { Scope } from "../core/identity/types.js";
import { StyxError } from "../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../core/platform/rate-limiter.js";

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

/** The token bucket a principal's requests and messages draw from: one per credential, one for the admin token. */
export function identityBucket(p: Principal): string {
  return p.kind === "admin" ? "admin" : `cred:${p.credentialId}`;
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
