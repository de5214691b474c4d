import type { AuditLog } from "../platform/audit.js";
import type { Clock } from "../platform/clock.js";
import { constantTimeEqual, newId, sha256Hex } from "../platform/crypto.js";
import { notFound, StyxError } from "../platform/errors.js";
import { newSecret } from "./identity-service.js";
import type { IdentityRecordIds, IdentityStore } from "./identity-store.js";
import { actorOf, type CallContext, type Principal } from "./principal.js";
import type { SignInMessageCodec, SignInSite } from "./sign-in-message.js";
import type { SignatureVerifier } from "./signature-verifier.js";
import type { Session, WalletChallenge } from "./types.js";
import { type CheckedSignIn, WalletSignIn } from "./wallet-sign-in.js";

/** A user's credential (API key or wallet session), as the session routes see it. */
type UserPrincipal = Extract<Principal, { kind: "user" }>;

/** Settings of authentication. */
export interface AuthOptions {
  /** The operator's shared secret. */
  readonly adminToken: string;
  /** How long a wallet challenge may be answered, in ms. */
  readonly challengeTtlMs: number;
  /** Secret that signs challenges, so they need no storage until used (≥ 16 chars). */
  readonly challengeKey: string;
  /** Where sign-in messages point: STYX_PUBLIC_URL's domain and URI, STYX_CHAIN_ID. */
  readonly site: SignInSite;
  /** How long a wallet session token lives, in ms. */
  readonly sessionTtlMs: number;
}

/** A session token handed out after a wallet signature; shown once. */
export interface IssuedSession {
  readonly token: string;
  readonly userId: string;
  readonly golemId: string | null;
  readonly expiresAt: number;
}

/** Minimum interval between sweeps of expired challenges and sessions. */
const PURGE_INTERVAL_MS = 60_000;

/** Authentication: bearer credentials, the admin token, wallet sign-in (EIP-4361) and its sessions. */
export class AuthService {
  readonly #store: IdentityStore;
  readonly #audit: Pick<AuditLog, "append">;
  readonly #clock: Clock;
  readonly #signIn: WalletSignIn;
  readonly #opts: AuthOptions;
  readonly #endedListeners: ((sessionId: string) => void)[] = [];
  readonly #adminHash: string;
  readonly #onIdentifiers: (records: IdentityRecordIds[]) => void;
  #lastPurge = 0;

  constructor(deps: {
    store: IdentityStore;
    audit: Pick<AuditLog, "append">;
    clock: Clock;
    verifier: Pick<SignatureVerifier, "verifyPersonalMessage">;
    /** EIP-4361 text (viem's SIWE utilities in production). */
    messages: SignInMessageCodec;
    options: AuthOptions;
    /** Told the id of every session created (the public pipeline's directory). */
    onIdentifiers?: ((records: IdentityRecordIds[]) => void) | undefined;
  }) {
    this.#onIdentifiers = deps.onIdentifiers ?? (() => {});
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#opts = deps.options;
    this.#signIn = new WalletSignIn({
      messages: deps.messages,
      verifier: deps.verifier,
      clock: deps.clock,
      options: { site: deps.options.site, challengeTtlMs: deps.options.challengeTtlMs, challengeKey: deps.options.challengeKey },
    });
    this.#adminHash = sha256Hex(deps.options.adminToken);
  }

  /**
   * Resolves a bearer token to a principal: the admin token, an API key or a wallet session.
   * Unknown, revoked and expired credentials all answer STYX_AUTH_INVALID_KEY.
   */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) throw new StyxError("STYX_AUTH_REQUIRED");
    const hash = sha256Hex(token);
    if (constantTimeEqual(hash, this.#adminHash)) return { kind: "admin" };
    const now = this.#clock.now();
    const key = await this.#store.findApiKeyByHash(hash);
    if (key) {
      if (key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= now)) {
        throw new StyxError("STYX_AUTH_INVALID_KEY");
      }
      return {
        kind: "user",
        userId: key.userId,
        credentialId: key.id,
        via: "api_key",
        golemId: key.golemId,
        scopes: key.scopes,
        expiresAt: key.expiresAt,
      };
    }
    const session = await this.#store.findSessionByHash(hash);
    if (session && session.expiresAt > now) {
      return {
        kind: "user",
        userId: session.userId,
        credentialId: session.id,
        via: "session",
        golemId: session.golemId,
        scopes: ["read", "write"],
        expiresAt: session.expiresAt,
      };
    }
    throw new StyxError("STYX_AUTH_INVALID_KEY");
  }

  /**
   * Starts a wallet sign-in: an EIP-4361 message with a single-use nonce (WalletSignIn; nothing
   * is stored until a signed message is used).
   */
  async createChallenge(walletAddress: string): Promise<WalletChallenge> {
    await this.#maybePurge(this.#clock.now());
    return this.#signIn.challenge(walletAddress);
  }

  /**
   * Completes a wallet sign-in with the signed message. Every check is offline; only then is the
   * nonce consumed (atomically), so a replay finds it spent.
   */
  async verifyChallenge(input: { message: string; signature: string }, ctx: CallContext = {}): Promise<IssuedSession> {
    const now = this.#clock.now();
    const checked = await this.#signIn.check(input);
    const address = checked.address;
    const golem = await this.#store.findGolemByWallet(address);
    const user = await this.#store.findUserByWallet(address);
    if (golem && user && golem.userId !== user.id) {
      throw new StyxError("STYX_CONFLICT", "This wallet is registered to two different owners; ask the operator to resolve it.");
    }
    const userId = golem?.userId ?? user?.id;
    if (!userId) throw new StyxError("STYX_AUTH_UNKNOWN_WALLET");
    if (golem?.status === "dead") throw new StyxError("STYX_GOLEM_DEAD", "This wallet's golem left its bloodstain: it signs in no more.");
    await this.#spend(checked);
    const token = newSecret();
    const session = {
      id: newId("ses"),
      tokenHash: sha256Hex(token),
      userId,
      golemId: golem?.id ?? null,
      createdAt: now,
      expiresAt: now + this.#opts.sessionTtlMs,
    };
    await this.#store.createSession(session);
    this.#onIdentifiers([{ kind: "session", id: session.id, userId, walletAddress: null }]);
    await this.#audit.append({
      actor: `user:${userId}`,
      action: "auth.session",
      target: `session:${session.id}`,
      ...ctx,
      details: { golem_id: session.golemId, wallet: address },
    });
    return { token, userId, golemId: session.golemId, expiresAt: session.expiresAt };
  }

  /**
   * Proves control of `walletAddress` with a signed sign-in message for it (attaching the wallet
   * to a golem) and spends the nonce.
   */
  async proveWallet(input: { message: string; signature: string }, walletAddress: string): Promise<void> {
    const checked = await this.#signIn.check(input);
    if (checked.address !== walletAddress.toLowerCase()) {
      throw new StyxError("STYX_AUTH_INVALID_CHALLENGE", "The signed message is for another wallet than wallet_address.", {
        details: [{ path: "/message", field: "address" }],
      });
    }
    await this.#spend(checked);
  }

  async #spend(checked: CheckedSignIn): Promise<void> {
    if (!(await this.#store.spendNonce(checked.nonce, checked.expiresAt))) {
      throw new StyxError("STYX_AUTH_INVALID_CHALLENGE", "This challenge was already used: ask POST /v1/auth/challenge for a new one.", {
        details: [{ path: "/message", field: "nonce" }],
      });
    }
  }

  /**
   * The wallet sessions the caller may see, still valid, oldest first: every session of its user,
   * or, for a golem credential, the sessions of its golem only.
   */
  async listSessions(principal: UserPrincipal): Promise<Session[]> {
    const all = await this.#store.listSessions(principal.userId, this.#clock.now());
    return principal.golemId === null ? all : all.filter((s) => s.golemId === principal.golemId);
  }

  /**
   * Ends a session at once: its token answers 401 from now on, and the listeners of
   * `onSessionEnded` close its sockets. The caller's right to it is Tenancy.session's decision,
   * made before. Audited as `auth.session.end`.
   */
  async endSession(principal: UserPrincipal, sessionId: string, ctx: CallContext = {}): Promise<Session> {
    return this.#end(actorOf(principal), sessionId, ctx, (s) => (principal.credentialId === s.id ? "itself" : principal.via));
  }

  /** Ends a session for the server itself (an erasure: `actor` names the job), as `endSession` does. */
  async endSessionAs(actor: string, sessionId: string): Promise<Session> {
    return this.#end(actor, sessionId, {}, () => actor);
  }

  async #end(actor: string, sessionId: string, ctx: CallContext, by: (s: Session) => string): Promise<Session> {
    const session = await this.#store.deleteSession(sessionId);
    if (!session) throw notFound("No such session.");
    await this.#audit.append({
      actor,
      action: "auth.session.end",
      target: `session:${session.id}`,
      ...ctx,
      details: { golem_id: session.golemId, by: by(session) },
    });
    for (const fn of this.#endedListeners) fn(session.id);
    return session;
  }

  /** Calls `fn` with the id of every session ended through this service (its sockets are closed there). */
  onSessionEnded(fn: (sessionId: string) => void): void {
    this.#endedListeners.push(fn);
  }

  async #maybePurge(now: number): Promise<void> {
    if (now - this.#lastPurge < PURGE_INTERVAL_MS) return;
    this.#lastPurge = now;
    await this.#store.purgeExpiredAuth(now);
  }
}
