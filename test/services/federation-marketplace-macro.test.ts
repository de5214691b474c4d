import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodePaymentRequiredHeader } from "@x402/core/http";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { call, FEDERATION_ADMIN, FederationNode, federateKey, federationTenant } from "../../src/testing/federation-pair.js";
import { decrypt, encrypt, rawPub, unwrap, wrap } from "../../src/testing/spec-escrow.js";
import { paidPost } from "../../src/testing/x402-buyer.js";

const PAY_TO = "0x3333333333333333333333333333333333333333";
const tag = randomBytes(4).toString("hex");

/**
 * Issue 20 acceptance 1, SPEC §17.4 test 5 on micronode ↔ macronode: a U that is a macronode
 * gateway (PostgreSQL, NATS, Redis, S3) sells through x402; a golem of a micronode D buys U's
 * listing through D with `@x402/fetch`, paying U's payTo, and decrypts it; a D without the
 * marketplace flow answers 404 STYX_MARKETPLACE_DISABLED. (The micronode ↔ micronode case, with
 * buyers kept apart and U's rows searched for D's ids: test/integration/federation-marketplace.test.ts.)
 */
describe("federation, the marketplace flow with a macronode upstream (SPEC §17.4 test 5)", () => {
  const root = mkdtempSync(join(tmpdir(), "styx-fedmarket-macro-"));
  let facilitator: FakeFacilitator;
  let u: FederationNode;
  let d: FederationNode;
  let plain: FederationNode;
  let listingId: string;
  const plaintext = Buffer.from(`{"strategy":"macro-market-${tag} carry in calm regimes"}`);
  const cek = randomBytes(32);
  const buyer = generateKeyPairSync("x25519");
  const pub = rawPub(buyer.publicKey).toString("base64url");

  before(async () => {
    facilitator = await startFakeFacilitator();
    u = await FederationNode.create("u", "macro", join(root, "u"), {
      STYX_PRICING: "1",
      STYX_MARKETPLACE: "1",
      STYX_X402_NETWORK: "eip155:84532",
      STYX_X402_PAY_TO: PAY_TO,
      STYX_X402_FACILITATOR_URL: facilitator.url,
    });
    await u.start();
    const seller = await federationTenant(u, `seller-${tag}`);
    const put = await fetch(`${u.url}/v1/styx/blobs`, {
      method: "PUT",
      headers: { authorization: `Bearer ${seller.key}`, "content-type": "application/octet-stream" },
      body: encrypt(plaintext, cek),
    });
    assert.equal(put.status, 201, await put.clone().text());
    const cid = ((await put.json()) as { cid: string }).cid;
    const escrow = (await call(u.url, "GET", "/v1/styx/marketplace/escrow-key", seller.key)).json;
    const listed = await paidPost(
      `${u.url}/v1/styx/marketplace/listings`,
      { authorization: `Bearer ${seller.key}` },
      {
        kind: "strategy",
        title: "Carry",
        description: "When carry pays",
        preview: "carry in calm regimes",
        domain: "defi",
        price_usd: "0.1",
        entry_count: 1,
        content_cid: cid,
        content_size: plaintext.length + 28,
        content_b3: "0".repeat(64),
        escrow_kid: escrow.kid,
        escrow_wrapped_cek: wrap(cek, Buffer.from(escrow.public_key, "base64url"), cid),
        payout_address: "0x00000000000000000000000000000000000000b1",
      },
    );
    assert.equal(listed.status, 201, listed.text);
    listingId = listed.json.id;
    const key = await federateKey(u, `fed-${tag}`);
    const link = { STYX_UPSTREAM_URL: u.url, STYX_UPSTREAM_KEY: key };
    d = await FederationNode.create("d", "micro", join(root, "d"), { ...link, STYX_FEDERATE: "marketplace" });
    plain = await FederationNode.create("plain", "micro", join(root, "plain"), { ...link, STYX_FEDERATE: "pheromone" });
    await Promise.all([d.start(), plain.start()]);
  });

  after(async () => {
    await Promise.all([d?.destroy(), plain?.destroy(), u?.destroy()]);
    await facilitator?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("sells U's listing to a golem of D through D: U's offer, paid to U's payTo, decrypted by the buyer", async () => {
    const alice = await federationTenant(d, `alice-${tag}`);
    const path = `/v1/styx/marketplace/listings/${listingId}/purchase`;
    const offer = await fetch(`${d.url}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${alice.key}`, "content-type": "application/json" },
      body: JSON.stringify({ buyer_public_key: pub, golem_id: alice.golem }),
    });
    assert.equal(offer.status, 402, await offer.text());
    const required = decodePaymentRequiredHeader(offer.headers.get("payment-required") ?? "");
    assert.equal(required.accepts[0]?.payTo.toLowerCase(), PAY_TO, "the offer is U's: its payTo");
    assert.equal(required.accepts[0]?.amount, String(100_000 + 5_000), "price + ⌈5 %⌉");
    const bought = await paidPost(
      `${d.url}${path}`,
      { authorization: `Bearer ${alice.key}` },
      { buyer_public_key: pub, golem_id: alice.golem },
    );
    assert.equal(bought.status, 201, bought.text);
    const cekBack = unwrap(bought.json.wrapped_cek, buyer.privateKey, bought.json.content_cid);
    const content = await fetch(`${d.url}/v1/styx/marketplace/purchases/${bought.json.purchase_id}/content`, {
      headers: { authorization: `Bearer ${alice.key}` },
    });
    assert.equal(content.status, 200);
    assert.deepEqual(decrypt(Buffer.from(await content.arrayBuffer()), cekBack), plaintext);
  });

  it("answers 404 STYX_MARKETPLACE_DISABLED on a D without the marketplace flow", async () => {
    const r = await call(plain.url, "GET", "/v1/styx/marketplace/listings", FEDERATION_ADMIN);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "STYX_MARKETPLACE_DISABLED");
  });
});
