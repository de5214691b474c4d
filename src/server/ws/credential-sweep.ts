import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { SocketSession } from "./session.js";

/** Keys asked about per store round trip. */
const KEYS_PER_QUERY = 500;

/**
 * Closes the sockets whose credential stopped working after they authenticated (4401
 * STYX_AUTH_INVALID_KEY): an expired key or wallet session (known from the principal), or a key
 * revoked or deleted since, asked of the store in one query per 500 distinct keys. The gateway
 * runs it once per ping interval, which bounds how long a revocation made elsewhere (another
 * gateway whose signal was lost, `styx keys revoke` beside a running micronode) leaves a socket
 * open; a revocation through the server closes its sockets at once (`closeCredential`).
 * Returns how many sockets were closed.
 */
export async function sweepCredentials(
  sessions: Iterable<SocketSession>,
  store: Pick<IdentityStore, "unusableApiKeys">,
  now: number,
): Promise<number> {
  const byKey = new Map<string, SocketSession[]>();
  let closed = 0;
  for (const c of sessions) {
    const p = c.principal;
    if (!c.open || p?.kind !== "user") continue;
    if (p.expiresAt !== null && p.expiresAt <= now) {
      c.connection.close("STYX_AUTH_INVALID_KEY", "the credential expired");
      closed++;
      continue;
    }
    if (p.via !== "api_key") continue;
    const list = byKey.get(p.credentialId);
    if (list) list.push(c);
    else byKey.set(p.credentialId, [c]);
  }
  const ids = [...byKey.keys()];
  for (let i = 0; i < ids.length; i += KEYS_PER_QUERY) {
    for (const id of await store.unusableApiKeys(ids.slice(i, i + KEYS_PER_QUERY), now)) closed += closeCredential(byKey.get(id) ?? [], id);
  }
  return closed;
}

/** Closes the open sockets among `sessions` authenticated with credential `id` (a revoked key, an ended session); returns how many. */
export function closeCredential(sessions: Iterable<SocketSession>, id: string, reason = "the key was revoked"): number {
  let closed = 0;
  for (const c of sessions) {
    const p = c.principal;
    if (c.open && p?.kind === "user" && p.credentialId === id) {
      c.connection.close("STYX_AUTH_INVALID_KEY", reason);
      closed++;
    }
  }
  return closed;
}
