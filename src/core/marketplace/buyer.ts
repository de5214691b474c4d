/**
 * Who buys in the marketplace (SPEC §16.2, §17.2 item 4): a local user, or a downstream's user
 * buying through its Styx's federate key. A downstream names its user by `X-Styx-Buyer` (the keyed
 * hash of the local user id, 24 hex: `buyerReference` in federation/records.ts); here that buyer
 * is keyed on the pair (federation user, buyer ref), so two users of one downstream are two
 * buyers and a federate key never acts as any other buyer. Pure.
 */
import type { Principal } from "../identity/principal.js";
import { StyxError } from "../platform/errors.js";

/** The request header naming a downstream's buyer (lower-case, as Node gives headers). */
export const BUYER_HEADER = "x-styx-buyer";

/** A buyer reference: the 12-byte keyed hash of a downstream's user id, as 24 lower-case hex. */
export const BUYER_REF_PATTERN = /^[0-9a-f]{24}$/;

type UserPrincipal = Extract<Principal, { kind: "user" }>;

/**
 * The buyer reference a marketplace buyer route acts for: with a `federate` credential,
 * `X-Styx-Buyer` is required (one 24-hex value, else 400 STYX_VALIDATION) and the credential
 * must not be bound to a golem (403); without one, the header is refused (403: only a linked
 * Styx speaks for another's users) and the caller buys as itself (undefined).
 */
export function federatedBuyerRef(principal: UserPrincipal, header: string | string[] | undefined): string | undefined {
  if (!principal.scopes.includes("federate")) {
    if (header !== undefined)
      throw new StyxError("STYX_AUTH_FORBIDDEN", "X-Styx-Buyer is sent only by a linked Styx, with its federate key.");
    return undefined;
  }
  if (principal.golemId !== null) throw new StyxError("STYX_AUTH_FORBIDDEN", "A federate key is never bound to a golem.");
  if (typeof header !== "string" || !BUYER_REF_PATTERN.test(header))
    throw new StyxError("STYX_VALIDATION", "A federate key buys for a downstream user named by X-Styx-Buyer.", {
      details: [{ in: "headers", path: BUYER_HEADER, message: "is required with a federate key: 24 lower-case hex characters" }],
    });
  return header;
}

/**
 * The buyer id purchases and ratings are keyed on: the user id of a local buyer, else
 * `<federation user id>:<buyer ref>` — never a local user id, since ids hold no `:`.
 */
export function buyerId(userId: string, buyerRef: string | undefined): string {
  return buyerRef === undefined ? userId : `${userId}:${buyerRef}`;
}

/** Whether a stored buyer id is a downstream's buyer (bought through a federate key of `userId`). */
export function isFederatedBuyerOf(stored: string, userId: string): boolean {
  return stored.startsWith(`${userId}:`);
}
