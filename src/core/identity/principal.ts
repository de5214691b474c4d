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
