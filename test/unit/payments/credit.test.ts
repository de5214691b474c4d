import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryCredit } from "../../../src/adapters/memory/memory-credit.js";
import { MemoryPaymentLedger } from "../../../src/adapters/memory/memory-payment-ledger.js";
import {
  CREDIT_BLOCK_EVENTS,
  CreditAccounts,
  checkSpendLimit,
  eventPrice,
  spendWindows,
  topupAmount,
} from "../../../src/core/payments/credit.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { paymentFixture } from "../../../src/testing/contracts/payment-ledger.contract.js";

/** A paid top-up as the route makes it: a reserved payment of `amount`, accepted and credited in one step. */
let topups = 0;
async function topup(accounts: CreditAccounts, userId: string, amount: number) {
  const ledger = new MemoryPaymentLedger(accounts.store);
  const id = `pay_${++topups}`;
  await ledger.reserve(paymentFixture(id, { amount, operation: "credit_topup", purpose: "topup", userId }));
  return accounts.topup(ledger, id, userId, amount);
}

const code = (err: unknown) => (err instanceof StyxError ? err.code : String(err));

describe("relay credit (SPEC §11.4)", () => {
  it("spends exactly the balance across two gateways' meters, each drawing blocks of 1,000 events", async () => {
    const store = new MemoryCredit();
    const accounts = new CreditAccounts({ store, eventPrice: 1, lowEvents: 0, now: () => 0 });
    await topup(accounts, "u", 2500);
    const [a, b] = [accounts.meter(), accounts.meter()];
    let spent = 0;
    let refused = 0;
    // Concurrent spends on both meters, interleaved.
    await Promise.all(
      Array.from({ length: 3000 }, (_, i) =>
        (i % 2 ? a : b).spend("u").then(
          () => spent++,
          (err) => {
            assert.equal(code(err), "STYX_CREDIT_EXHAUSTED");
            refused++;
          },
        ),
      ),
    );
    assert.equal(spent, 2500);
    assert.equal(refused, 500);
    assert.equal(await store.balance("u"), 0);
  });

  it("draws a block, not one unit, and gives the unspent rest back at close", async () => {
    const store = new MemoryCredit();
    const accounts = new CreditAccounts({ store, eventPrice: 2, lowEvents: 0, now: () => 0 });
    await topup(accounts, "u", 10_000);
    const m = accounts.meter();
    await m.spend("u");
    assert.equal(await store.balance("u"), 10_000 - CREDIT_BLOCK_EVENTS * 2, "one block of 1,000 events at 2 units each");
    assert.equal(m.held("u"), CREDIT_BLOCK_EVENTS * 2 - 2);
    await m.close();
    assert.equal(await store.balance("u"), 10_000 - 2, "only what was spent is gone");
  });

  it("announces low once when a draw leaves the balance under the line, and again after a top-up lifts it", async () => {
    const store = new MemoryCredit();
    const accounts = new CreditAccounts({ store, eventPrice: 1, lowEvents: 1500, now: () => 0 });
    const lows: number[] = [];
    const m = accounts.meter({ low: (_u, balance) => void lows.push(balance) });
    await topup(accounts, "u", 3000);
    for (let i = 0; i < 2001; i++) await m.spend("u");
    assert.deepEqual(lows, [1000], "the second block left 1,000 < 1,500; the third draw says nothing more");
    await topup(accounts, "u", 5000);
    for (let i = 0; i < 1000; i++) await m.spend("u");
    assert.equal(lows.length, 1, "above the line again: no announcement");
  });

  it("gives a refunded event's price back to the purse: spent by the next event, or returned to the balance at close", async () => {
    const accounts = new CreditAccounts({ store: new MemoryCredit(), eventPrice: 1, lowEvents: 0, now: () => 0 });
    await topup(accounts, "u", 3);
    const m = accounts.meter();
    for (let i = 0; i < 3; i++) await m.spend("u");
    m.refund("u");
    await m.spend("u");
    await assert.rejects(m.spend("u"), (e) => code(e) === "STYX_CREDIT_EXHAUSTED");
    m.refund("u");
    await m.close();
    assert.equal(await accounts.store.balance("u"), 1);
  });

  it("shows the balance in USD and events, never below 0, and takes a failed top-up back", async () => {
    const accounts = new CreditAccounts({ store: new MemoryCredit(), eventPrice: 1, lowEvents: 0, now: () => 0 });
    assert.deepEqual(await topup(accounts, "u", 1000), { balanceUsd: "0.001", balanceEvents: 1000 });
    await accounts.takeBack("u", 5000);
    assert.deepEqual(await accounts.view("u"), { balanceUsd: "0", balanceEvents: 0 });
    await assert.rejects(accounts.meter().spend("u"), (e) => code(e) === "STYX_CREDIT_EXHAUSTED");
  });

  it("reads top-up amounts within 0.001–100 USD, and an event's price from the per-1,000 price", () => {
    assert.equal(topupAmount("0.001"), 1000);
    assert.equal(topupAmount("100"), 100_000_000);
    for (const bad of ["0.0009", "100.000001", "1e3", "-1", "1.0000001"])
      assert.throws(
        () => topupAmount(bad),
        (e) => code(e) === "STYX_VALIDATION",
        bad,
      );
    assert.equal(eventPrice(1000), 1);
    assert.equal(eventPrice(5000), 5);
  });
});

describe("spend limits (SPEC §11.2 step 4)", () => {
  it("counts the key's payments not voided or failed since the UTC day and month began", async () => {
    const now = Date.UTC(2026, 11, 7, 12);
    const ledger = new MemoryPaymentLedger();
    const limits = new MemoryCredit();
    await limits.setLimit("k", { perDay: 5000, perMonth: 6000 });
    await ledger.reserve(paymentFixture("p1", { keyId: "k", amount: 3000, createdAt: Date.UTC(2026, 11, 7, 1) }));
    await ledger.reserve(paymentFixture("p2", { keyId: "k", amount: 2500, createdAt: Date.UTC(2026, 11, 7, 2) }));
    await ledger.finish("p2", "voided", now);
    await ledger.reserve(paymentFixture("p3", { keyId: "k", amount: 2000, createdAt: Date.UTC(2026, 11, 6, 23) }));
    const deps = { limits, ledger };
    await checkSpendLimit(deps, "k", 1000, now); // day 3000 + 1000 ≤ 5000; month 5000 + 1000 ≤ 6000
    await assert.rejects(checkSpendLimit(deps, "k", 1001, now), (e: unknown) => {
      assert.ok(e instanceof StyxError);
      assert.equal(e.code, "STYX_SPEND_LIMIT");
      assert.deepEqual(e.details, { window: "month", limit_usd: "0.006", spent_usd: "0.005", resets_at: "2027-01-01T00:00:00.000Z" });
      return true;
    });
    await limits.setLimit("k", { perDay: 3500, perMonth: null });
    await assert.rejects(
      checkSpendLimit(deps, "k", 501, now),
      (e) => (e as StyxError).details !== undefined && (e as { details: { window: string } }).details.window === "day",
    );
    await checkSpendLimit(deps, "other-key", 1_000_000, now);
    await checkSpendLimit(deps, null, 1_000_000, now);
    assert.deepEqual(spendWindows(now).day, [Date.UTC(2026, 11, 7), Date.UTC(2026, 11, 8)]);
  });
});
