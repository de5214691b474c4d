import type { Principal } from "../../core/identity/principal.js";
import type { StyxError } from "../../core/platform/errors.js";
import type { MessageId } from "../../protocol/frames.js";
import { toStyxError } from "../presenters/errors.js";
import type { Connection } from "./connection.js";
import type { SessionDeps } from "./session.js";

/**
 * How the upgrade's credential turned out: authenticated (and counted) before the upgrade,
 * refused by authentication, malformed, or absent (an `auth` message must follow).
 */
export type UpgradeCredential =
  | { readonly kind: "none" }
  | { readonly kind: "malformed" }
  | { readonly kind: "authenticated"; readonly principal: Principal }
  | { readonly kind: "refused"; readonly error: StyxError };

/** What signing in needs of a session. */
interface Signing {
  readonly id: string;
  readonly ip: string;
  readonly open: boolean;
  readonly principal: Principal | undefined;
  readonly connection: Connection;
}

type SignInDeps = Pick<SessionDeps, "auth" | "quota" | "metrics" | "options">;

/** A credential refused by authentication: audited, answered, closed with its code. */
export function refuseCredential(s: Signing, deps: SignInDeps, e: StyxError, id: MessageId | undefined): void {
  deps.auth.refused(s.ip, e.code);
  s.connection.sendError(e.code, e.message, id);
  s.connection.close(e.code);
}

/** Closes a socket still without a principal when the auth timeout passes (STYX_WS_AUTH_TIMEOUT). */
export function authDeadline(s: Signing, deps: SignInDeps): NodeJS.Timeout {
  const { authTimeoutMs } = deps.options;
  const timer = setTimeout(() => {
    if (s.principal || !s.open) return;
    deps.metrics.wsDropped.inc({ reason: "auth_timeout" });
    s.connection.sendError("STYX_AUTH_REQUIRED", `Send {"type":"auth","token":…} within ${authTimeoutMs} ms of connecting.`);
    s.connection.close("STYX_AUTH_REQUIRED", "authentication timeout");
  }, authTimeoutMs);
  timer.unref();
  return timer;
}

/**
 * An `auth` message: the credential, then the socket caps of its user and key (and of the
 * address under the user's tier). Resolves with the principal to welcome, or undefined when the
 * socket was refused or closed. Past a cap the socket gets the refusal as an error frame
 * (`details.quota`, `limit`, `used`) and is closed with its code, 4429: a place frees when another
 * socket closes, so a client reconnects after its backoff, as after a flood.
 */
export async function signInByMessage(
  s: Signing,
  token: string,
  id: MessageId | undefined,
  deps: SignInDeps,
): Promise<Principal | undefined> {
  let principal: Principal;
  try {
    principal = await deps.auth.authenticate(token);
  } catch (err) {
    refuseCredential(s, deps, toStyxError(err), id);
    return undefined;
  }
  if (!s.open) return undefined;
  try {
    await deps.quota.claim(s.id, s.ip, principal);
  } catch (err) {
    const e = toStyxError(err);
    if (e.code === "STYX_QUOTA_EXCEEDED") deps.metrics.rejected.inc({ reason: "quota" });
    s.connection.sendError(e.code, e.message, id, e.details);
    s.connection.close(e.code);
    return undefined;
  }
  if (s.open) return principal;
  // Closed while its counts were claimed: the session's close released before they were held.
  await deps.quota.release(s.id).catch(() => {});
  return undefined;
}
