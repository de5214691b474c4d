/**
 * Money and prices (SPEC §11.1): USDC has 6 decimals; inside Styx an amount is an integer of
 * atomic units (1 USD = 1,000,000), in JSON a decimal string. Pure.
 */

/** Atomic units in one USD. */
export const ATOMIC_PER_USD = 1_000_000;

/** The operations a price can be set for (`STYX_PRICES` keys). */
export const OPERATIONS = [
  "entry_write",
  "query",
  "pheromone_deposit",
  "pheromone_sense",
  "bloodstain",
  "snapshot",
  "causal_discover",
  "listing",
  "event_relay_per_1000",
] as const;

/** A priced operation. */
export type Operation = (typeof OPERATIONS)[number];

/**
 * What a payment can pay for: a priced operation, a relay-credit top-up (its amount is the
 * client's) or a marketplace purchase (the listing's price + fee, SPEC §16.2).
 */
export type ChargedOperation = Operation | "credit_topup" | "purchase";

/** Price of each operation in atomic units. */
export type PriceTable = Readonly<Record<Operation, number>>;

/** SPEC §11.1's table, in atomic units. */
export const DEFAULT_PRICES: PriceTable = Object.freeze({
  entry_write: 1000,
  query: 2000,
  pheromone_deposit: 500,
  pheromone_sense: 500,
  bloodstain: 5000,
  snapshot: 10_000,
  causal_discover: 1000,
  listing: 10_000,
  event_relay_per_1000: 1000,
});

/** Whether `name` is an operation (own strings only: `constructor` is not one). */
export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

// At most 6 whole digits: a price or top-up above 999,999 USD is a typo, and amounts stay exact integers.
const USD = /^(\d{1,6})(?:\.(\d{1,6}))?$/;

/** A decimal USD string ("0.001") as atomic units; throws on anything else (more than 6 decimals, signs, exponents). */
export function usdToAtomic(usd: string): number {
  const m = USD.exec(usd);
  if (!m) throw new Error(`not a USD amount with at most 6 decimals: ${JSON.stringify(usd)}`);
  return Number(m[1]) * ATOMIC_PER_USD + Number((m[2] ?? "").padEnd(6, "0"));
}

/** Atomic units as the shortest decimal USD string ("0.0005", "1", "0.01"). */
export function atomicToUsd(atomic: number): string {
  if (!Number.isSafeInteger(atomic) || atomic < 0) throw new Error(`not an atomic amount: ${atomic}`);
  const whole = Math.floor(atomic / ATOMIC_PER_USD);
  const frac = String(atomic % ATOMIC_PER_USD)
    .padStart(6, "0")
    .replace(/0+$/, "");
  return frac === "" ? String(whole) : `${whole}.${frac}`;
}

/**
 * `STYX_PRICES`: a JSON object of operation → USD (a decimal string, or a number written as one);
 * the rows it names replace the defaults. Unknown operations, other values and 0-or-less
 * prices are refused (a free operation is not priced: leave pricing off).
 */
export function parsePrices(raw: string): PriceTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error("must be a JSON object of operation → USD");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("must be a JSON object of operation → USD");
  const out: Record<Operation, number> = { ...DEFAULT_PRICES };
  for (const [name, value] of Object.entries(parsed)) {
    if (!isOperation(name)) throw new Error(`unknown operation ${JSON.stringify(name)} (known: ${OPERATIONS.join(", ")})`);
    if (typeof value !== "string" && typeof value !== "number") throw new Error(`${name}: must be a USD decimal string`);
    const atomic = usdToAtomic(String(value));
    if (atomic <= 0) throw new Error(`${name}: must be above 0`);
    out[name] = atomic;
  }
  return Object.freeze(out);
}
