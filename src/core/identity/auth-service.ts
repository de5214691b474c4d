import type { AuditLog } from "../platform/audit.js";
import { type Clock, iso } from "../platform/clock.js";
import { base64url, constantTimeEqual, hmacSha256Hex, newId, randomBytes, sha256Hex } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { newSecret } from "./identity-service.js";
import type { IdentityRecordIds, IdentityStore } from "./identity-store.js";
import type { CallContext, Principal } from "./principal.js";
import type { SignatureVerifier } from "./signature-verifier.js";
import type { WalletChallenge } from "./types.js";

/** Settings of authentication. */
export interface AuthOptions {
  /** The operator's shared secret. */
  readonly adminToken: string;
  /** How long a wallet challenge may be answered, in ms. */
  readonly challengeTtlMs: number;
  /** Secret that signs challenges, so they need no storage until used (≥ 16 chars). */
  readonly challengeKey: string;
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

/** Authentication: bearer credentials, the admin token and the wallet challenge flow. */
export class AuthService {
  readonly #store: IdentityStore;
  readonly #audit: Pick<AuditLog, "append">;
  readonly #clock: Clock;
  readonly #verifier: SignatureVerifier;
  readonly #opts: AuthOptions;
  readonly #adminHash: string;
  readonly #onIdentifiers: (records: IdentityRecordIds[]) => void;
  #lastPurge = 0;

  constructor(deps: {
    store: IdentityStore;
    audit: Pick<AuditLog, "append">;
    clock: Clock;
    verifier: SignatureVerifier;
    options: AuthOptions;
    /** Told the id of every session created (the public pipeline's directory). */
    onIdentifiers?: ((records: IdentityRecordIds[]) => void) | undefined;
  }) {
    this.#onIdentifiers = deps.onIdentifiers ?? (() => {});
    this.#store = deps.store;
    this.#audit = deps.audit;
    this.#clock = deps.clock;
    this.#verifier = deps.verifier;
    this.#opts = deps.options;
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
   * Starts a wallet sign-in: an EIP-191 message with a single-use nonce. Nothing is stored: the
   * nonce carries its expiry and an HMAC binding it to the wallet, so anonymous callers cannot
   * fill the database with challenges; only a used nonce is recorded.
   */
  async createChallenge(walletAddress: string): Promise<WalletChallenge> {
    const now = this.#clock.now();
    await this.#maybePurge(now);
    const address = walletAddress.toLowerCase();
    const expiresAt = now + this.#opts.challengeTtlMs;
    const head = `${expiresAt.toString(36)}.${base64url(randomBytes(12))}`;
    const nonce = `${head}.${this.#mac(address, head)}`;
    return { nonce, walletAddress: address, message: challengeMessage(address, nonce, now, expiresAt), expiresAt };
  }

  #mac(address: string, head: string): string {
    return hmacSha256Hex(this.#opts.challengeKey, `${address}|${head}`).slice(0, 32);
  }

  /**
   * Completes a wallet sign-in. The signature is checked offline against the stored message;
   * only then is the nonce consumed (atomically), so a replay finds no challenge.
   */
  async verifyChallenge(input: { walletAddress: string; nonce: string; signature: string }, ctx: CallContext = {}): Promise<IssuedSession> {
    const now = this.#clock.now();
    const { address, expiresAt } = await this.#checkSigned(input, now);
    const golem = await this.#store.findGolemByWallet(address);
    const user = await this.#store.findUserByWallet(address);
    if (golem && user && golem.userId !== user.id) {
      throw new StyxError("STYX_CONFLICT", "This wallet is registered to two different owners; ask the operator to resolve it.");
    }
    const userId = golem?.userId ?? user?.id;
    if (!userId) throw new StyxError("STYX_AUTH_UNKNOWN_WALLET");
    if (!(await this.#store.spendNonce(input.nonce, expiresAt))) throw new StyxError("STYX_AUTH_INVALID_CHALLENGE");
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
   * Proves control of a wallet with a signed challenge (sign-in, or attaching the wallet to a
   * golem) and spends the nonce; returns the lowercase address.
   */
  async proveWallet(input: { walletAddress: string; nonce: string; signature: string }): Promise<string> {
    const { address, expiresAt } = await this.#checkSigned(input, this.#clock.now());
    if (!(await this.#store.spendNonce(input.nonce, expiresAt))) throw new StyxError("STYX_AUTH_INVALID_CHALLENGE");
    return address;
  }

  /** Checks the nonce's HMAC and expiry, rebuilds the signed message and verifies the signature. Spends nothing. */
  async #checkSigned(
    input: { walletAddress: string; nonce: string; signature: string },
    now: number,
  ): Promise<{ address: string; expiresAt: number }> {
    const address = input.walletAddress.toLowerCase();
    const m = /^([0-9a-z]{1,12})\.([A-Za-z0-9_-]{16})\.([0-9a-f]{32})$/.exec(input.nonce);
    const expiresAt = m ? Number.parseInt(m[1] as string, 36) : Number.NaN;
    if (!m || !constantTimeEqual(this.#mac(address, `${m[1]}.${m[2]}`), m[3] as string) || !(expiresAt > now)) {
      throw new StyxError("STYX_AUTH_INVALID_CHALLENGE");
    }
    const message = challengeMessage(address, input.nonce, expiresAt - this.#opts.challengeTtlMs, expiresAt);
    if (!(await this.#verifier.verifyPersonalMessage(address, message, input.signature))) {
      throw new StyxError("STYX_AUTH_INVALID_SIGNATURE");
    }
    return { address, expiresAt };
  }

  async #maybePurge(now: number): Promise<void> {
    if (now - this.#lastPurge < PURGE_INTERVAL_MS) return;
    this.#lastPurge = now;
    await this.#store.purgeExpiredAuth(now);
  }
}

/** The text a wallet signs to sign in (EIP-191 personal_sign, in the style of EIP-4361). */
export function challengeMessage(address: string, nonce: string, issuedAt: number, expiresAt: number): string {
  return [
    "Styx wants you to sign in with your Ethereum account:",
    address,
    "",
    "Sign in to Styx. This request costs nothing and grants no token approval.",
    "",
    `Nonce: ${nonce}`,
    `Issued At: ${iso(issuedAt)}`,
    `Expiration Time: ${iso(expiresAt)}`,
  ].join("\n");
}
