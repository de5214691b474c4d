import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CreditStore } from "../../core/payments/credit.js";
import type { NewPayment, PaymentLedger } from "../../core/payments/ledger.js";

/** A payment to reserve; `nonce` names the authorization (the replay key with network, asset and payer). */
export function paymentFixture(id: string, over: Partial<NewPayment> = {}): NewPayment {
  return {
    id,
    network: "eip155:84532",
    asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
    payer: "0x00000000000000000000000000000000000000aa",
    nonce: `0x${id.replace(/[^0-9a-f]/g, "").padStart(64, "0")}`,
    amount: 2000,
    operation: "query",
    purpose: "request",
    userId: "usr_1",
    keyId: "key_1",
    golemId: null,
    payload: '{"x402Version":2}',
    requirements: '{"scheme":"exact"}',
    validBefore: 1_000_000,
    createdAt: 1,
    ...over,
  };
}

/**
 * The behaviour every PaymentLedger must show; `make` returns two handles on one empty storage
 * (two gateways of one cluster, or the same store twice where it lives in one process), and the
 * relay credit balances a top-up accepted there adds to.
 */
export function describePaymentLedgerContract(
  name: string,
  make: () => Promise<readonly [PaymentLedger, PaymentLedger, Pick<CreditStore, "balance">]>,
): void {
  describe(`PaymentLedger contract: ${name}`, () => {
    it("reserves an authorization once: the same (network, asset, payer, nonce) again is refused on either handle", async () => {
      const [a, b] = await make();
      assert.equal(await a.reserve(paymentFixture("a1", { nonce: "0x01" })), true);
      assert.equal(await b.reserve(paymentFixture("a2", { nonce: "0x01" })), false, "another handle sees the first");
      assert.equal(await b.get("a2"), undefined, "a refused reserve writes nothing");
      const first = await b.get("a1");
      assert.equal(first?.status, "reserved");
      assert.equal(first?.amount, 2000);
      assert.equal(first?.attempts, 0);
      for (const [field, value] of [
        ["network", "eip155:8453"],
        ["asset", "0x0000000000000000000000000000000000000001"],
        ["payer", "0x00000000000000000000000000000000000000bb"],
        ["nonce", "0x02"],
      ] as const)
        assert.equal(await a.reserve(paymentFixture(`d-${field}`, { nonce: "0x01", [field]: value })), true, `${field} differs`);
    });

    it("lets exactly one of concurrent reserves of one authorization win", async () => {
      const [a, b] = await make();
      const wins = await Promise.all([...Array(10).keys()].map((i) => (i % 2 ? a : b).reserve(paymentFixture(`c${i}`, { nonce: "0xc" }))));
      assert.equal(wins.filter(Boolean).length, 1);
    });

    it("finishes a reserved payment once: accepted or voided, a late call changes nothing", async () => {
      const [a, b] = await make();
      await a.reserve(paymentFixture("f1"));
      await a.reserve(paymentFixture("f2"));
      assert.equal(await b.finish("f1", "accepted", 5), true);
      assert.equal(await a.finish("f1", "voided", 6), false);
      assert.equal((await a.get("f1"))?.status, "accepted");
      assert.equal((await a.get("f1"))?.updatedAt, 5);
      assert.equal(await a.finish("f2", "voided", 7), true);
      assert.equal((await b.get("f2"))?.status, "voided");
      assert.equal(await a.finish("missing", "accepted", 8), false);
    });

    it("claims accepted rows soonest deadline first, atomically: concurrent claims never share a row", async () => {
      const [a, b] = await make();
      for (let i = 0; i < 12; i++) {
        await a.reserve(paymentFixture(`k${i}`, { validBefore: 1000 + ((i * 7) % 12) }));
        await a.finish(`k${i}`, "accepted", 2);
      }
      await a.reserve(paymentFixture("voided"));
      await a.finish("voided", "voided", 2);
      await a.reserve(paymentFixture("reserved"));
      assert.deepEqual(await a.pending(), { count: 12, soonestValidBefore: 1000 });
      const [x, y] = await Promise.all([a.claim(5, 10), b.claim(5, 10)]);
      const ids = [...x, ...y].map((r) => r.id);
      assert.equal(new Set(ids).size, 10, "no row twice");
      for (const list of [x, y])
        assert.deepEqual(
          list.map((r) => r.validBefore),
          [...list.map((r) => r.validBefore)].sort((p, q) => p - q),
        );
      for (const r of [...x, ...y]) {
        assert.equal(r.status, "settling");
        assert.equal(r.attempts, 1);
        assert.equal(r.updatedAt, 10);
      }
      const rest = await a.claim(100, 11);
      assert.equal(rest.length, 2, "only accepted rows: not voided, not reserved, not already settling");
      assert.deepEqual(await b.pending(), { count: 0, soonestValidBefore: null });
      assert.equal((await b.settling(100)).length, 12);
      assert.deepEqual(await a.claim(0, 12), []);
    });

    it("resolves a settling row once: settled with its transaction, failed, or back to accepted for a retry", async () => {
      const [a, b] = await make();
      for (const id of ["s1", "s2", "s3"]) {
        await a.reserve(paymentFixture(id));
        await a.finish(id, "accepted", 1);
      }
      await a.claim(10, 2);
      assert.equal(await a.resolve("s1", { status: "settled", transaction: "0xabc" }, 3), true);
      assert.equal(await b.resolve("s1", { status: "failed", error: "late" }, 4), false, "never after settled");
      assert.equal((await b.get("s1"))?.transaction, "0xabc");
      assert.equal(await b.resolve("s2", { status: "failed", error: "insufficient_funds" }, 5), true);
      assert.equal((await a.get("s2"))?.error, "insufficient_funds");
      assert.equal(await a.resolve("s3", { status: "accepted", error: "timeout" }, 6), true);
      assert.equal((await a.get("s3"))?.status, "accepted");
      const again = await b.claim(10, 7);
      assert.deepEqual(
        again.map((r) => [r.id, r.attempts]),
        [["s3", 2]],
      );
      assert.equal(await a.resolve("s3", { status: "settled", transaction: "0xdef" }, 8), true);
      assert.equal((await a.get("s3"))?.error, null);
      assert.equal(await a.resolve("missing", { status: "settled", transaction: "0x" }, 9), false);
    });

    it("finds a payer's failure for a reason since a time, on its network", async () => {
      const [a, b] = await make();
      const payer = "0x00000000000000000000000000000000000000cc";
      await a.reserve(paymentFixture("p1", { payer }));
      await a.finish("p1", "accepted", 1);
      await a.claim(1, 2);
      assert.equal(await b.failedSince("eip155:84532", payer, "insufficient_funds", 0), false);
      await a.resolve("p1", { status: "failed", error: "insufficient_funds" }, 100);
      assert.equal(await b.failedSince("eip155:84532", payer, "insufficient_funds", 50), true);
      assert.equal(await b.failedSince("eip155:84532", payer, "insufficient_funds", 101), false, "too long ago");
      assert.equal(await b.failedSince("eip155:8453", payer, "insufficient_funds", 0), false, "another network");
      assert.equal(await b.failedSince("eip155:84532", payer, "other", 0), false, "another reason");
    });

    it("lists receipts by user, golem, status and time, oldest first, paged after a receipt", async () => {
      const [a, b] = await make();
      await a.reserve(paymentFixture("l1", { userId: "usr_l", createdAt: 10 }));
      await a.reserve(paymentFixture("l2", { userId: "usr_l", golemId: "g1", createdAt: 20 }));
      await a.reserve(paymentFixture("l3", { userId: "usr_l", createdAt: 20 }));
      await a.reserve(paymentFixture("l4", { userId: "usr_other", createdAt: 15 }));
      await a.finish("l3", "accepted", 21);
      const ids = async (f: Parameters<PaymentLedger["list"]>[0]) => (await b.list(f)).map((r) => r.id);
      assert.deepEqual(await ids({ userId: "usr_l", limit: 10 }), ["l1", "l2", "l3"]);
      assert.deepEqual(await ids({ userId: "usr_l", limit: 2 }), ["l1", "l2"]);
      assert.deepEqual(await ids({ userId: "usr_l", after: { createdAt: 20, id: "l2" }, limit: 10 }), ["l3"], "ties broken by id");
      assert.deepEqual(await ids({ userId: "usr_l", golemId: "g1", limit: 10 }), ["l2"]);
      assert.deepEqual(await ids({ userId: "usr_l", status: "accepted", limit: 10 }), ["l3"]);
      assert.deepEqual(await ids({ from: 15, to: 20, limit: 10 }), ["l4"], "from included, to excluded");
      assert.deepEqual(await ids({ limit: 10 }), ["l1", "l4", "l2", "l3"]);
    });

    it("sums amounts by status and operation in a time window, and a key's spend that still counts", async () => {
      const [a, b] = await make();
      await a.reserve(paymentFixture("m1", { keyId: "k_m", amount: 1000, operation: "query", createdAt: 100 }));
      await a.reserve(paymentFixture("m2", { keyId: "k_m", amount: 2000, operation: "query", createdAt: 200 }));
      await a.reserve(paymentFixture("m3", { keyId: "k_m", amount: 500, operation: "snapshot", createdAt: 300 }));
      await a.reserve(paymentFixture("m4", { keyId: "k_m", amount: 7000, operation: "query", userId: "usr_2", createdAt: 300 }));
      await a.finish("m1", "accepted", 101);
      await a.finish("m2", "voided", 201);
      const cells = (await b.summary(0, 1000)).map((r) => [r.status, r.operation, r.amount, r.count]);
      assert.deepEqual(cells, [
        ["accepted", "query", 1000, 1],
        ["reserved", "query", 7000, 1],
        ["reserved", "snapshot", 500, 1],
        ["voided", "query", 2000, 1],
      ]);
      assert.deepEqual(
        (await b.summary(0, 1000, "usr_2")).map((r) => r.amount),
        [7000],
      );
      assert.deepEqual(await b.summary(301, 1000), []);
      assert.equal(await b.spent("k_m", 0), 8500, "voided left out");
      assert.equal(await b.spent("k_m", 250), 7500);
      assert.equal(await b.spent("k_none", 0), 0);
    });

    it("reserves within a key's caps atomically: of 10 concurrent payments of one key on two handles, a cap of 3 lets exactly 3 in", async () => {
      const [a, b] = await make();
      const caps = [{ since: 100, cap: 3 * 2000 }];
      const outcomes = await Promise.all(
        [...Array(10).keys()].map((i) =>
          (i % 2 ? a : b).reserveWithin(paymentFixture(`r${i}`, { keyId: "k_cap", nonce: `0x5${i}`, createdAt: 200 }), caps),
        ),
      );
      assert.equal(outcomes.filter((o) => o.kind === "reserved").length, 3);
      const capped = outcomes.filter((o) => o.kind === "capped");
      assert.equal(capped.length, 7);
      for (const o of capped) assert.deepEqual(o, { kind: "capped", index: 0, spent: 6000 });
      assert.equal(await a.spent("k_cap", 0), 6000, "a capped reserve writes nothing");
    });

    it("counts under a cap only the key's payments since its start that still count, and refuses a replay as one", async () => {
      const [a, b] = await make();
      await a.reserve(paymentFixture("old", { keyId: "k_w", nonce: "0x61", createdAt: 50 }));
      await a.reserve(paymentFixture("other", { keyId: "k_other", nonce: "0x62", createdAt: 200 }));
      await a.reserve(paymentFixture("void", { keyId: "k_w", nonce: "0x63", createdAt: 200 }));
      await a.finish("void", "voided", 201);
      const caps = [
        { since: 100, cap: 2000 },
        { since: 0, cap: 10_000 },
      ];
      assert.deepEqual(await b.reserveWithin(paymentFixture("w1", { keyId: "k_w", nonce: "0x64", createdAt: 300 }), caps), {
        kind: "reserved",
      });
      assert.deepEqual(await b.reserveWithin(paymentFixture("w2", { keyId: "k_w", nonce: "0x65", createdAt: 300 }), caps), {
        kind: "capped",
        index: 0,
        spent: 2000,
      });
      assert.deepEqual(await a.reserveWithin(paymentFixture("w3", { keyId: "k_w", nonce: "0x64", createdAt: 300 }), caps), {
        kind: "replayed",
      });
      assert.deepEqual(
        await a.reserveWithin(paymentFixture("w4", { keyId: "k_w", nonce: "0x66", createdAt: 300 }), [{ since: 0, cap: 5000 }]),
        {
          kind: "capped",
          index: 0,
          spent: 4000,
        },
      );
      assert.equal((await b.get("w1"))?.status, "reserved");
      assert.equal(await b.get("w2"), undefined);
    });

    it("accepts a top-up and credits it together, once: a late call, or one on a voided payment, credits nothing", async () => {
      const [a, b, credit] = await make();
      await a.reserve(paymentFixture("t1", { amount: 5000, operation: "credit_topup", purpose: "topup", userId: "usr_t", nonce: "0x71" }));
      await a.reserve(paymentFixture("t2", { amount: 7000, operation: "credit_topup", purpose: "topup", userId: "usr_t", nonce: "0x72" }));
      assert.equal(await b.acceptTopup("t1", { userId: "usr_t", amount: 5000, lowLine: 0 }, 10), 5000);
      assert.equal((await a.get("t1"))?.status, "accepted");
      assert.equal(await a.acceptTopup("t1", { userId: "usr_t", amount: 5000, lowLine: 0 }, 11), undefined, "twice: no second credit");
      await a.finish("t2", "voided", 12);
      assert.equal(await b.acceptTopup("t2", { userId: "usr_t", amount: 7000, lowLine: 0 }, 13), undefined);
      assert.equal(await credit.balance("usr_t"), 5000);
    });

    it("never leaves a top-up half done: when the credit cannot be written, the payment stays reserved", async () => {
      const [a, , credit] = await make();
      await a.reserve(paymentFixture("t3", { amount: 5000, operation: "credit_topup", purpose: "topup", userId: "usr_u", nonce: "0x73" }));
      // The credit write fails inside the step, after the payment's update (a user id no driver
      // binds as text, an amount past bigint), as a crash between the two writes would: the
      // outcome is both or neither, never one of them.
      const broken = { userId: {} as unknown as string, amount: 2 ** 63, lowLine: 0 };
      const threw = await a.acceptTopup("t3", broken, 10).then(
        () => false,
        () => true,
      );
      const status = (await a.get("t3"))?.status;
      if (threw) assert.equal(status, "reserved", "no accepted payment without its credit");
      else assert.equal(status, "accepted");
      assert.equal(await credit.balance("usr_u"), 0, "no credit to anyone else");
    });
  });
}
