import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { encrypt, rawPub, unwrap, wrap } from "../../src/testing/spec-escrow.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { paidPost } from "../../src/testing/x402-buyer.js";

const REF_A = "a".repeat(24);
const REF_B = "0123456789abcdef01234567";

/** A POST to `s` paid with `@x402/fetch`, with `headers` (the key, X-Styx-Buyer). */
function paid(s: TestServer, headers: Record<string, string>, path: string, body: unknown) {
  return paidPost(s.url + path, headers, body);
}

describe("an upstream's marketplace for a linked Styx's buyers (SPEC §17.2 item 4): a federate key buys for X-Styx-Buyer", () => {
  let facilitator: FakeFacilitator;
  let s: TestServer;
  let seller: { id: string; key: string };
  let fed: { id: string; key: string };
  let listingId: string;
  const buyerKeys = generateKeyPairSync("x25519");
  const pub = rawPub(buyerKeys.publicKey).toString("base64url");
  const as = (ref?: string) => ({ authorization: `Bearer ${fed.key}`, ...(ref ? { "x-styx-buyer": ref } : {}) });

  before(async () => {
    facilitator = await startFakeFacilitator();
    s = await startTestServer({
      persistent: true,
      env: {
        STYX_PRICING: "1",
        STYX_MARKETPLACE: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: "0x2222222222222222222222222222222222222222",
        STYX_X402_FACILITATOR_URL: facilitator.url,
      },
    });
    seller = await s.user();
    fed = await s.user(undefined, { scopes: ["federate"] });
    const plaintext = Buffer.from("a package for downstream buyers");
    const cek = randomBytes(32);
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: seller.key,
      raw: encrypt(plaintext, cek),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(put.status, 201, put.text);
    const cid = put.json.cid;
    const key = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    const l = await paid(s, { authorization: `Bearer ${seller.key}` }, "/v1/styx/marketplace/listings", {
      kind: "strategy",
      title: "Basis trades",
      description: "When the basis pays",
      preview: "basis trades in calm regimes",
      domain: "defi",
      price_usd: "0.01",
      entry_count: 1,
      content_cid: cid,
      content_size: plaintext.length + 28,
      content_b3: "0".repeat(64),
      escrow_kid: key.kid,
      escrow_wrapped_cek: wrap(cek, Buffer.from(key.public_key, "base64url"), cid),
      payout_address: "0x00000000000000000000000000000000000000b0",
    });
    assert.equal(l.status, 201, l.text);
    listingId = l.json.id;
  });
  after(async () => {
    await s.close();
    await facilitator.close();
  });

  const purchasePath = () => `/v1/styx/marketplace/listings/${listingId}/purchase`;

  it("refuses a federate key without a buyer reference, or with one that is not 24 hex, with 400 before any 402", async () => {
    for (const headers of [as(), as("A".repeat(24)), as("a".repeat(23)), as(`${"a".repeat(24)}0`)]) {
      const r = await s.request("POST", purchasePath(), { headers, body: { buyer_public_key: pub } });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, "STYX_VALIDATION");
      assert.equal(r.json.error.details[0].path, "x-styx-buyer");
    }
    const list = await s.request("GET", "/v1/styx/marketplace/purchases", { headers: as() });
    assert.equal(list.status, 400, "the buyer's own purchase list needs the buyer too");
  });

  it("refuses X-Styx-Buyer from a key without the federate scope: only a linked Styx speaks for another's users", async () => {
    const r = await s.request("GET", "/v1/styx/marketplace/purchases", { token: seller.key, headers: { "x-styx-buyer": REF_A } });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
  });

  it("keeps a federate key off every route but the buyer's: listing, payouts and the rest stay refused by scope", async () => {
    for (const [method, path] of [
      ["POST", "/v1/styx/marketplace/listings"],
      ["GET", "/v1/styx/marketplace/payouts"],
      ["GET", "/v1/styx/me"],
      ["GET", "/v1/styx/usage"],
    ] as const) {
      const r = await s.request(method, path, { headers: as(REF_A), ...(method === "POST" ? { body: {} } : {}) });
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
    }
  });

  it("refuses a golem id sent for a downstream's buyer (a downstream never sends its own)", async () => {
    const r = await s.request("POST", purchasePath(), { headers: as(REF_A), body: { buyer_public_key: pub, golem_id: "g1" } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.details[0].path, "/golem_id");
  });

  it("sells to two buyer references as two buyers: each buys once, sees only its own purchases, rates once", async () => {
    const a = await paid(s, as(REF_A), purchasePath(), { buyer_public_key: pub });
    assert.equal(a.status, 201, a.text);
    assert.equal(unwrap(a.json.wrapped_cek, buyerKeys.privateKey, a.json.content_cid).length, 32);
    const again = await s.request("POST", purchasePath(), { headers: as(REF_A), body: { buyer_public_key: pub } });
    assert.equal(again.status, 409, "bought once, per buyer reference");
    assert.equal(again.json.error.code, "STYX_ALREADY_PURCHASED");
    assert.equal(again.json.error.details.purchase_id, a.json.purchase_id);
    const b = await paid(s, as(REF_B), purchasePath(), { buyer_public_key: pub });
    assert.equal(b.status, 201, `another reference is another buyer: ${b.text}`);
    assert.notEqual(b.json.purchase_id, a.json.purchase_id);

    const listA = await s.request("GET", "/v1/styx/marketplace/purchases", { headers: as(REF_A) });
    assert.deepEqual(
      listA.json.purchases.map((p: { purchase_id: string }) => p.purchase_id),
      [a.json.purchase_id],
    );
    const crossed = await s.request("GET", `/v1/styx/marketplace/purchases/${a.json.purchase_id}`, { headers: as(REF_B) });
    assert.equal(crossed.status, 404, "one reference never reads another's purchase");
    const content = await s.request("GET", `/v1/styx/marketplace/purchases/${a.json.purchase_id}/content`, { headers: as(REF_B) });
    assert.equal(content.status, 404);
    const own = await fetch(`${s.url}/v1/styx/marketplace/purchases/${a.json.purchase_id}/content`, { headers: as(REF_A) });
    assert.equal(own.status, 200);
    const fedItself = await s.request("GET", "/v1/styx/marketplace/purchases", { token: fed.key, headers: { "x-styx-buyer": REF_B } });
    assert.equal(fedItself.json.purchases.length, 1);

    const rate = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, { headers: as(REF_A), body: { rating: 5 } });
    assert.equal(rate.status, 201, rate.text);
    const twice = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, {
      headers: as(REF_A),
      body: { rating: 1 },
    });
    assert.equal(twice.json.error.code, "STYX_ALREADY_RATED");
    const stranger = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, {
      headers: as("f".repeat(24)),
      body: { rating: 1 },
    });
    assert.equal(stranger.json.error.code, "STYX_NOT_A_BUYER");

    const rows = await s.sql(`SELECT buyer_user_id FROM market_purchases WHERE listing_id = '${listingId}' ORDER BY buyer_user_id`);
    assert.deepEqual(
      rows.map((r) => r.buyer_user_id),
      [`${fed.id}:${REF_B}`, `${fed.id}:${REF_A}`].sort(),
      "a downstream's buyer is keyed on (federation user, buyer reference)",
    );
  });

  it("erases the federation user from its downstream buyers' purchases and ratings, which stay two buyers", async () => {
    const asked = await s.request("DELETE", `/v1/admin/users/${fed.id}`, { token: s.adminToken });
    assert.equal(asked.status, 202, asked.text);
    await s.styx.tasks.runNow("erasure");
    assert.equal((await s.request("GET", `/v1/admin/erasures/${asked.json.id}`, { token: s.adminToken })).json.state, "done");
    const purchases = await s.sql(`SELECT buyer_user_id, wrapped_cek FROM market_purchases WHERE listing_id = '${listingId}'`);
    const ratings = await s.sql(`SELECT buyer_user_id, rating FROM market_ratings WHERE listing_id = '${listingId}'`);
    for (const r of [...purchases, ...ratings]) assert.ok(!String(r.buyer_user_id).includes(fed.id), JSON.stringify(r));
    assert.deepEqual(
      purchases.map((r) => r.wrapped_cek),
      ["", ""],
      "the wrapped keys are dropped",
    );
    assert.deepEqual(
      purchases.map((r) => String(r.buyer_user_id).slice(-25)).sort(),
      [`:${REF_B}`, `:${REF_A}`].sort(),
      "each downstream buyer keeps its reference after the alias: still two buyers",
    );
    assert.deepEqual(
      ratings.map((r) => [String(r.buyer_user_id).slice(-25), Number(r.rating)]),
      [[`:${REF_A}`, 5]],
    );
  });
});
