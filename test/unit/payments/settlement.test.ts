import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { SettleResponse } from "@x402/core/types";
import { MemoryPaymentLedger } from "../../../src/adapters/memory/memory-payment-ledger.js";
import { type Facilitator, FacilitatorUnavailable } from "../../../src/core/payments/facilitator.js";
import type { PaymentRecord } from "../../../src/core/payments/ledger.js";
import { Settlement } from "../../../src/core/payments/settlement.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { paymentFixture } from "../../../src/testing/contracts/payment-ledger.contract.js";

const NOW = 1_800_000_000_000;
const nowS = NOW / 1000;

/** A facilitator whose /settle answers by nonce: `answers` decides, success otherwise; counts calls and the most in flight. */
function facilitator(answers: Map<string, () => SettleResponse | Error> = new Map()) {
  const calls = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const f: Facilitator & { calls: Map<string, number>; maxInFlight: () => number } = {
    calls,
    maxInFlight: () => maxInFlight,
    async verify() {
      throw new Error("unused");
    },
    async settle(payload) {
      const nonce = (payload.payload as { authorization: { nonce: string } }).authorization.nonce;
      calls.set(nonce, (calls.get(nonce) ?? 0) + 1);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      const a = answers.get(nonce)?.();
      if (a instanceof Error) throw a;
      return a ?? { success: true, transaction: `0xtx${nonce}`, network: "eip155:84532" };
    },
  };
  return f;
}

const nonceOf = (i: number) => `0x${i.toString(16).padStart(64, "0")}`;

describe("Settlement (SPEC §11.3)", () => {
  let ledger: MemoryPaymentLedger;
  let clock: ManualClock;
  let failed: [string, string][];

  beforeEach(() => {
    ledger = new MemoryPaymentLedger();
    clock = new ManualClock(NOW);
    failed = [];
  });

  async function accepted(n: number, validBefore = nowS + 300, from = 0): Promise<PaymentRecord[]> {
    for (let i = from; i < from + n; i++) {
      const id = `p${i}`;
      await ledger.reserve({
        ...paymentFixture(id, { nonce: nonceOf(i), validBefore }),
        payload: JSON.stringify({ x402Version: 2, payload: { authorization: { nonce: nonceOf(i) } } }),
      });
      await ledger.finish(id, "accepted", NOW);
    }
    return [];
  }

  const make = (f: Facilitator, batch = 100) =>
    new Settlement(
      { batch, intervalMs: 60_000 },
      { ledger, facilitator: f, clock, hooks: { failed: (p, reason) => void failed.push([p.id, reason]) } },
    );

  it("is due at `batch` accepted payments, after the interval, or when one expires within 60 s", async () => {
    const s = make(facilitator(), 3);
    assert.equal(await s.due(), false, "nothing accepted");
    await accepted(2);
    assert.equal(await s.due(), false);
    await accepted(1, nowS + 300, 2);
    assert.equal(await s.due(), true, "a full batch");
    const t = make(facilitator(), 100);
    assert.equal(await t.due(), false);
    clock.advance(60_000);
    assert.equal(await t.due(), true, "the interval passed");
    ledger = new MemoryPaymentLedger();
    const u = make(facilitator(), 100);
    await accepted(1, Math.floor(clock.now() / 1000) + 59);
    assert.equal(await u.due(), true, "an authorization about to expire");
  });

  it("settles a batch once each, 8 at a time, and leaves voided and reserved rows alone", async () => {
    const f = facilitator();
    await accepted(20);
    await ledger.reserve(paymentFixture("reserved", { nonce: nonceOf(900) }));
    await ledger.reserve(paymentFixture("voided", { nonce: nonceOf(901) }));
    await ledger.finish("voided", "voided", NOW);
    const report = await make(f, 100).run();
    assert.deepEqual(report, { settled: 20, failed: 0, retried: 0, resent: 0 });
    assert.equal(f.calls.size, 20);
    assert.ok([...f.calls.values()].every((n) => n === 1));
    assert.equal(f.maxInFlight(), 8);
    assert.equal((await ledger.get("p3"))?.status, "settled");
    assert.equal((await ledger.get("p3"))?.transaction, `0xtx${nonceOf(3)}`);
    assert.equal((await ledger.get("reserved"))?.status, "reserved");
    assert.equal((await ledger.get("voided"))?.status, "voided");
    assert.deepEqual(await make(f).run(), { settled: 0, failed: 0, retried: 0, resent: 0 }, "never a second /settle");
    assert.equal(
      [...f.calls.values()].reduce((a, b) => a + b),
      20,
    );
  });

  it("claims at most `batch` rows a run", async () => {
    await accepted(5);
    assert.equal((await make(facilitator(), 2).run()).settled, 2);
    assert.equal((await ledger.pending()).count, 3);
  });

  it("fails a refused payment for good and announces it; a funds failure as insufficient_funds", async () => {
    const f = facilitator(
      new Map<string, () => SettleResponse>([
        [
          nonceOf(0),
          () => ({ success: false, errorReason: "invalid_exact_evm_insufficient_balance", transaction: "", network: "eip155:84532" }),
        ],
        [
          nonceOf(1),
          () => ({ success: false, errorReason: "invalid_exact_evm_nonce_already_used", transaction: "", network: "eip155:84532" }),
        ],
      ]),
    );
    await accepted(2);
    assert.deepEqual(await make(f).run(), { settled: 0, failed: 2, retried: 0, resent: 0 });
    assert.equal((await ledger.get("p0"))?.error, "insufficient_funds");
    assert.equal((await ledger.get("p1"))?.error, "invalid_exact_evm_nonce_already_used", "a first try's used nonce: spent elsewhere");
    assert.deepEqual(failed.sort(), [
      ["p0", "insufficient_funds"],
      ["p1", "invalid_exact_evm_nonce_already_used"],
    ]);
  });

  it("retries an unanswered settlement, takes a later 'nonce already used' as settled, and fails after 5 tries", async () => {
    let p0 = 0;
    const f = facilitator(
      new Map<string, () => SettleResponse | Error>([
        [
          nonceOf(0),
          () =>
            ++p0 === 1
              ? new FacilitatorUnavailable("settle", new Error("timeout"))
              : { success: false, errorReason: "invalid_exact_evm_nonce_already_used", transaction: "", network: "eip155:84532" },
        ],
        [nonceOf(1), () => new FacilitatorUnavailable("settle", new Error("down"))],
      ]),
    );
    await accepted(2);
    const s = make(f);
    assert.deepEqual(await s.run(), { settled: 0, failed: 0, retried: 2, resent: 0 });
    assert.equal((await ledger.get("p0"))?.status, "accepted");
    assert.deepEqual(await s.run(), { settled: 1, failed: 0, retried: 1, resent: 0 });
    assert.equal((await ledger.get("p0"))?.status, "settled");
    for (let i = 0; i < 3; i++) await s.run();
    assert.equal((await ledger.get("p1"))?.status, "failed");
    assert.equal((await ledger.get("p1"))?.error, "facilitator_unavailable");
    assert.equal(f.calls.get(nonceOf(1)), 5);
  });

  it("fails an expired authorization without sending it", async () => {
    const f = facilitator();
    await accepted(1, nowS + 30);
    clock.advance(31_000);
    assert.deepEqual(await make(f).run(), { settled: 0, failed: 1, retried: 0, resent: 0 });
    assert.equal((await ledger.get("p0"))?.error, "expired");
    assert.equal(f.calls.size, 0);
  });

  it("resends rows left in settling at its first tick (a crash mid-batch): a used nonce then means settled", async () => {
    await accepted(3);
    await ledger.claim(3, NOW);
    const f = facilitator(
      new Map<string, () => SettleResponse>([
        [
          nonceOf(0),
          () => ({ success: false, errorReason: "invalid_exact_evm_nonce_already_used", transaction: "", network: "eip155:84532" }),
        ],
      ]),
    );
    const s = make(f);
    const report = await s.tick();
    assert.equal(report.resent, 3);
    assert.equal(report.settled, 3);
    for (const id of ["p0", "p1", "p2"]) assert.equal((await ledger.get(id))?.status, "settled", id);
    await s.tick();
    assert.equal(
      [...f.calls.values()].reduce((a, b) => a + b),
      3,
      "resent once, at the first tick only",
    );
  });
});
