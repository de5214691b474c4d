import type { AuditLog } from "../platform/audit.js";
import type { Clock } from "../platform/clock.js";
import { base64url, newId, randomBytes, sha256Hex } from "../platform/crypto.js";
import { notFound, StyxError } from "../platform/errors.js";
import type { IdentityRecordIds, IdentityStore } from "./identity-store.js";
import { actorOf, type CallContext, type Principal } from "./principal.js";
import type { ApiKey, Golem, Scope, Tier, User } from "./types.js";

/** Input of user creation. */
export interface CreateUserInput {
  readonly id?: string | undefined;
  readonly walletAddress?: string | undefined;
  readonly tier?: Tier | undefined;
}

/** Input of key creation. */
export interface CreateKeyInput {
  readonly name: string;
  readonly scopes?: readonly Scope[] | undefined;
  readonly golemId?: string | undefined;
  readonly expiresAt?: number | undefined;
}

/** Input of golem registration. */
export interface RegisterGolemInput {
  readonly id?: string | undefined;
  /** The parent, already checked by tenancy to belong to the caller. */
  readonly parent?: Golem | undefined;
  readonly archetype?: string | undefined;
  /** A wallet the caller has proven control of (AuthService.proveWallet). */
  readonly walletAddress?: string | undefined;
}

/** A new key together with its secret, which is shown once and never stored. */
export interface IssuedKey {
  readonly key: ApiKey;
  readonly secret: string;
}

/** Prefix of every API key and session token. */
export const TOKEN_PREFIX = "styx_";

/** A fresh secret: `styx_` + 32 random bytes, base64url. */
export function newSecret(): string {
  return TOKEN_PREFIX + base64url(randomBytes(32));
}

/** Users, golems and API keys: management operations, each audited. */
export class IdentityService {
  readonly #store: IdentityStore;
  readonly #audit: Pick<AuditLog, "append">;
  readonly #clock: Clock;
  readonly #registered: ((golem: Golem) => void | Promise<void>)[] = [];

  readonly #revokedListeners: ((keyId: string) => void)[] = [];
  readonly #onIdentifiers: (records: IdentityRecordIds[]) => void;
  readonly #defaultTier: Tier;

  constructor(deps: {
    store: IdentityStore;
    audit: Pick<AuditLog, "append">;
    clock: Clock;
    /** Told the identifiers of every user, key and golem created (the public pipeline's directory). */
    onIdentifiers?: ((records: IdentityRecordIds[]) => void) | undefined;
    /** The tier of a user created without one (`STYX_DEFAULT_TIER`, SPEC §12); default `consumer`. */
    defaultTier?: Tier | undefined;
  }) {
    this.#defaultTier = deps.defaultTier ?? "consumer";
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#onIdentifiers = deps.onIdentifiers ?? (() => {});
  }

  /** Calls `fn` with the id of each key this service revokes, once it is revoked (the socket gateway closes its sockets). */
  onKeyRevoked(fn: (keyId: string) => void): void {
    this.#revokedListeners.push(fn);
  }

  /** Creates a user (operator action). */
  async createUser(actor: string, input: CreateUserInput, ctx: CallContext = {}): Promise<User> {
    const now = this.#clock.now();
    const user: User = {
      id: input.id ?? newId("usr"),
      walletAddress: input.walletAddress?.toLowerCase() ?? null,
      reputation: 0,
      tier: input.tier ?? this.#defaultTier,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.createUser(user);
    this.#onIdentifiers([{ kind: "user", id: user.id, userId: user.id, walletAddress: user.walletAddress }]);
    await this.#audit.append({ actor, action: "user.create", target: `user:${user.id}`, ...ctx, details: { tier: user.tier } });
    return user;
  }

  /** Issues an API key for a user (operator action). */
  async createKey(actor: string, userId: string, input: CreateKeyInput, ctx: CallContext = {}): Promise<IssuedKey> {
    const now = this.#clock.now();
    if (!(await this.#store.getUser(userId))) throw notFound("No such user.");
    if (input.golemId !== undefined) {
      const golem = await this.#store.getGolem(input.golemId);
      if (!golem || golem.userId !== userId) throw notFound("No such golem for this user.");
    }
    if (input.expiresAt !== undefined && (!Number.isFinite(input.expiresAt) || input.expiresAt <= now)) {
      throw new StyxError("STYX_VALIDATION", "expires_at must be a valid time in the future", { details: [{ path: "/expires_at" }] });
    }
    const secret = newSecret();
    const key: ApiKey = {
      id: newId("key"),
      userId,
      golemId: input.golemId ?? null,
      name: input.name,
      keyHash: sha256Hex(secret),
      scopes: [...new Set(input.scopes ?? (["read", "write"] as const))],
      createdAt: now,
      expiresAt: input.expiresAt ?? null,
      revokedAt: null,
    };
    await this.#store.createApiKey(key);
    this.#onIdentifiers([{ kind: "key", id: key.id, userId, walletAddress: null }]);
    await this.#audit.append({
      actor,
      action: "key.create",
      target: `key:${key.id}`,
      ...ctx,
      details: { user_id: userId, scopes: key.scopes, golem_id: key.golemId },
    });
    return { key, secret };
  }

  /** The user's keys, revoked included (operator action). */
  async listKeys(actor: string, userId: string, ctx: CallContext = {}): Promise<ApiKey[]> {
    if (!(await this.#store.getUser(userId))) throw notFound("No such user.");
    await this.#audit.append({ actor, action: "key.list", target: `user:${userId}`, ...ctx });
    return this.#store.listApiKeys(userId);
  }

  /** Revokes a key; revoking twice keeps the first revocation time (operator action). */
  async revokeKey(actor: string, keyId: string, ctx: CallContext = {}): Promise<ApiKey> {
    const key = await this.#store.revokeApiKey(keyId, this.#clock.now());
    if (!key) throw notFound("No such key.");
    await this.#audit.append({ actor, action: "key.revoke", target: `key:${key.id}`, ...ctx, details: { user_id: key.userId } });
    for (const fn of this.#revokedListeners) fn(key.id);
    return key;
  }

  /**
   * Registers a golem for the calling user; generation is the parent's + 1 (0 without one). Only
   * owner credentials reach this: the route is owner-only for golem credentials (SPEC §3).
   */
  async registerGolem(principal: Principal, input: RegisterGolemInput, ctx: CallContext = {}): Promise<Golem> {
    if (principal.kind !== "user") throw new StyxError("STYX_AUTH_FORBIDDEN", "Golems are registered by their owner.");
    const parent = input.parent;
    if (parent && parent.userId !== principal.userId) throw notFound();
    const generation = parent ? parent.generation + 1 : 0;
    const wallet = input.walletAddress?.toLowerCase();
    if (wallet) {
      const holder = await this.#store.findUserByWallet(wallet);
      if (holder && holder.id !== principal.userId) throw new StyxError("STYX_CONFLICT", "This wallet belongs to another owner.");
    }
    const golem: Golem = {
      id: input.id ?? newId("glm"),
      userId: principal.userId,
      generation,
      parentGolemId: parent?.id ?? null,
      status: "provisioning",
      archetype: input.archetype ?? null,
      walletAddress: input.walletAddress?.toLowerCase() ?? null,
      createdAt: this.#clock.now(),
      diedAt: null,
      deathCause: null,
      ticksLived: 0,
    };
    try {
      await this.#store.createGolem(golem);
      this.#onIdentifiers([{ kind: "golem", id: golem.id, userId: golem.userId, walletAddress: golem.walletAddress }]);
    } catch (err) {
      // A client-chosen id or wallet may clash with another tenant's: say only that it is taken, and audit it.
      if (err instanceof StyxError && err.code === "STYX_CONFLICT") {
        await this.#audit.append({ actor: actorOf(principal), action: "golem.conflict", target: `golem:${golem.id}`, ...ctx });
      }
      throw err;
    }
    await this.#audit.append({
      actor: actorOf(principal),
      action: "golem.create",
      target: `golem:${golem.id}`,
      ...ctx,
      details: { generation, parent_golem_id: golem.parentGolemId },
    });
    for (const l of this.#registered) await l(golem);
    return golem;
  }

  /** Registers a listener called after every golem registration (achievements, lineage events). */
  onGolemRegistered(listener: (golem: Golem) => void | Promise<void>): void {
    this.#registered.push(listener);
  }

  /** The user's golems (an owner view: tenancy and the golem-credential rule are checked by the caller). */
  listGolems(userId: string): Promise<Golem[]> {
    return this.#store.listGolems(userId);
  }

  /** A user record (tenancy is checked by the caller). */
  async getUser(userId: string): Promise<User> {
    const user = await this.#store.getUser(userId);
    if (!user) throw notFound();
    return user;
  }
}
