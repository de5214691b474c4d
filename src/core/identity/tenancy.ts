import type { AuditLog } from "../platform/audit.js";
import { notFound, StyxError } from "../platform/errors.js";
import type { IdentityStore } from "./identity-store.js";
import { actorOf, type CallContext, type Principal } from "./principal.js";
import type { Golem, Session } from "./types.js";

/**
 * The one place tenancy is decided. A caller reaches its own user and its own golems (and, with
 * a golem-bound key, only that golem); anything else answers 404 — the same answer as a
 * resource that does not exist — and is written to the audit log. It also keeps the golem
 * lifecycle of SPEC §3 for the golems it resolves: `provisioning` → `alive` at the first act,
 * and a `dead` golem acts no more.
 */
export class Tenancy {
  readonly #identity: Pick<IdentityStore, "getGolem" | "markGolemAlive" | "getSession">;
  readonly #audit: Pick<AuditLog, "append">;

  constructor(deps: { identity: Pick<IdentityStore, "getGolem" | "markGolemAlive" | "getSession">; audit: Pick<AuditLog, "append"> }) {
    this.#identity = deps.identity;
    this.#audit = deps.audit;
  }

  /** Resolves when `principal` may act on user `userId`. */
  async user(principal: Principal, userId: string, ctx: CallContext): Promise<void> {
    if (principal.kind === "user" && principal.userId === userId) return;
    await this.#deny(principal, `user:${userId}`, ctx);
  }

  /** Returns the golem when `principal` owns it (and its key is not bound to another golem). */
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
