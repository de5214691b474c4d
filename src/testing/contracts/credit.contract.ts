import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CreditStore, SpendLimitStore } from "../../core/payments/credit.js";

/**
 * The behaviour every relay-credit and spend-limit store must show; `make` returns two handles on
 * one empty storage (two gateways of one cluster, or the same store twice in one process).
 */
export function describeCreditContract(
  name: string,
  make: () => Promise<readonly [CreditStore & SpendLimitStore, CreditStore & SpendLimitStore]>,
): void {
  describe(`Credit contract: ${name}`, () => {
    it("adds, draws at most the balance, and says low once until a top-up lifts it", async () => {
      const [a, b] = await make();
      assert.equal(await a.balance("u1"), 0);
      assert.deepEqual(await a.draw("u1", 10, 100, 1), { drawn: 0, balance: 0, low: false }, "nothing to draw");
      assert.equal(await a.add("u1", 250, 100, 1), 250);
      assert.deepEqual(await b.draw("u1", 100, 100, 2), { drawn: 100, balance: 150, low: false });
      assert.deepEqual(await a.draw("u1", 100, 100, 3), { drawn: 100, balance: 50, low: true }, "under the line");
      assert.deepEqual(await b.draw("u1", 100, 100, 4), { drawn: 50, balance: 0, low: false }, "said once");
      assert.deepEqual(await b.draw("u1", 100, 100, 5), { drawn: 0, balance: 0, low: false });
      assert.equal(await a.add("u1", 500, 100, 6), 500);
      assert.deepEqual(await a.draw("u1", 450, 100, 7), { drawn: 450, balance: 50, low: true }, "again after a top-up");
      assert.equal(await b.add("u1", -80, 100, 8), -30, "a take-back may go below 0");
      assert.deepEqual(await b.draw("u1", 10, 100, 9), { drawn: 0, balance: -30, low: false });
      assert.equal(await a.balance("u2"), 0, "per user");
    });

    it("never draws more than the balance under concurrent draws of both handles", async () => {
      const [a, b] = await make();
      await a.add("uc", 1000, 0, 1);
      const draws = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).draw("uc", 70, 0, 2)));
      assert.equal(
        draws.reduce((n, d) => n + d.drawn, 0),
        1000,
      );
      assert.equal(await a.balance("uc"), 0);
    });

    it("keeps a key's spend limits; both null removes them", async () => {
      const [a, b] = await make();
      assert.equal(await a.getLimit("k1"), undefined);
      await a.setLimit("k1", { perDay: 1000, perMonth: null }, 1);
      assert.deepEqual(await b.getLimit("k1"), { perDay: 1000, perMonth: null });
      await b.setLimit("k1", { perDay: null, perMonth: 5000 }, 2);
      assert.deepEqual(await a.getLimit("k1"), { perDay: null, perMonth: 5000 });
      await a.setLimit("k1", { perDay: null, perMonth: null }, 3);
      assert.equal(await b.getLimit("k1"), undefined);
    });
  });
}
