import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { AuthService } from "../../core/identity/auth-service.js";
import { ERROR_TABLE, StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { bearerToken, ipBucket, rateLimited } from "../admission.js";
import type { Metrics } from "../metrics.js";
import { toStyxError } from "../presenters/errors.js";
import type { Hub } from "./hub.js";
import type { UpgradeCredential } from "./sign-in.js";
import type { SocketQuota } from "./socket-quota.js";

/** The path of the socket endpoint. */
export const WS_PATH = "/v1/styx/ws";

/** What upgrade admission needs (the gateway's deps). */
export interface UpgradeDeps {
  readonly hub: Pick<Hub, "size">;
  readonly auth: Pick<AuthService, "authenticate">;
  readonly limiter: RateLimiter;
  readonly ipRateLimit: BucketSpec;
  readonly quota: Pick<SocketQuota, "claim">;
  readonly metrics: Metrics;
  readonly closing: () => boolean;
  readonly options: { readonly maxConnections: number };
}

/**
 * Admits an upgrade or throws its refusal: the path, shutdown, the process's cap (503), the
 * address's bucket (429 STYX_RATE_LIMITED), then the credential — a refused one is answered on the
 * socket, as before — and the socket caps (429 STYX_QUOTA_EXCEEDED): of the address alone without
 * a credential, of the user, key and address with one. Resolves with the credential's outcome.
 */
export async function admit(id: string, ip: string, req: IncomingMessage, deps: UpgradeDeps): Promise<UpgradeCredential> {
  const path = (req.url ?? "").split("?")[0];
  if (path !== WS_PATH) throw new StyxError("STYX_ROUTE_NOT_FOUND");
  if (deps.closing()) throw new StyxError("STYX_SHUTTING_DOWN");
  if (deps.hub.size >= deps.options.maxConnections) {
    deps.metrics.rejected.inc({ reason: "overloaded" });
    throw new StyxError("STYX_OVERLOADED");
  }
  const r = await deps.limiter.take(ipBucket(ip), deps.ipRateLimit);
  if (!r.allowed) {
    deps.metrics.rejected.inc({ reason: "rate_limit" });
    throw rateLimited(r.retryAfterMs);
  }
  const credential = await authenticate(tokenOf(req), deps);
  try {
    await deps.quota.claim(id, ip, credential.kind === "authenticated" ? credential.principal : undefined);
  } catch (err) {
    if (err instanceof StyxError && err.code === "STYX_QUOTA_EXCEEDED") deps.metrics.rejected.inc({ reason: "quota" });
    throw err;
  }
  return credential;
}

/** The upgrade's credential, authenticated (its failure is answered on the socket after the upgrade). */
async function authenticate(token: string | null | undefined, deps: UpgradeDeps): Promise<UpgradeCredential> {
  if (token === undefined) return { kind: "none" };
  if (token === null) return { kind: "malformed" };
  try {
    return { kind: "authenticated", principal: await deps.auth.authenticate(token) };
  } catch (err) {
    const error = toStyxError(err);
    // Only the credential's own refusals are answered after the upgrade; a store outage refuses the upgrade.
    if (error.status !== 401 && error.status !== 403 && error.status !== 409) throw error;
    return { kind: "refused", error };
  }
}

/** The token of an upgrade: header or `?token=`; undefined when neither (auth by message); null when malformed. */
function tokenOf(req: IncomingMessage): string | undefined | null {
  const h = req.headers.authorization;
  if (h) return bearerToken(h);
  const q = new URL(req.url ?? "/", "http://x").searchParams.get("token");
  return q || undefined;
}

/**
 * Answers an upgrade that is not admitted with a plain HTTP error in the Styx error shape, with
 * `Retry-After` and `details` as an HTTP refusal carries them (SPEC §12: one shape on both transports).
 */
export function refuse(socket: Duplex, e: StyxError): void {
  if (socket.destroyed) return;
  const error: Record<string, unknown> = { code: e.code, message: e.message };
  if (e.details !== undefined) error.details = e.details;
  const body = JSON.stringify({ error });
  const retry =
    e.retryAfterSeconds !== undefined
      ? `Retry-After: ${e.retryAfterSeconds}\r\n`
      : ERROR_TABLE[e.code].retryable
        ? "Retry-After: 1\r\n"
        : "";
  socket.end(
    `HTTP/1.1 ${e.status} ${e.code}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`,
  );
}
