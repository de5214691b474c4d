import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import type { PaymentPayload, PaymentRequirements, VerifyResponse } from "@x402/core/types";
import { authorizationTypes } from "@x402/evm";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { X402TransferSignatures } from "../../../src/adapters/evm/x402-transfer-signatures.js";
import { MemoryPaymentLedger } from "../../../src/adapters/memory/memory-payment-ledger.js";
import { FacilitatorUnavailable } from "../../../src/core/payments/facilitator.js";
import { DEFAULT_PRICES } from "../../../src/core/payments/money.js";
import { BASE_SEPOLIA } from "../../../src/core/payments/networks.js";
import { readPayment } from "../../../src/core/payments/payload.js";
import { type PaidRequest, PaymentGate, REASONS } from "../../../src/core/payments/payment-gate.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import type { StyxError } from "../../../src/core/platform/errors.js";

await initCrypto();
const PAY_TO = "0x1111111111111111111111111111111111111111";
const NOW = 1_800_000_000_000;
const account = privateKeyToAccount(generatePrivateKey());
const REQUEST: PaidRequest = {
  operation: "query",
  units: 1,
  purpose: "request",
  url: "http://s/v1/styx/query",
  userId: "usr_1",
  keyId: "key_1",
  golemId: null,
};

let nonceSeq = 0;
/** A v2 payment of `amount` to `to`, signed by `account`, as @x402/evm's client builds it. */
async function signed(
  over: {
    amount?: string;
    to?: string;
    validAfter?: number;
    validBefore?: number;
    nonce?: string;
    accepted?: Partial<PaymentRequirements>;
  } = {},
) {
  const nowS = Math.floor(NOW / 1000);
  const authorization = {
    from: account.address,
    to: (over.to ?? PAY_TO) as `0x${string}`,
    value: over.amount ?? "2000",
    validAfter: String(over.validAfter ?? 0),
    validBefore: String(over.validBefore ?? nowS + 300),
    nonce: (over.nonce ?? `0x${(++nonceSeq).toString(16).padStart(64, "0")}`) as `0x${string}`,
  };
  const signature = await account.signTypedData({
    domain: { name: "USDC", version: "2", chainId: 84532, verifyingContract: BASE_SEPOLIA.asset as `0x${string}` },
    types: authorizationTypes,
    primaryType: "TransferWithAuthorization",
    message: {
      ...authorization,
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
    },
  });
  const accepted = {
    scheme: "exact",
    network: "eip155:84532",
    amount: "2000",
    asset: BASE_SEPOLIA.asset,
    payTo: PAY_TO,
    maxTimeoutSeconds: 300,
    extra: { name: "USDC", version: "2" },
    ...over.accepted,
  };
  return { x402Version: 2, accepted, payload: { signature, authorization } };
}

describe("PaymentGate (SPEC §11.2's checks in order)", () => {
  let ledger: MemoryPaymentLedger;
  let verifies: number;
  let verdict: VerifyResponse | Error;
  let gate: PaymentGate;
  const clock = new ManualClock(NOW);

  beforeEach(() => {
    ledger = new MemoryPaymentLedger();
    verifies = 0;
    verdict = { isValid: true };
    const facilitator = {
      async verify(_p: PaymentPayload, _r: PaymentRequirements) {
        verifies++;
        if (verdict instanceof Error) throw verdict;
        return verdict;
      },
      async settle(): Promise<never> {
        throw new Error("not in these tests");
      },
    };
    gate = new PaymentGate(
      { network: BASE_SEPOLIA, payTo: PAY_TO, prices: DEFAULT_PRICES, maxTimeoutSeconds: 300, minValiditySeconds: 120, verify: "local" },
      { ledger, facilitator, signatures: new X402TransferSignatures(new ViemSignatureVerifier()), clock },
    );
  });

  const admit = async (value: unknown, version: 1 | 2 = 2, request = REQUEST) => gate.admit(request, readPayment(version, value));

  it("offers the price in x402 v2 and v1 words", () => {
    const o = gate.offer("snapshot", "http://s/x");
    assert.deepEqual(o.v2.accepts, [
      {
        scheme: "exact",
        network: "eip155:84532",
        amount: "10000",
        asset: BASE_SEPOLIA.asset,
        payTo: PAY_TO,
        maxTimeoutSeconds: 300,
        extra: { name: "USDC", version: "2" },
      },
    ]);
    assert.equal(o.v1.accepts[0]?.network, "base-sepolia");
    assert.equal(o.v1.accepts[0]?.maxAmountRequired, "10000");
    assert.deepEqual(gate.details("pheromone_sense"), { operation: "pheromone_sense", price_usd: "0.0005", amount: "500" });
    assert.equal(gate.offer("entry_write", "http://s/b", 3).amount, 3000, "per unit");
  });

  it("admits an ordinary wallet's payment offline and reserves it once", async () => {
    const p = await signed();
    const a = await admit(p);
    assert.equal(a.kind, "admitted");
    assert.equal(verifies, 0, "no facilitator for a 65-byte signature");
    const id = a.kind === "admitted" ? a.payment.id : "";
    assert.equal((await ledger.get(id))?.status, "reserved");
    assert.equal((await ledger.get(id))?.payer, account.address.toLowerCase());
    await assert.rejects(admit(p), (e: StyxError) => e.code === "STYX_PAYMENT_REPLAYED");
  });

  it("accepts on success with a receipt, voids on failure without one", async () => {
    const a = await admit(await signed());
    assert.equal(a.kind, "admitted");
    if (a.kind !== "admitted") return;
    const receipt = await gate.finish(a.payment, true);
    assert.equal(receipt?.success, true);
    assert.equal(receipt?.amount, "2000");
    assert.deepEqual(receipt?.extensions, { styx: { payment_id: a.payment.id, status: "queued" } });
    assert.equal((await ledger.get(a.payment.id))?.status, "accepted");
    const b = await admit(await signed());
    if (b.kind !== "admitted") return assert.fail("admitted");
    assert.equal(await gate.finish(b.payment, false), undefined);
    assert.equal((await ledger.get(b.payment.id))?.status, "voided");
  });

  it("refuses, in order, with x402's reasons", async () => {
    const nowS = Math.floor(NOW / 1000);
    const cases: [unknown, string][] = [
      [await signed({ accepted: { scheme: "upto" } }), REASONS.scheme],
      [await signed({ accepted: { network: "eip155:8453" } }), REASONS.network],
      [await signed({ accepted: { amount: "1" } }), REASONS.requirements],
      [await signed({ accepted: { payTo: `0x${"2".repeat(40)}` } }), REASONS.requirements],
      [await signed({ accepted: { extra: { name: "USDC" } } }), REASONS.requirements],
      [await signed({ to: `0x${"3".repeat(40)}` }), REASONS.recipient],
      [await signed({ amount: "1999" }), REASONS.value],
      [await signed({ amount: "2001" }), REASONS.value],
      [await signed({ validAfter: nowS + 10 }), REASONS.validAfter],
      [await signed({ validBefore: nowS + 119 }), REASONS.validBefore],
    ];
    for (const [value, reason] of cases) assert.deepEqual(await admit(value), { kind: "invalid", reason }, reason);
    const forged = await signed();
    forged.payload.authorization.from = `0x${"4".repeat(40)}` as `0x${string}`;
    assert.deepEqual(await admit(forged), { kind: "invalid", reason: REASONS.signature });
    assert.equal((await ledger.pending()).count, 0);
  });

  it("lets `accepted.extra` add fields, and takes addresses in any case", async () => {
    const p = await signed({
      accepted: { extra: { name: "USDC", version: "2", more: 1 }, payTo: PAY_TO.toUpperCase().replace("0X", "0x") },
    });
    assert.equal((await admit(p)).kind, "admitted");
  });

  it("sends a smart wallet's signature to the facilitator, and maps its silence to 503", async () => {
    const p = await signed();
    p.payload.signature = `${p.payload.signature}${"ab".repeat(40)}` as `0x${string}`;
    assert.equal((await admit(p)).kind, "admitted");
    assert.equal(verifies, 1);
    const q = await signed();
    q.payload.signature = `${q.payload.signature}${"ab".repeat(40)}` as `0x${string}`;
    verdict = { isValid: false, invalidReason: "invalid_exact_evm_signature" };
    assert.deepEqual(await admit(q), { kind: "invalid", reason: "invalid_exact_evm_signature" });
    verdict = new FacilitatorUnavailable("verify", new Error("down"));
    await assert.rejects(admit(q), (e: StyxError) => e.code === "STYX_FACILITATOR_UNAVAILABLE");
    assert.equal((await ledger.pending()).count, 0);
  });

  it("takes an x402 v1 X-PAYMENT on the v1 network name", async () => {
    const p = await signed();
    const v1 = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: p.payload };
    const a = await admit(v1, 1);
    assert.equal(a.kind, "admitted");
    if (a.kind !== "admitted") return;
    assert.equal((await gate.finish(a.payment, true))?.network, "base-sepolia");
    assert.deepEqual(await admit({ ...v1, network: "eip155:84532", payload: (await signed()).payload }, 1), {
      kind: "invalid",
      reason: REASONS.network,
    });
  });

  it("refuses a payer whose settlement failed for funds in the last 24 h", async () => {
    const a = await admit(await signed());
    if (a.kind !== "admitted") return assert.fail("admitted");
    await gate.finish(a.payment, true);
    await ledger.claim(1, NOW);
    await ledger.resolve(a.payment.id, { status: "failed", error: "insufficient_funds" }, NOW);
    assert.deepEqual(await admit(await signed()), { kind: "invalid", reason: REASONS.payerBlocked });
  });
});

describe("readPayment: the payment header's fields", () => {
  it("refuses unknown fields, missing ones and bad values with 400 STYX_PAYMENT_MALFORMED naming the path", async () => {
    const good = await signed();
    const bad: [unknown, string][] = [
      [[], "/"],
      [{ ...good, extra: 1 }, "/extra"],
      [{ ...good, x402Version: 1 }, "/x402Version"],
      [{ ...good, payload: { ...good.payload, more: 1 } }, "/payload/more"],
      [{ ...good, payload: { ...good.payload, signature: "0x12" } }, "/payload/signature"],
      [
        { ...good, payload: { ...good.payload, authorization: { ...good.payload.authorization, value: "-1" } } },
        "/payload/authorization/value",
      ],
      [
        { ...good, payload: { ...good.payload, authorization: { ...good.payload.authorization, nonce: "0x1" } } },
        "/payload/authorization/nonce",
      ],
      [
        { ...good, payload: { ...good.payload, authorization: { ...good.payload.authorization, constructor: "x" } } },
        "/payload/authorization/constructor",
      ],
      [{ ...good, accepted: "exact" }, "/accepted"],
    ];
    for (const [value, path] of bad)
      assert.throws(
        () => readPayment(2, value),
        (e: StyxError) => e.code === "STYX_PAYMENT_MALFORMED" && (e.details as { path: string }[])[0]?.path === path,
        path,
      );
  });
});
