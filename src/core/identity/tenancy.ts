import type { AuditLog } from "../platform/audit.js";
import { notFound, StyxError } from "../platform/errors.js";
import type { IdentityStore } from "./identity-store.js";
import { actorOf, type CallContext, isGolemCredential, type Principal } from "./principal.js";
import type { Golem, Session } from "./types.js";

/**
 * The one place tenancy is decided. A caller reaches its own user and its own golems (and, with
 * a golem credential — a golem-bound key or a golem's wallet session — only that golem);
 * anything else answers 404 — the same answer as a resource that does not exist — and is
 * written to the audit log. Owner views and actions refuse golem credentials with 403
 * (`ownerOnly`): they name nothing of another tenant, so refusing says nothing new. It also
 * keeps the golem lifecycle of SPEC §3 for the golems it resolves: `provisioning` → `alive` at
 * the first act, and a `dead` golem acts no more.
 */
export class Tenancy {
  readonly #identity: Pick<IdentityStore, "getGolem" | "markGolemAlive" | "getSession">;
  readonly #audit: Pick<AuditLog, "append">;

  constructor(deps: { identity: Pick<IdentityStore, "getGolem" | "markGolemAlive" | "getSession">; audit: Pick<AuditLog, "append"> }) {
    this.#identity = deps.identity;
    this.#audit = deps.audit;
  }

  /**
   * Resolves when `principal` may act on user `userId` (a golem credential of that user too: the
   * routes it may not call refuse it first, with `ownerOnly`).
   */
  async user(principal: Principal, userId: string, ctx: CallContext): Promise<void> {
    if (principal.kind === "user" && principal.userId === userId) return;
    await this.#deny(principal, `user:${userId}`, ctx);
  }

  /**
   * Refuses (403 STYX_AUTH_FORBIDDEN) a golem credential: owner views and actions (fleet,
   * lineage, graveyard, steering, golem registration, …) belong to owner credentials (SPEC §3).
   */
  ownerOnly(principal: Principal): void {
    if (isGolemCredential(principal)) {
      throw new StyxError("STYX_AUTH_FORBIDDEN", "A golem credential may not use the owner's views and actions: use an owner key.");
    }
  }

  /**
   * Resolves when `principal` may follow the stream `user:{userId}`: an owner credential of that
   * user. A golem credential follows its golem's stream instead (SPEC §9); its owner's stream,
   * which carries every sibling's events, answers as absent.
   */
  async userStream(principal: Principal, userId: string, ctx: CallContext): Promise<void> {
    if (principal.kind === "user" && principal.userId === userId && !isGolemCredential(principal)) return;
    await this.#deny(principal, `user:${userId}`, ctx);
  }

  /** Returns the golem when `principal` owns it (a golem credential: its own golem only, so a sibling answers 404). */
  async golem(principal: Principal, golemId: string, ctx: CallContext): Promise<Golem> {
    if (principal.kind === "user") {
      const golem = await this.#identity.getGolem(golemId);
      if (golem && golem.userId === principal.userId && (principal.golemId === null || principal.golemId === golemId)) {
        return golem;
      }
    }
    return this.#deny(principal, `golem:${golemId}`, ctx);
  }

  /**
   * A golem about to act (write, deposit, publish, heartbeat, relay, clade delta): refused with
   * `409 STYX_GOLEM_DEAD` once it died; its first act moves it from `provisioning` to `alive`.
   * Returns the golem as it is now.
   */
  async acting(golem: Golem): Promise<Golem> {
    if (golem.status === "dead") throw new StyxError("STYX_GOLEM_DEAD");
    if (golem.status !== "provisioning") return golem;
    await this.#identity.markGolemAlive(golem.id);
    return { ...golem, status: "alive" };
  }

  /**
   * Returns the entry (found by id, whoever's it is) when `principal` may reach it: an entry of
   * its own user; with a golem credential, one its golem wrote — or, to `read` (get, validate),
   * one of the clade, shared by design (SPEC §3). Anything else, a missing entry included,
   * answers the audited 404: another user's entry and a sibling's private one look absent.
   */
  async entry<E extends { readonly userId: string; readonly golemId: string; readonly inClade: boolean }>(
    principal: Principal,
    found: E | undefined,
    id: string,
    use: "read" | "own",
    ctx: CallContext,
  ): Promise<E> {
    if (principal.kind === "user" && found && found.userId === principal.userId) {
      if (principal.golemId === null || found.golemId === principal.golemId || (use === "read" && found.inClade)) return found;
    }
    return this.#deny(principal, `entry:${id}`, ctx);
  }

  /**
   * Returns the wallet session when `principal` may see and end it: a session of its own user
   * (with a golem credential: of its own golem).
   */
  async session(principal: Principal, sessionId: string, ctx: CallContext): Promise<Session> {
    if (principal.kind === "user") {
      const session = await this.#identity.getSession(sessionId);
      if (session && session.userId === principal.userId && (principal.golemId === null || principal.golemId === session.golemId)) {
        return session;
      }
    }
    return this.#deny(principal, `session:${sessionId}`, ctx);
  }

  async #deny(principal: Principal, target: string, ctx: CallContext): Promise<never> {
    await this.#audit.append({
      actor: actorOf(principal),
      action: "tenancy.denied",
      target,
      requestId: ctx.requestId,
      ip: ctx.ip,
    });
    throw notFound();
  }
}
