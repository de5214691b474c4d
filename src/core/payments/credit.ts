import { StyxError } from "../platform/errors.js";
import type { PaymentLedger } from "./ledger.js";
import { atomicToUsd, usdToAtomic } from "./money.js";

/**
 * Prepaid relay credit and spend limits (SPEC §11.4). Credit is per user, in atomic units: a
 * top-up paid by x402 adds its amount, each relayed socket `event` or `clade_delta` costs one
 * event's price (`event_relay_per_1000` / 1,000; 1 atomic unit at the default price), and a
 * top-up whose settlement failed is taken back. Gateways do not touch the shared balance per
 * event: each draws blocks of up to 1,000 events (CreditMeter) and spends them in memory, so a
 * relay costs no round trip; a block's unspent rest is given back when the gateway stops (one a
 * crash cut short stays spent: at most one block per user and gateway).
 */

/** Smallest and largest top-up (SPEC §11.4: 0.001–100 USD), atomic units. */
export const TOPUP_MIN = 1000;
export const TOPUP_MAX = 100_000_000;
/** Events a gateway draws from a user's balance at once. */
export const CREDIT_BLOCK_EVENTS = 1000;
/** What one federation record sent down costs its federation user, atomic units (SPEC §17.3). */
export const FEDERATION_RECORD_PRICE = 1;

/** The shared per-user balances (SQLite, PostgreSQL, memory). */
export interface CreditStore {
  /**
   * Adds `amount` atomic units (negative: takes back) and returns the new balance. A balance
   * that ends at or above `lowLine` may announce being low again (the flag clears).
   */
  add(userId: string, amount: number, lowLine: number, at: number): Promise<number>;
  /**
   * Takes up to `max` atomic units from a positive balance in one atomic update: what was drawn,
   * the balance left, and `low` — true once, for the first draw that leaves the balance under
   * `lowLine` since it was last at or above it.
   */
  draw(userId: string, max: number, lowLine: number, at: number): Promise<{ drawn: number; balance: number; low: boolean }>;
  /** The user's balance (0 for a user who never topped up). */
  balance(userId: string): Promise<number>;
}

/** A key's spend limits, atomic units per UTC day and month; null: none. */
export interface SpendLimit {
  readonly perDay: number | null;
  readonly perMonth: number | null;
}

/** Spend limits by key id. */
export interface SpendLimitStore {
  getLimit(keyId: string): Promise<SpendLimit | undefined>;
  /** Sets the key's limits; both null removes them. */
  setLimit(keyId: string, limit: SpendLimit, at: number): Promise<void>;
}

/** `amount_usd` of a top-up as atomic units; outside 0.001–100 USD or not a USD amount → 400 STYX_VALIDATION. */
export function topupAmount(usd: string): number {
  let atomic: number;
  try {
    atomic = usdToAtomic(usd);
  } catch {
    throw new StyxError("STYX_VALIDATION", "amount_usd must be a decimal USD amount with at most 6 decimals.", {
      details: { field: "/amount_usd" },
    });
  }
  if (atomic < TOPUP_MIN || atomic > TOPUP_MAX)
    throw new StyxError("STYX_VALIDATION", "amount_usd must be between 0.001 and 100.", { details: { field: "/amount_usd" } });
  return atomic;
}

/** The price of one relayed event, atomic units, from `event_relay_per_1000` (a multiple of 1,000: load.ts checks). */
export function eventPrice(perThousand: number): number {
  return Math.max(1, Math.floor(perThousand / 1000));
}

/** Start of the UTC day and month of `now`, and when each ends (ms). */
export function spendWindows(now: number): { day: [number, number]; month: [number, number] } {
  const d = new Date(now);
  const day = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  const month = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { day: [day, day + 86_400_000], month: [month, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)] };
}

/** A key's limits as windows of `now` (day, then month; a null limit left out): the cap, since when, and when it resets. */
export interface SpendWindow {
  readonly window: "day" | "month";
  readonly cap: number;
  readonly since: number;
  readonly end: number;
}

export function spendCaps(limit: SpendLimit, now: number): SpendWindow[] {
  const w = spendWindows(now);
  const out: SpendWindow[] = [];
  if (limit.perDay !== null) out.push({ window: "day", cap: limit.perDay, since: w.day[0], end: w.day[1] });
  if (limit.perMonth !== null) out.push({ window: "month", cap: limit.perMonth, since: w.month[0], end: w.month[1] });
  return out;
}

/** 403 STYX_SPEND_LIMIT for `w`, with the window, limit, spent and `resets_at`. */
export function spendLimitError(w: SpendWindow, spent: number): StyxError {
  return new StyxError("STYX_SPEND_LIMIT", `This key's ${w.window}ly spend limit would be passed.`, {
    details: { window: w.window, limit_usd: atomicToUsd(w.cap), spent_usd: atomicToUsd(spent), resets_at: new Date(w.end).toISOString() },
  });
}

/**
 * SPEC §11.2 step 4 / §11.4, before any 402: whether `price` more on `keyId` would pass its day
 * or month limit. Counts the key's payments not voided or failed since the window began; a pass
 * → 403 STYX_SPEND_LIMIT. Not a reservation — two requests of one key at the same instant may
 * both pass it — so the payment itself is reserved under the same caps in one atomic step
 * (PaymentLedger.reserveWithin, PaymentGate.admit): together they never pass a limit.
 */
export async function checkSpendLimit(
  deps: { limits: SpendLimitStore; ledger: Pick<PaymentLedger, "spent"> },
  keyId: string | null,
  price: number,
  now: number,
): Promise<void> {
  if (keyId === null) return;
  const limit = await deps.limits.getLimit(keyId);
  if (!limit) return;
  for (const w of spendCaps(limit, now)) {
    const spent = await deps.ledger.spent(keyId, w.since);
    if (spent + price > w.cap) throw spendLimitError(w, spent);
  }
}

/** What the meter tells the outside: a user's balance went under the low line (publish `styx:credit:low`). */
export interface CreditMeterHooks {
  low?(userId: string, balance: number): Promise<void> | void;
}

/**
 * A gateway's purse of drawn credit (SPEC §11.4): `spend` takes one event's price from the
 * user's block in memory, drawing a new block of up to CREDIT_BLOCK_EVENTS events from the
 * shared balance when it is empty (one draw at a time per user); nothing left → STYX_CREDIT_EXHAUSTED
 * (an error frame: the socket stays open). `take` and `refill` are the same two steps apart,
 * for a payer that cannot wait inside its step (a federation record, SPEC §17.3: 1 atomic unit
 * each, whatever an event costs). `close` gives the unspent rests back.
 */
export class CreditMeter {
  readonly #store: CreditStore;
  readonly #price: number;
  readonly #lowLine: number;
  readonly #hooks: CreditMeterHooks;
  readonly #now: () => number;
  /** Atomic units drawn and not yet spent, by user. */
  readonly #purse = new Map<string, number>();
  readonly #drawing = new Map<string, Promise<void>>();

  constructor(deps: {
    store: CreditStore;
    /** One event's price, atomic units. */
    eventPrice: number;
    /** STYX_CREDIT_LOW, in events. */
    lowEvents: number;
    now: () => number;
    hooks?: CreditMeterHooks;
  }) {
    this.#store = deps.store;
    this.#price = deps.eventPrice;
    this.#lowLine = deps.lowEvents * deps.eventPrice;
    this.#hooks = deps.hooks ?? {};
    this.#now = deps.now;
  }

  /** Pays one relayed event of `userId`, or throws STYX_CREDIT_EXHAUSTED. */
  async spend(userId: string): Promise<void> {
    while (!this.take(userId)) {
      if (await this.refill(userId)) continue;
      const balance = Math.max(0, await this.#store.balance(userId));
      throw new StyxError("STYX_CREDIT_EXHAUSTED", "No relay credit left: top up with POST /v1/styx/credit/topup.", {
        details: { balance_usd: atomicToUsd(balance) },
      });
    }
  }

  /**
   * Takes `units` atomic units (default one event's price) of `userId` from this gateway's
   * purse, synchronously: false when the purse holds fewer (then `refill`). What the socket
   * spends per delivered frame, where it cannot wait for a draw.
   */
  take(userId: string, units: number = this.#price): boolean {
    const have = this.#purse.get(userId) ?? 0;
    if (have < units) return false;
    this.#purse.set(userId, have - units);
    return true;
  }

  /**
   * Makes the purse hold at least `units` of `userId`, drawing a block from the shared balance
   * when it does not (one draw at a time per user): false when the balance had nothing more
   * to give (the credit is exhausted).
   */
  async refill(userId: string, units: number = this.#price): Promise<boolean> {
    for (;;) {
      const have = this.#purse.get(userId) ?? 0;
      if (have >= units) return true;
      const pending = this.#drawing.get(userId);
      if (pending) {
        await pending;
        continue;
      }
      const draw = this.#draw(userId, have);
      this.#drawing.set(
        userId,
        draw.then(() => undefined),
      );
      try {
        if ((await draw) === 0) return false;
      } finally {
        this.#drawing.delete(userId);
      }
    }
  }

  /** Draws a block for `userId` (less what the purse still holds) and answers how much came. */
  async #draw(userId: string, have: number): Promise<number> {
    const want = CREDIT_BLOCK_EVENTS * this.#price - have;
    const r = await this.#store.draw(userId, want, this.#lowLine, this.#now());
    this.#purse.set(userId, (this.#purse.get(userId) ?? 0) + r.drawn);
    if (r.low) await this.#hooks.low?.(userId, r.balance);
    return r.drawn;
  }

  /**
   * Gives back one event's price spent by `spend` for an event that was then not relayed (its
   * publish failed): into the purse, spent by the next event or given back at `close`.
   */
  refund(userId: string): void {
    this.#purse.set(userId, (this.#purse.get(userId) ?? 0) + this.#price);
  }

  /** Units drawn and unspent for `userId` on this gateway (for tests and the balance shown). */
  held(userId: string): number {
    return this.#purse.get(userId) ?? 0;
  }

  /** Gives every unspent rest back to the shared balances. */
  async close(): Promise<void> {
    const rests = [...this.#purse].filter(([, n]) => n > 0);
    this.#purse.clear();
    for (const [userId, n] of rests) await this.#store.add(userId, n, this.#lowLine, this.#now());
  }
}

/** A user's credit as shown (SPEC §11.4): USD and the events it relays (never below 0). */
export interface CreditView {
  readonly balanceUsd: string;
  readonly balanceEvents: number;
}

/**
 * The users' relay credit (SPEC §11.4): top-ups, take-backs of failed ones, reads, and each
 * gateway's meter. What a gateway drew and has not spent is not in the balance shown.
 */
export class CreditAccounts {
  readonly store: CreditStore;
  readonly eventPrice: number;
  readonly lowEvents: number;
  readonly #now: () => number;

  constructor(deps: { store: CreditStore; eventPrice: number; lowEvents: number; now: () => number }) {
    this.store = deps.store;
    this.eventPrice = deps.eventPrice;
    this.lowEvents = deps.lowEvents;
    this.#now = deps.now;
  }

  /**
   * A paid top-up's answer: its payment (`paymentId`, reserved) accepted and its `amount` added
   * to `userId`'s credit in one transaction of the ledger's store, so no crash leaves credit
   * without an accepted payment, or an accepted payment without its credit. Returns the credit after.
   */
  async topup(ledger: Pick<PaymentLedger, "acceptTopup">, paymentId: string, userId: string, amount: number): Promise<CreditView> {
    const balance = await ledger.acceptTopup(paymentId, { userId, amount, lowLine: this.lowEvents * this.eventPrice }, this.#now());
    if (balance === undefined) throw new Error(`the top-up ${paymentId} was no longer reserved`);
    return this.#view(balance);
  }

  /** Takes back a top-up whose settlement failed (the balance may go below 0: later top-ups pay it first). */
  async takeBack(userId: string, amount: number): Promise<void> {
    await this.store.add(userId, -amount, this.lowEvents * this.eventPrice, this.#now());
  }

  async view(userId: string): Promise<CreditView> {
    return this.#view(await this.store.balance(userId));
  }

  /** A gateway's meter over these accounts. */
  meter(hooks: CreditMeterHooks = {}): CreditMeter {
    return new CreditMeter({ store: this.store, eventPrice: this.eventPrice, lowEvents: this.lowEvents, now: this.#now, hooks });
  }

  #view(balance: number): CreditView {
    const b = Math.max(0, balance);
    return { balanceUsd: atomicToUsd(b), balanceEvents: Math.floor(b / this.eventPrice) };
  }
}
