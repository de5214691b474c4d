import type { AuditInput } from "./audit.js";
import { iso } from "./clock.js";

/** The transports a credential is presented on (a bounded metric label). */
export const AUTH_TRANSPORTS = ["http", "ws"] as const;
export type AuthTransport = (typeof AUTH_TRANSPORTS)[number];

/**
 * Why an authentication failed (a bounded metric label): `missing` no usable credential (none,
 * or not `Bearer <token>`); `invalid` an unknown, revoked or expired credential (an ended wallet
 * session included); `admin_token` a token that is not the admin token on an admin route (an
 * admin-token guess); `not_admin` a valid user credential on an admin route; `wallet` a failed
 * wallet sign-in or wallet proof (signature, challenge, unknown wallet, the retired pre-EIP-4361
 * form, a dead golem's wallet signing in).
 */
export const AUTH_FAILURE_REASONS = ["missing", "invalid", "admin_token", "not_admin", "wallet"] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/**
 * What a refused request was, where the reason depends on it: `admin` a route that needs the
 * admin token; `sign_in` a wallet sign-in (its signer may be refused although the signature is
 * good: a dead golem's wallet); `other` anything else.
 */
export type AuthAttempt = "admin" | "sign_in" | "other";

/** The audit action of one address's failed authentications in one minute. */
export const AUTH_FAILED = "auth.failed";

/** One failed authentication, as the transports report it. */
export interface AuthFailure {
  readonly transport: AuthTransport;
  /** The client address (the one rate limits use). */
  readonly ip: string;
  readonly reason: AuthFailureReason;
}

const MINUTE_MS = 60_000;

/**
 * The failure reason of an error answered to a credential, or undefined when the error is no
 * failed authentication (an outage, a scope a valid key lacks, a bad request, a dead golem's act).
 * Every `STYX_AUTH_*` code of the error table has a reason on some attempt (a unit test checks).
 */
export function authFailureReason(code: string, attempt: AuthAttempt = "other"): AuthFailureReason | undefined {
  switch (code) {
    case "STYX_AUTH_REQUIRED":
      return "missing";
    case "STYX_AUTH_INVALID_KEY":
      return attempt === "admin" ? "admin_token" : "invalid";
    case "STYX_AUTH_FORBIDDEN":
      return attempt === "admin" ? "not_admin" : undefined;
    case "STYX_AUTH_INVALID_SIGNATURE":
    case "STYX_AUTH_INVALID_CHALLENGE":
    case "STYX_AUTH_UNKNOWN_WALLET":
    case "STYX_AUTH_SIWE_REQUIRED":
      return "wallet";
    case "STYX_GOLEM_DEAD":
      // Elsewhere a dead golem's act refused: its credential is good, so no failed authentication.
      return attempt === "sign_in" ? "wallet" : undefined;
    default:
      return undefined;
  }
}

/** One address's failures within one minute. */
interface Window {
  readonly minute: number;
  /** null: the overflow window, for addresses past the per-minute bound. */
  readonly ip: string | null;
  count: number;
  readonly reasons: Map<AuthFailureReason, number>;
  readonly transports: Map<AuthTransport, number>;
}

/**
 * Failed authentications tallied per client address and clock minute, each window becoming
 * one `auth.failed` audit record once its minute is over, so a flood grows the audit log by
 * at most `maxAddresses + 1` records a minute whatever its rate: the addresses past
 * `maxAddresses` in a minute share one overflow record (ip null, `overflow: true`). Holds only
 * what has not been taken yet; nothing survives the process.
 */
export class AuthFailureTally {
  readonly #maxAddresses: number;
  /** Open windows by minute, then by address (null: overflow), in arrival order. */
  readonly #minutes = new Map<number, Map<string | null, Window>>();

  constructor(opts: { maxAddresses: number }) {
    this.#maxAddresses = opts.maxAddresses;
  }

  /** Counts one failure at `now` (epoch ms). */
  note(f: AuthFailure, now: number): void {
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let windows = this.#minutes.get(minute);
    if (!windows) {
      windows = new Map();
      this.#minutes.set(minute, windows);
    }
    const ip = windows.has(f.ip) || windows.size - (windows.has(null) ? 1 : 0) < this.#maxAddresses ? f.ip : null;
    let w = windows.get(ip);
    if (!w) {
      w = { minute, ip, count: 0, reasons: new Map(), transports: new Map() };
      windows.set(ip, w);
    }
    w.count++;
    w.reasons.set(f.reason, (w.reasons.get(f.reason) ?? 0) + 1);
    w.transports.set(f.transport, (w.transports.get(f.transport) ?? 0) + 1);
  }

  /** The audit records of the minutes over at `now`, oldest first; they leave the tally. */
  takeEnded(now: number): AuditInput[] {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    return this.#take((minute) => minute < current);
  }

  /** Every window's audit record, the current minute's included (at shutdown). */
  takeAll(): AuditInput[] {
    return this.#take(() => true);
  }

  /** Minutes held (for tests of the bound). */
  get openMinutes(): number {
    return this.#minutes.size;
  }

  #take(due: (minute: number) => boolean): AuditInput[] {
    const out: AuditInput[] = [];
    for (const [minute, windows] of [...this.#minutes].sort(([a], [b]) => a - b)) {
      if (!due(minute)) continue;
      this.#minutes.delete(minute);
      for (const w of windows.values()) out.push(auditRecordOf(w));
    }
    return out;
  }
}

/** A window as its audit record: counts by reason and transport in their fixed order. */
function auditRecordOf(w: Window): AuditInput {
  const counts = <K extends string>(keys: readonly K[], m: Map<K, number>) =>
    Object.fromEntries(keys.filter((k) => m.has(k)).map((k) => [k, m.get(k)]));
  return {
    actor: "anonymous",
    action: AUTH_FAILED,
    target: "",
    ...(w.ip === null ? {} : { ip: w.ip }),
    details: {
      minute: iso(w.minute),
      count: w.count,
      reasons: counts(AUTH_FAILURE_REASONS, w.reasons),
      transports: counts(AUTH_TRANSPORTS, w.transports),
      ...(w.ip === null ? { overflow: true } : {}),
    },
  };
}
