import type { AuditLog } from "../core/platform/audit.js";
import { type AuthAttempt, AuthFailureTally, type AuthTransport, authFailureReason } from "../core/platform/auth-failures.js";
import type { Clock } from "../core/platform/clock.js";
import type { Metrics } from "./metrics.js";

/** Settings of the failed-authentication audit (defaults in brackets). */
export interface AuthFailureAuditOptions {
  /** Addresses audited one by one per minute; the rest share one overflow record [1,000]. */
  readonly maxAddressesPerMinute?: number;
  /** How often ended minutes are written to the audit log, in ms [10,000]. */
  readonly flushIntervalMs?: number;
}

/**
 * The failed authentications of this process, on both transports: each is counted at once in
 * `styx_auth_failures_total{transport,reason}` and tallied per client address and minute
 * (AuthFailureTally); a minute's records are appended to the audit log within
 * `flushIntervalMs` of its end, and the current minute's at close. What a crash loses: the
 * failures of the minute under way (and of the one before, if it ended less than
 * `flushIntervalMs` earlier) — never more than two minutes of counts. With several gateways,
 * each writes its own record for an address it saw in a minute.
 */
export class AuthFailureAudit {
  readonly #tally: AuthFailureTally;
  readonly #audit: Pick<AuditLog, "append">;
  readonly #metrics: Metrics;
  readonly #clock: Clock;
  readonly #warn: (obj: object, msg: string) => void;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(deps: {
    audit: Pick<AuditLog, "append">;
    metrics: Metrics;
    clock: Clock;
    warn: (obj: object, msg: string) => void;
    options?: AuthFailureAuditOptions;
  }) {
    this.#audit = deps.audit;
    this.#metrics = deps.metrics;
    this.#clock = deps.clock;
    this.#warn = deps.warn;
    this.#tally = new AuthFailureTally({ maxAddresses: deps.options?.maxAddressesPerMinute ?? 1000 });
    this.#intervalMs = deps.options?.flushIntervalMs ?? 10_000;
  }

  /**
   * Told of an error answered to a credential on `transport` from `ip`; counts it when it is a
   * failed authentication (authFailureReason), ignores it otherwise. `attempt`: what the request
   * was (an admin route, a wallet sign-in, anything else).
   */
  refused(transport: AuthTransport, ip: string, code: string, attempt: AuthAttempt = "other"): void {
    const reason = authFailureReason(code, attempt);
    if (!reason) return;
    this.#metrics.authFailures.inc({ transport, reason });
    this.#tally.note({ transport, ip, reason }, this.#clock.now());
  }

  /** Starts writing ended minutes every `flushIntervalMs`. */
  start(): void {
    this.#timer ??= setInterval(() => void this.flushEnded(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Appends the records of the minutes over by now; resolves when they are written. */
  flushEnded(): Promise<void> {
    return this.#write(() => this.#tally.takeEnded(this.#clock.now()));
  }

  /** Stops the timer and appends every record held, the current minute's included. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#write(() => this.#tally.takeAll());
  }

  /** Appends in order, one batch after the other; a failed append is logged, its count lost. */
  #write(take: () => ReturnType<AuthFailureTally["takeAll"]>): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      for (const input of take()) {
        try {
          await this.#audit.append(input);
        } catch (err) {
          this.#warn({ err, details: input.details }, "a failed-authentication audit record was not written");
        }
      }
    });
    return this.#writing;
  }
}
