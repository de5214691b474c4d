import { streamGolem, streamKind, streamUser } from "../../core/fabric/streams.js";
import type { FederationLink, FederationStore } from "../../core/federation/federation-store.js";
import type { Tenancy } from "../../core/identity/tenancy.js";
import type { Golem, Scope } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import type { QuotaPolicy } from "../../core/quota/limits.js";
import { MAX_DOMAINS_PER_SOCKET } from "../../protocol/fabric.js";
import { type IdentityLimits, limitIdentity, requireScope } from "../admission.js";
import type { Metrics } from "../metrics.js";
import { takesDomain } from "./federation-follow.js";
import type { SocketSession } from "./session.js";

/**
 * What a socket's principal may do, decided with the same Tenancy and admission rules as HTTP
 * routes: scopes, golems (the caller's own, resolved once per socket), owner actions (not for
 * golem credentials), streams (a user stream for its owner credentials only, a golem stream for
 * its golem's credentials and its owner's), and the user's (and a golem credential's) token buckets.
 */
export class SocketAccess {
  readonly #tenancy: Tenancy;
  readonly #limits: IdentityLimits;
  readonly #links: Pick<FederationStore, "link">;

  constructor(deps: {
    tenancy: Tenancy;
    links: Pick<FederationStore, "link">;
    limiter: RateLimiter;
    rateLimit: BucketSpec;
    quotas: Pick<QuotaPolicy, "limitsOf">;
    metrics: Metrics;
  }) {
    this.#tenancy = deps.tenancy;
    this.#links = deps.links;
    const { metrics } = deps;
    this.#limits = {
      limiter: deps.limiter,
      quotas: deps.quotas,
      adminRate: deps.rateLimit,
      refused: () => metrics.rejected.inc({ reason: "rate_limit" }),
    };
  }

  /** Refuses (403) a principal without `scope`; the admin token may only watch. */
  scope(session: SocketSession, scope: Scope): void {
    const p = session.principal;
    if (p?.kind === "admin") {
      if (scope === "read") return;
      throw new StyxError("STYX_AUTH_FORBIDDEN", "The admin token watches streams; golem messages need a user key.");
    }
    if (!p) throw new StyxError("STYX_AUTH_FORBIDDEN", `The key lacks the '${scope}' scope.`);
    requireScope(p, scope);
  }

  /**
   * Who may follow federation streams (SPEC §17.2): a `federate` key that said hello — its link
   * (403 without the scope, 409 STYX_FEDERATION_NOT_LINKED before the hello) — or the admin
   * token, which may watch (undefined: no link, nothing skipped).
   */
  async federation(session: SocketSession): Promise<FederationLink | undefined> {
    const p = session.principal;
    if (p?.kind === "admin") return undefined;
    if (!p) throw new StyxError("STYX_AUTH_FORBIDDEN", "The key lacks the 'federate' scope.");
    requireScope(p, "federate");
    const link = p.via === "api_key" ? await this.#links.link(p.credentialId) : undefined;
    if (!link) throw new StyxError("STYX_FEDERATION_NOT_LINKED");
    return link;
  }

  /** The golem when the socket's principal owns it (404, audited, otherwise). */
  async golem(session: SocketSession, golemId: string): Promise<Golem> {
    const known = session.knownGolem(golemId);
    if (known) return known;
    const p = session.principal;
    if (!p) throw new StyxError("STYX_AUTH_REQUIRED");
    const golem = await this.#tenancy.golem(p, golemId, { requestId: session.id, ip: session.ip });
    session.rememberGolem(golem);
    return golem;
  }

  /** The golem (as `golem`) about to act: refused once dead (409), made alive by its first act. */
  async acting(session: SocketSession, golemId: string): Promise<Golem> {
    const golem = await this.golem(session, golemId);
    if (golem.status === "alive") return golem;
    const now = await this.#tenancy.acting(golem);
    session.rememberGolem(now);
    return now;
  }

  /** Refuses (403) a golem credential an owner action (steering). */
  ownerOnly(session: SocketSession): void {
    const p = session.principal;
    if (p) this.#tenancy.ownerOnly(p);
  }

  /**
   * Whether the socket may follow `stream`: domains and public for anyone (within the domain
   * bound), a user stream for its owner credentials only, a golem stream for that golem's
   * credentials and its owner's, a federation stream for a linked federate key whose hello agreed
   * to its domain (and the admin token). Only tenancy's refusal (audited) means no; any other failure
   * (the store is down) propagates with its own code.
   */
  async mayFollow(session: SocketSession, stream: string): Promise<boolean> {
    const kind = streamKind(stream);
    const subs = session.subscriptions;
    if (kind === "public") return true;
    if (kind === "domain") return subs.follows(stream) || subs.domainCount() < MAX_DOMAINS_PER_SOCKET;
    if (kind === "federation") {
      // The caller checked `federation` first; a domain the link did not agree to is not followed.
      const link = await this.federation(session);
      if (!subs.follows(stream) && subs.federationCount() >= MAX_DOMAINS_PER_SOCKET) return false;
      return link === undefined || takesDomain(link, stream.slice("federation:".length));
    }
    const p = session.principal;
    if ((kind !== "user" && kind !== "golem") || !p) return false;
    try {
      if (kind === "user") await this.#tenancy.userStream(p, streamUser(stream) as string, { requestId: session.id, ip: session.ip });
      else await this.golem(session, streamGolem(stream) as string);
      return true;
    } catch (err) {
      if (err instanceof StyxError && err.code === "STYX_NOT_FOUND") return false;
      throw err;
    }
  }

  /** Takes a token from the principal's buckets, as HTTP does (429 when empty). */
  async limit(session: SocketSession): Promise<void> {
    const p = session.principal;
    if (!p) return;
    await limitIdentity(this.#limits, p);
  }
}
