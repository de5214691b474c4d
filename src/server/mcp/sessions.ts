import type { EventBus } from "../../core/fabric/event-bus.js";
import type { Clock } from "../../core/platform/clock.js";
import { notFound, StyxError } from "../../core/platform/errors.js";
import { touchedBy } from "./resources.js";

/** Who opened a session: only the same credential may use it. */
export interface SessionOwner {
  readonly userId: string;
  readonly credentialId: string;
}

/** What the registry holds of a session: its owner, how to close it and how to tell it a resource changed. */
export interface SessionHandle {
  readonly owner: SessionOwner;
  /** Closes the transport and the server (idempotent); the registry has already forgotten it. */
  close(): Promise<void>;
  /** Sends `notifications/resources/updated` for `uri`. */
  updated(uri: string): void;
}

/** Limits of the registry. */
export interface SessionLimits {
  /** Most open sessions of one user. */
  readonly maxPerUser: number;
  /** A session without a request for this long is closed, in milliseconds. */
  readonly idleMs: number;
}

interface Entry<H extends SessionHandle> {
  readonly handle: H;
  lastSeen: number;
  readonly subscriptions: Set<string>;
}

/**
 * The MCP sessions of this process: bounded per user, closed after `idleMs` without a request,
 * and the one place where resource subscriptions meet the event fabric (one bus subscription
 * for all sessions; an event reaches only the sessions subscribed to a resource it changes,
 * and a user's own resources only that user's sessions). Sessions live in memory: a client
 * whose gateway restarted gets 404 and initializes again, as MCP prescribes.
 */
export class McpSessions<H extends SessionHandle = SessionHandle> {
  readonly #limits: SessionLimits;
  readonly #clock: Clock;
  readonly #sessions = new Map<string, Entry<H>>();
  readonly #perUser = new Map<string, number>();
  readonly #byUri = new Map<string, Set<string>>();
  readonly #unsubscribe: () => void;
  readonly #sweep: NodeJS.Timeout;

  constructor(deps: { limits: SessionLimits; clock: Clock; bus: Pick<EventBus, "subscribe"> }) {
    this.#limits = deps.limits;
    this.#clock = deps.clock;
    this.#unsubscribe = deps.bus.subscribe((e) => {
      for (const t of touchedBy(e)) this.#notify(t.uri, t.userId);
    });
    this.#sweep = setInterval(() => this.sweep(), Math.min(30_000, Math.max(1000, Math.floor(this.#limits.idleMs / 2))));
    this.#sweep.unref();
  }

  /** Open sessions, all users. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Refuses a new session of `userId` beyond the cap (429 STYX_QUOTA_EXCEEDED). */
  reserve(userId: string): void {
    if ((this.#perUser.get(userId) ?? 0) >= this.#limits.maxPerUser) {
      throw new StyxError(
        "STYX_QUOTA_EXCEEDED",
        `At most ${this.#limits.maxPerUser} MCP sessions per user: close one (DELETE /mcp) or let it idle out.`,
      );
    }
  }

  /** Registers a session once its id is known. */
  add(id: string, handle: H): void {
    this.#sessions.set(id, { handle, lastSeen: this.#clock.now(), subscriptions: new Set() });
    this.#perUser.set(handle.owner.userId, (this.#perUser.get(handle.owner.userId) ?? 0) + 1);
  }

  /** The session `id` for its own credential (and marks it used); another credential's, or none, is 404. */
  use(id: string, owner: SessionOwner): H {
    const e = this.#sessions.get(id);
    if (!e || e.handle.owner.userId !== owner.userId || e.handle.owner.credentialId !== owner.credentialId) {
      throw notFound("No such MCP session: initialize a new one.");
    }
    e.lastSeen = this.#clock.now();
    return e.handle;
  }

  /** Subscribes session `id` to `uri` (its read was allowed first). */
  subscribe(id: string, uri: string): void {
    const e = this.#sessions.get(id);
    if (!e) return;
    e.subscriptions.add(uri);
    const ids = this.#byUri.get(uri) ?? new Set<string>();
    ids.add(id);
    this.#byUri.set(uri, ids);
  }

  /** Ends the subscription of session `id` to `uri`. */
  unsubscribe(id: string, uri: string): void {
    this.#sessions.get(id)?.subscriptions.delete(uri);
    this.#dropIndex(id, uri);
  }

  /** Forgets session `id` and closes it. */
  async remove(id: string): Promise<void> {
    const e = this.#sessions.get(id);
    if (!e) return;
    this.#sessions.delete(id);
    for (const uri of e.subscriptions) this.#dropIndex(id, uri);
    const userId = e.handle.owner.userId;
    const n = (this.#perUser.get(userId) ?? 1) - 1;
    if (n > 0) this.#perUser.set(userId, n);
    else this.#perUser.delete(userId);
    await e.handle.close();
  }

  /** Closes the sessions idle for longer than `idleMs`. */
  sweep(): void {
    const before = this.#clock.now() - this.#limits.idleMs;
    for (const [id, e] of this.#sessions) if (e.lastSeen < before) void this.remove(id);
  }

  /** Closes every session and leaves the bus (server shutdown). */
  async close(): Promise<void> {
    clearInterval(this.#sweep);
    this.#unsubscribe();
    await Promise.all([...this.#sessions.keys()].map((id) => this.remove(id)));
  }

  #notify(uri: string, userId: string | undefined): void {
    const ids = this.#byUri.get(uri);
    if (!ids) return;
    for (const id of ids) {
      const e = this.#sessions.get(id);
      if (e && (userId === undefined || e.handle.owner.userId === userId)) e.handle.updated(uri);
    }
  }

  #dropIndex(id: string, uri: string): void {
    const ids = this.#byUri.get(uri);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) this.#byUri.delete(uri);
  }
}
