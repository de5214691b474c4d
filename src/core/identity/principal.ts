import type { Scope } from "./types.js";

/** Who is calling, as established by authentication. */
export type Principal =
  | { readonly kind: "admin" }
  | {
      readonly kind: "user";
      readonly userId: string;
      /** Key or session id: the identity that rate limits and audit records name. */
      readonly credentialId: string;
      readonly via: "api_key" | "session";
      /** Set when the credential acts for one golem only. */
      readonly golemId: string | null;
      /** When the credential stops working (null: a key without expiry); a socket it opened is closed then. */
      readonly expiresAt: number | null;
      readonly scopes: readonly Scope[];
    };

/** A user principal whose credential acts for one golem: a key bound to a golem, or a golem's wallet session. */
export type GolemPrincipal = Extract<Principal, { kind: "user" }> & { readonly golemId: string };

/**
 * Whether `principal` is a golem credential (SPEC §3: least privilege — its own golem's data,
 * the clade and everything public; never owner views or actions, never a sibling's private data).
 */
export function isGolemCredential(principal: Principal | undefined): principal is GolemPrincipal {
  return principal?.kind === "user" && principal.golemId !== null;
}

/** Request facts that audit records carry. */
export interface CallContext {
  readonly requestId?: string | undefined;
  readonly ip?: string | undefined;
}

/** The actor string written to the audit log for a principal. */
export function actorOf(principal: Principal | undefined): string {
  if (!principal) return "anonymous";
  return principal.kind === "admin" ? "admin" : `user:${principal.userId}`;
}
