import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { x402Client } from "@x402/core/client";
import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { X402Facilitator } from "../../../src/adapters/http/x402-facilitator.js";
import { FacilitatorUnavailable } from "../../../src/core/payments/facilitator.js";
import { BASE_SEPOLIA } from "../../../src/core/payments/networks.js";
import { type FakeFacilitator, startFakeFacilitator } from "../../../src/testing/fake-facilitator.js";

const requirements: PaymentRequirements = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "1000",
  asset: BASE_SEPOLIA.asset,
  payTo: "0x3333333333333333333333333333333333333333",
  maxTimeoutSeconds: 300,
  extra: { name: "USDC", version: "2" },
};

/** A payment as the official client signs it. */
async function payment(): Promise<PaymentPayload> {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(generatePrivateKey()) });
  return client.createPaymentPayload({ x402Version: 2, resource: { url: "http://s/x" }, accepts: [requirements] });
}

describe("X402Facilitator (HTTPFacilitatorClient) against the fake facilitator", () => {
  let fake: FakeFacilitator;
  let outcomes: string[];
  let f: X402Facilitator;

  before(async () => {
    fake = await startFakeFacilitator({ token: "fac-token" });
    outcomes = [];
    f = new X402Facilitator({ url: fake.url, token: "fac-token", observe: (op, outcome) => outcomes.push(`${op}:${outcome}`) });
  });
  after(() => fake.close());

  it("verifies and settles a payment signed by the official client, the token sent", async () => {
    const p = await payment();
    assert.deepEqual(await f.verify(p, requirements), {
      isValid: true,
      payer: (p.payload as { authorization: { from: string } }).authorization.from,
    });
    const s = await f.settle(p, requirements);
    assert.equal(s.success, true);
    assert.match(s.transaction, /^0x[0-9a-f]{64}$/);
    assert.deepEqual(outcomes.splice(0), ["verify:ok", "settle:ok"]);
  });

  it("turns a verdict sent with a 4xx into an answer: a spent nonce, a refusal", async () => {
    const p = await payment();
    await f.settle(p, requirements);
    const again = await f.settle(p, requirements);
    assert.deepEqual([again.success, again.errorReason], [false, "invalid_exact_evm_nonce_already_used"]);
    assert.equal(fake.settleCalls.get((p.payload as { authorization: { nonce: string } }).authorization.nonce.toLowerCase()), 2);
    const wrong = await f.verify(p, { ...requirements, amount: "2000" });
    assert.deepEqual([wrong.isValid, wrong.invalidReason], [false, "invalid_exact_evm_payload_authorization_value_mismatch"]);
    fake.failNext("settle", { kind: "refuse", reason: "insufficient_funds" });
    const poor = await f.settle(await payment(), requirements);
    assert.deepEqual([poor.success, poor.errorReason], [false, "insufficient_funds"]);
  });

  it("throws FacilitatorUnavailable when there is no verdict (a 502, a facilitator down or gone)", async () => {
    fake.failNext("verify", { kind: "unavailable" });
    await assert.rejects(f.verify(await payment(), requirements), FacilitatorUnavailable);
    fake.down = true;
    await assert.rejects(f.settle(await payment(), requirements), FacilitatorUnavailable);
    fake.down = false;
    const gone = new X402Facilitator({ url: "http://127.0.0.1:9", timeoutMs: 2000 });
    await assert.rejects(gone.verify(await payment(), requirements), FacilitatorUnavailable);
    assert.ok(outcomes.includes("verify:unavailable") && outcomes.includes("settle:unavailable"));
  });

  it("refuses a caller without the facilitator's token (no verdict: unavailable)", async () => {
    const anonymous = new X402Facilitator({ url: fake.url });
    await assert.rejects(anonymous.verify(await payment(), requirements), FacilitatorUnavailable);
  });
});
