import type { Principal } from "../core/identity/principal.js";
import type { Golem, Scope } from "../core/identity/types.js";

/** Where a route finds a user or golem id that tenancy must check. */
export interface TenantRule {
  readonly from: "params" | "body" | "query";
  readonly field: string;
  /** When `field` is an array of objects: the id field inside each item. */
  readonly each?: string;
  readonly kind: "user" | "golem" | "session";
  /** A golem that acts through this route (a write, a deposit…): refused once dead, made alive at its first act. */
  readonly acts?: true;
}

/** Whether a golem credential may call a route (see `golemCredential`). */
export type GolemCredentialRule = "own" | "owner-only";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call: `public` (anyone), `user` (API key or session; the default), `admin` (admin token). */
    auth?: "public" | "user" | "admin";
    /** Scope a user credential needs; default `read` for GET/HEAD, `write` otherwise. */
    scope?: Scope;
    /**
     * A key with the `federate` scope may call this route too (with the scope it needs): the
     * routes a link forwards (SPEC §17.2). Unset: a federate key gets 403 here.
     */
    federateKey?: true;
    /** Ids in the request that must belong to the caller (checked in one place: plugins/auth.ts). */
    tenant?: readonly TenantRule[];
    /**
     * What a golem credential (a golem-bound key or a golem's wallet session, SPEC §3) may do on
     * a `user` route: `own` — call it, confined by the tenant rules (and the core's filters) to
     * its own golem, the clade and what is public; `owner-only` — 403 STYX_AUTH_FORBIDDEN (owner
     * views and actions). Unset counts as `owner-only`; a test fails for a user route without it.
     */
    golemCredential?: GolemCredentialRule;
    /**
     * Heavy work (a query, a snapshot, a batch write; SPEC §12): runs only with a slot of the fair
     * queue (plugins/heavy.ts), after authentication, validation and tenancy.
     */
    heavy?: true;
    /** Operational routes: never rate limited or shed (health, readiness, metrics). */
    exempt?: boolean;
    /** The credential may also come as `?token=` (MCP hosts and browsers that cannot set headers, as on the socket). */
    queryToken?: true;
    /** A wallet sign-in: refusing its signer (a dead golem's wallet) is a failed authentication (plugins/auth.ts). */
    signIn?: true;
    /**
     * A marketplace buyer route (SPEC §17.2 item 4): a `federate` key may call it for a
     * downstream's user named by `X-Styx-Buyer` (required with such a key, refused without one).
     */
    federatedBuyer?: true;
  }
  interface FastifyRequest {
    /** The authenticated caller; undefined on public routes. */
    principal: Principal | undefined;
    /** Golems resolved and ownership-checked by tenancy rules, by id. */
    golems: Map<string, Golem> | null;
    /** The downstream buyer a federate key speaks for on a `federatedBuyer` route, else undefined. */
    buyerRef: string | undefined;
  }
}

/** The golem a tenancy rule resolved; throws if the route forgot to declare the rule. */
export function tenantGolem(req: { golems: Map<string, Golem> | null }, id: string): Golem {
  const g = req.golems?.get(id);
  if (!g) throw new Error(`golem ${id} was not resolved by a tenancy rule`);
  return g;
}

/** The buyer of a marketplace buyer route: the user principal, with the downstream's buyer ref when a federate key calls. */
export function buyerPrincipal(req: {
  principal: Principal | undefined;
  buyerRef: string | undefined;
}): Extract<Principal, { kind: "user" }> & { readonly buyerRef: string | undefined } {
  return { ...userPrincipal(req), buyerRef: req.buyerRef };
}

/** The user principal of a `user` route. */
export function userPrincipal(req: { principal: Principal | undefined }): Extract<Principal, { kind: "user" }> {
  const p = req.principal;
  if (p?.kind !== "user") throw new Error("route is not declared auth: user");
  return p;
}
