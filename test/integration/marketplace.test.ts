import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { createBLAKE3 } from "hash-wasm";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PAYMENT_TASKS } from "../../src/app/payments.js";
import type { SequencedEvent } from "../../src/core/fabric/event-bus.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { decrypt, encrypt, rawPub, unwrap, wrap } from "../../src/testing/spec-escrow.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const PAY_TO = "0x2222222222222222222222222222222222222222";
const MARKER = `plaintext-marker-${randomBytes(8).toString("hex")}`;

// SPEC §16.1's wrap, written here from the text with node:crypto's JWK import (not the server's code).
async function b3(data: Buffer): Promise<string> {
  const h = await createBLAKE3();
  h.init();
  h.update(data);
  return h.digest("hex");
}

/** `fetch` that pays with the official x402 client for the holder of `key`. */
function payingFetch(key: string) {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(generatePrivateKey()) });
  const inner = async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    req.headers.set("authorization", `Bearer ${key}`);
    return fetch(req);
  };
  return wrapFetchWithPayment(inner as typeof fetch, client);
}

async function paid(s: TestServer, key: string, path: string, body: unknown) {
  const r = await payingFetch(key)(s.url + path, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? JSON.parse(text) : undefined };
}

describe("marketplace off: every route answers 404 STYX_MARKETPLACE_DISABLED", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());
  it("refuses browse, the escrow key and admin payouts alike", async () => {
    for (const [m, p] of [
      ["GET", "/v1/styx/marketplace/listings"],
      ["GET", "/v1/styx/marketplace/escrow-key"],
      ["POST", "/v1/styx/marketplace/listings/lst_x/purchase"],
      ["GET", "/v1/admin/marketplace/payouts"],
    ] as const) {
      const r = await s.request(m, p);
      assert.equal(r.status, 404, p);
      assert.equal(r.json.error.code, "STYX_MARKETPLACE_DISABLED", p);
    }
    assert.equal((await s.request("GET", "/v1/admin/dashboard", { token: s.adminToken })).json.marketplace, null);
  });
});

describe("marketplace (SPEC §16): list encrypted, buy with @x402/fetch, decrypt, rate, settle, pay out", () => {
  let facilitator: FakeFacilitator;
  let s: TestServer;
  let seller: { id: string; key: string };
  let buyer: { id: string; key: string };
  let other: { id: string; key: string };
  let sellerGolem: string;
  let buyerGolem: string;
  const events: SequencedEvent[] = [];
  const plaintext = Buffer.from(`{"entries":[{"content":"${MARKER} funding rates lead liquidations"}]}`);
  const cek = randomBytes(32);
  let cid: string;
  let listingId: string;
  let purchase: Record<string, string>;
  const buyerKeys = generateKeyPairSync("x25519");

  before(async () => {
    facilitator = await startFakeFacilitator();
    s = await startTestServer({
      persistent: true,
      env: {
        STYX_PRICING: "1",
        STYX_MARKETPLACE: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: PAY_TO,
        STYX_X402_FACILITATOR_URL: facilitator.url,
        STYX_SETTLE_BATCH: "1",
      },
    });
    s.styx.bus.subscribe((e) => events.push(e));
    seller = await s.user();
    buyer = await s.user();
    other = await s.user();
    sellerGolem = (await s.golem(seller.key)).id;
    buyerGolem = (await s.golem(buyer.key)).id;
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: seller.key,
      raw: encrypt(plaintext, cek),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(put.status, 201, put.text);
    cid = put.json.cid;
  });
  after(async () => {
    await s.close();
    await facilitator.close();
  });

  /** Runs the settlement task until no accepted payment waits (a batch is one payment here). */
  const settleAll = async () => {
    for (let i = 0; i < 20 && ((await s.styx.storage.payments?.pending())?.count ?? 0) > 0; i++)
      await s.styx.tasks.runNow(PAYMENT_TASKS.settlement);
  };

  const listingBody = async (over: Record<string, unknown> = {}) => {
    const key = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    return {
      kind: "entries",
      title: "Funding-rate regimes",
      description: "What a golem learned about lending markets",
      preview: "funding rates lead liquidations by hours",
      domain: "defi.lending",
      price_usd: "0.500001",
      golem_id: sellerGolem,
      entry_count: 1,
      content_cid: cid,
      content_size: plaintext.length + 28,
      content_b3: await b3(plaintext),
      escrow_kid: key.kid,
      escrow_wrapped_cek: wrap(cek, Buffer.from(key.public_key, "base64url"), cid),
      payout_address: "0x00000000000000000000000000000000000000b0",
      ...over,
    };
  };

  it("refuses a wrap that does not open, unknown fields, and a foreign blob, before any payment", async () => {
    const bad = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: seller.key,
      body: await listingBody({ escrow_wrapped_cek: wrap(cek, rawPub(buyerKeys.publicKey), cid) }),
    });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.code, "STYX_ESCROW_INVALID");
    const otherCid = await listingBody({
      escrow_wrapped_cek: wrap(
        cek,
        Buffer.from((await s.request("GET", "/v1/styx/marketplace/escrow-key")).json.public_key, "base64url"),
        `b3:${"0".repeat(64)}`,
      ),
    });
    const aad = await s.request("POST", "/v1/styx/marketplace/listings", { token: seller.key, body: otherCid });
    assert.equal(aad.json.error?.code, "STYX_ESCROW_INVALID", "the cid is the wrap's associated data");
    const unknown = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: seller.key,
      body: { ...(await listingBody()), seller_id: "x" },
    });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json.error.code, "STYX_VALIDATION");
    const foreign = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: buyer.key,
      body: await listingBody({ golem_id: undefined }),
    });
    assert.equal(foreign.status, 404, "another user's blob is not found");
    const notDead = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: seller.key,
      body: await listingBody({ kind: "death_archive" }),
    });
    assert.equal(notDead.json.error.code, "STYX_GOLEM_NOT_DEAD");
  });

  it("lists through x402 (the listing price) and browses for free, with no id", async () => {
    const unpaid = await s.request("POST", "/v1/styx/marketplace/listings", { token: seller.key, body: await listingBody() });
    assert.equal(unpaid.status, 402);
    assert.equal(decodePaymentRequiredHeader(unpaid.headers.get("payment-required") ?? "").accepts[0]?.amount, "10000");
    const r = await paid(s, seller.key, "/v1/styx/marketplace/listings", await listingBody());
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.id, /^lst_/);
    assert.equal(r.json.total_usd, "0.525002", "price + ⌈5 %⌉ (25,000.05 → 25,001 atomic)");
    listingId = r.json.id;
    const browse = await s.request("GET", "/v1/styx/marketplace/listings?query=funding%20liquidations");
    assert.equal(browse.status, 200);
    const found = browse.json.listings.find((l: { id: string }) => l.id === listingId);
    assert.ok(found, browse.text);
    assert.match(found.seller.hash, /^[0-9a-f]{24}$/);
    for (const id of [seller.id, buyer.id, sellerGolem, buyerGolem]) assert.ok(!browse.text.includes(id), `browse shows ${id}`);
    const one = await s.request("GET", `/v1/styx/marketplace/listings/${listingId}`);
    assert.equal(one.status, 200);
    assert.ok(!one.text.includes(seller.id) && !one.text.includes(sellerGolem));
    const search = await s.request("POST", "/v1/styx/marketplace/listings/search", { body: { query: "funding", unknown: 1 } });
    assert.equal(search.status, 400, "unknown fields are refused");
  });

  it("sells at price + fee through @x402/fetch; the buyer unwraps, downloads and decrypts the exact bytes", async () => {
    const own = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      token: seller.key,
      body: { buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url") },
    });
    assert.equal(own.status, 409);
    assert.equal(own.json.error.code, "STYX_OWN_LISTING");
    const offer = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      token: buyer.key,
      body: { buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url") },
    });
    assert.equal(offer.status, 402);
    assert.equal(decodePaymentRequiredHeader(offer.headers.get("payment-required") ?? "").accepts[0]?.amount, String(500_001 + 25_001));
    const r = await paid(s, buyer.key, `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url"),
      golem_id: buyerGolem,
    });
    assert.equal(r.status, 201, r.text);
    purchase = r.json;
    assert.deepEqual([r.json.price_usd, r.json.fee_usd], ["0.500001", "0.025001"]);
    const receipt = decodePaymentResponseHeader(r.headers.get("payment-response") ?? "");
    assert.equal(receipt.amount, "525002", "paid = price + fee");
    const [row] = await s.sql(`SELECT amount, purpose FROM payments WHERE id = '${r.json.payment_id}'`);
    assert.deepEqual([Number(row.amount), row.purpose], [525_002, "purchase"]);
    const key = unwrap(r.json.wrapped_cek, buyerKeys.privateKey, r.json.content_cid);
    const content = await fetch(`${s.url}/v1/styx/marketplace/purchases/${r.json.purchase_id}/content`, {
      headers: { authorization: `Bearer ${buyer.key}` },
    });
    assert.equal(content.status, 200);
    const bytes = decrypt(Buffer.from(await content.arrayBuffer()), key);
    assert.deepEqual(bytes, plaintext);
    assert.equal(await b3(bytes), r.json.content_b3);
    const again = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      token: buyer.key,
      body: { buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url") },
    });
    assert.equal(again.status, 409, "before any 402");
    assert.equal(again.json.error.details.purchase_id, r.json.purchase_id);
    const listed = await s.request("GET", "/v1/styx/marketplace/purchases", { token: buyer.key });
    assert.equal(listed.json.purchases[0].purchase_id, r.json.purchase_id);
    const theirs = await s.request("GET", `/v1/styx/marketplace/purchases/${r.json.purchase_id}`, { token: other.key });
    assert.equal(theirs.status, 404, "another user's purchase is not found");
  });

  it("lets only buyers rate, once", async () => {
    const stranger = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, {
      token: other.key,
      body: { rating: 5 },
    });
    assert.equal(stranger.json.error.code, "STYX_NOT_A_BUYER");
    const r = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, {
      token: buyer.key,
      body: { rating: 4, comment: "sharp" },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { rating: { avg: 4, count: 1 } });
    const twice = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, { token: buyer.key, body: { rating: 1 } });
    assert.equal(twice.json.error.code, "STYX_ALREADY_RATED");
  });

  it("makes the price payable once settled, and a due payout the operator records once", async () => {
    const before = (await s.request("GET", "/v1/styx/marketplace/payouts", { token: seller.key })).json;
    assert.equal(before.pending_usd, "0.500001");
    await settleAll();
    const settled = (await s.request("GET", "/v1/styx/marketplace/payouts", { token: seller.key })).json;
    assert.deepEqual([settled.pending_usd, settled.payable_usd], ["0", "0.500001"]);
    assert.ok(!JSON.stringify(settled).includes(buyer.id), "a seller never learns who bought");
    await s.styx.tasks.runNow("marketplace-payouts");
    const due = await s.request("GET", "/v1/admin/marketplace/payouts?status=due", { token: s.adminToken });
    assert.equal(due.status, 200);
    // Below the threshold and before the interval: nothing due yet.
    assert.equal(due.json.payouts.length, 0);
  });

  it("withdraws: 410 for new buyers, while the buyer still downloads", async () => {
    const w = await s.request("DELETE", `/v1/styx/marketplace/listings/${listingId}`, { token: seller.key });
    assert.equal(w.status, 200, w.text);
    const gone = await s.request("POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      token: other.key,
      body: { buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url") },
    });
    assert.equal(gone.status, 410);
    assert.equal(gone.json.error.code, "STYX_LISTING_GONE");
    const browse = await s.request("GET", "/v1/styx/marketplace/listings");
    assert.ok(!browse.text.includes(listingId));
    const content = await fetch(`${s.url}/v1/styx/marketplace/purchases/${purchase.purchase_id}/content`, {
      headers: { authorization: `Bearer ${buyer.key}`, range: "bytes=0-9" },
    });
    assert.equal(content.status, 206);
    assert.equal((await content.arrayBuffer()).byteLength, 10);
  });

  it("revokes the purchase and the payable when the payment fails to settle", async () => {
    const l = await paid(s, seller.key, "/v1/styx/marketplace/listings", await listingBody({ title: "second" }));
    assert.equal(l.status, 201, l.text);
    await settleAll();
    const r = await paid(s, other.key, `/v1/styx/marketplace/listings/${l.json.id}/purchase`, {
      buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url"),
    });
    assert.equal(r.status, 201, r.text);
    facilitator.failNext("settle", { kind: "refuse", reason: "insufficient_funds" });
    await settleAll();
    const gone = await s.request("GET", `/v1/styx/marketplace/purchases/${r.json.purchase_id}`, { token: other.key });
    assert.equal(gone.status, 404, "a revoked purchase is gone");
    const rate = await s.request("POST", `/v1/styx/marketplace/listings/${l.json.id}/ratings`, { token: other.key, body: { rating: 5 } });
    assert.equal(rate.json.error.code, "STYX_NOT_A_BUYER");
    const ledger = (await s.request("GET", "/v1/styx/marketplace/payouts", { token: seller.key })).json;
    assert.deepEqual([ledger.pending_usd, ledger.payable_usd], ["0", "0.500001"], "only the settled sale is owed");
  });

  it("documents every marketplace route in /docs/json: a 4xx answer each, no unknown body field", async () => {
    const doc = (await s.request("GET", "/docs/json")).json;
    const routes = s.styx.app.styxRoutes.filter((r) => r.url.includes("/marketplace"));
    assert.ok(routes.length >= 15, `${routes.length} marketplace routes`);
    for (const r of routes) {
      const op = doc.paths[r.url.replace(/:([a-z_]+)/g, "{$1}")]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} documented`);
      assert.ok(
        Object.keys(op.responses).some((c) => c.startsWith("4")),
        `${r.method} ${r.url}: a 4xx`,
      );
      if (r.method === "POST") assert.equal(op.requestBody.content["application/json"].schema.additionalProperties, false, r.url);
    }
  });

  it("counts listings, sales and fees on the dashboard's marketplace panel", async () => {
    const d = await s.request("GET", "/v1/admin/dashboard", { token: s.adminToken });
    assert.equal(d.status, 200, d.text);
    assert.deepEqual(d.json.marketplace, {
      active_listings: 1,
      sales: 1,
      volume_usd: "0.500001",
      fees_usd: "0.025001",
      due_payouts: 0,
      due_usd: "0",
    });
  });

  it("leaves neither the plaintext marker nor the CEK in any row, blob or event; events name no buyer", async () => {
    const forms = [MARKER, cek.toString("hex"), cek.toString("base64"), cek.toString("base64url")];
    const tables =
      s.profile === "micro"
        ? (await s.sql("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name as string)
        : (await s.sql("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")).map(
            (r) => r.name as string,
          );
    assert.ok(tables.includes("market_listings"));
    for (const t of tables) {
      const rows = JSON.stringify(await s.sql(`SELECT * FROM "${t}"`));
      for (const f of forms) assert.ok(!rows.includes(f), `table ${t} holds a secret form`);
    }
    if (s.dataDir) {
      const walk = (d: string): string[] =>
        readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
      for (const f of walk(s.dataDir)) {
        const bytes = readFileSync(f);
        for (const form of forms) assert.equal(bytes.indexOf(Buffer.from(form)), -1, `${f} holds a secret form`);
        assert.equal(bytes.indexOf(cek), -1, `${f} holds the raw CEK`);
      }
    }
    const market = events.filter((e) => e.channel.startsWith("styx:marketplace:"));
    assert.ok(market.some((e) => e.channel === "styx:marketplace:listed"));
    assert.ok(market.some((e) => e.channel === "styx:marketplace:sold"));
    assert.ok(market.some((e) => e.channel === "styx:marketplace:rated"));
    for (const e of market) {
      for (const f of forms) assert.ok(!e.payloadJson.includes(f));
      for (const id of [buyer.id, other.id, buyerGolem]) assert.ok(!e.payloadJson.includes(id), `${e.channel} names a buyer`);
      if (!e.stream.startsWith("user:"))
        for (const id of [seller.id, sellerGolem]) assert.ok(!e.payloadJson.includes(id), `${e.channel} names the seller`);
    }
  });
  let seeded: string[] = [];

  it("refuses the 101st active listing with 409 STYX_LISTING_LIMIT before any 402 or payment (SPEC §16.1)", async () => {
    // `other` holds the same package (a blob of its own) and 100 active listings, written through the real store.
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: other.key,
      raw: encrypt(plaintext, cek),
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(put.status, 201, put.text);
    const template = await s.styx.storage.marketplace.getListing(listingId);
    assert.ok(template);
    const now = Date.now();
    seeded = [];
    for (let i = 0; i < 100; i++) {
      const id = `lst_seed${String(i).padStart(4, "0")}${randomBytes(4).toString("hex")}`;
      const refused = await s.styx.storage.marketplace.createListing(
        {
          ...template,
          id,
          userId: other.id,
          golemId: null,
          status: "active",
          createdAt: now,
          expiresAt: now + 86_400_000,
          endedAt: null,
          purgedAt: null,
          sales: 0,
          ratingSum: 0,
          ratingCount: 0,
        },
        100,
      );
      assert.equal(refused, undefined);
      seeded.push(id);
    }
    const ownCid = put.json.cid as string;
    const escrowKey = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    const ownBody = () =>
      listingBody({
        golem_id: undefined,
        content_cid: ownCid,
        escrow_wrapped_cek: wrap(cek, Buffer.from(escrowKey.public_key, "base64url"), ownCid),
      });
    const verifies = facilitator.calls.verify;
    const payments = JSON.stringify(await s.sql("SELECT * FROM payments"));
    const unpaid = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: other.key,
      body: await ownBody(),
    });
    assert.equal(unpaid.status, 409, unpaid.text);
    assert.equal(unpaid.json.error.code, "STYX_LISTING_LIMIT");
    assert.equal(unpaid.headers.get("payment-required"), null, "no offer comes with the refusal");
    // A paying client sees the same refusal: nothing to pay, nothing verified, no payment row.
    const r = await paid(s, other.key, "/v1/styx/marketplace/listings", await ownBody());
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, "STYX_LISTING_LIMIT");
    assert.equal(facilitator.calls.verify, verifies, "no payment was verified");
    assert.equal(JSON.stringify(await s.sql("SELECT * FROM payments")), payments, "no payment was recorded");
    // One withdrawn frees a slot: the same body now gets its 402.
    assert.equal((await s.request("DELETE", `/v1/styx/marketplace/listings/${seeded[0]}`, { token: other.key })).status, 200);
    const again = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: other.key,
      body: await ownBody(),
    });
    assert.equal(again.status, 402, again.text);
  });

  it("lets a golem credential list its golem's entries and buy; death archives, other golems and the seller's money need the owner (SPEC §16.1)", async () => {
    const mint = async (userId: string, golemId: string) => {
      const k = await s.request("POST", `/v1/admin/users/${userId}/keys`, {
        token: s.adminToken,
        body: { name: `g-${golemId}`, golem_id: golemId },
      });
      assert.equal(k.status, 201, k.text);
      return k.json.key as string;
    };
    const sellerGolemKey = await mint(seller.id, sellerGolem);
    const buyerGolemKey = await mint(buyer.id, buyerGolem);
    const secondGolem = (await s.golem(seller.key)).id;
    const secondBuyerGolem = (await s.golem(buyer.key)).id;
    // Allowed: its own golem's entries (implicitly, or naming it), up to the 402.
    for (const over of [{ golem_id: undefined }, { golem_id: sellerGolem }, { kind: "strategy", golem_id: undefined }]) {
      const r = await s.request("POST", "/v1/styx/marketplace/listings", { token: sellerGolemKey, body: await listingBody(over) });
      assert.equal(r.status, 402, `${JSON.stringify(over)}: ${r.text}`);
    }
    // Refused: a death archive (owner only), and another golem's entries.
    const death = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: sellerGolemKey,
      body: await listingBody({ kind: "death_archive" }),
    });
    assert.equal(death.status, 403, death.text);
    assert.equal(death.json.error.code, "STYX_AUTH_FORBIDDEN");
    const foreignGolem = await s.request("POST", "/v1/styx/marketplace/listings", {
      token: sellerGolemKey,
      body: await listingBody({ golem_id: secondGolem }),
    });
    assert.ok([403, 404].includes(foreignGolem.status), foreignGolem.text);
    assert.equal(foreignGolem.headers.get("payment-required"), null);
    // Payouts and sales (the seller's money) are the owner's.
    const money = await s.request("GET", "/v1/styx/marketplace/payouts", { token: sellerGolemKey });
    assert.equal(money.status, 403, money.text);
    assert.equal(money.json.error.code, "STYX_AUTH_FORBIDDEN");
    assert.equal((await s.request("GET", "/v1/styx/marketplace/payouts", { token: seller.key })).status, 200);
    // Buying: allowed for its own golem (up to the 402), refused for another golem of the owner.
    const target = seeded[1] as string;
    const pub = rawPub(buyerKeys.publicKey).toString("base64url");
    const buy = await s.request("POST", `/v1/styx/marketplace/listings/${target}/purchase`, {
      token: buyerGolemKey,
      body: { buyer_public_key: pub },
    });
    assert.equal(buy.status, 402, buy.text);
    const buyOther = await s.request("POST", `/v1/styx/marketplace/listings/${target}/purchase`, {
      token: buyerGolemKey,
      body: { buyer_public_key: pub, golem_id: secondBuyerGolem },
    });
    assert.ok([403, 404].includes(buyOther.status), buyOther.text);
    assert.equal(buyOther.headers.get("payment-required"), null);
    // A golem credential withdraws only its own golem's listings.
    const del = await s.request("DELETE", `/v1/styx/marketplace/listings/${seeded[2]}`, {
      token: await mint(other.id, (await s.golem(other.key)).id),
    });
    assert.equal(del.status, 404, del.text);
  });
  it("exports a user's listings, purchases and ratings; erasure ends the seller's listings and keeps the money's records under an alias (SPEC §3, §16)", async () => {
    const sellerE = await s.user();
    const buyerE = await s.user();
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: sellerE.key,
      raw: encrypt(plaintext, cek),
      headers: { "content-type": "application/octet-stream" },
    });
    const eCid = put.json.cid as string;
    const key = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    const body = await listingBody({
      golem_id: undefined,
      content_cid: eCid,
      escrow_wrapped_cek: wrap(cek, Buffer.from(key.public_key, "base64url"), eCid),
      payout_address: "0x00000000000000000000000000000000000000e5",
    });
    const listed = await paid(s, sellerE.key, "/v1/styx/marketplace/listings", body);
    assert.equal(listed.status, 201, listed.text);
    const lid = listed.json.id as string;
    const bought = await paid(s, buyerE.key, `/v1/styx/marketplace/listings/${lid}/purchase`, {
      buyer_public_key: rawPub(buyerKeys.publicKey).toString("base64url"),
    });
    assert.equal(bought.status, 201, bought.text);
    // Letters only: the public pipeline rewrites digit runs in a comment (a number becomes a range).
    const comment = `erasable-comment-${randomBytes(6)
      .toString("hex")
      .replace(/[0-9]/g, (d) => "ghijklmnop"[Number(d)] as string)}`;
    const rated = await s.request("POST", `/v1/styx/marketplace/listings/${lid}/ratings`, {
      token: buyerE.key,
      body: { rating: 4, comment },
    });
    assert.equal(rated.status, 201, rated.text);
    await settleAll();
    const exported = async (k: string) => {
      const r = await s.request("GET", "/v1/styx/export", { token: k });
      assert.equal(r.status, 200, r.text);
      return r.text
        .trimEnd()
        .split("\n")
        .map((l: string) => JSON.parse(l));
    };
    const sellerLines = await exported(sellerE.key);
    const mine = sellerLines.find((l) => l.type === "listing");
    assert.equal(mine?.id, lid);
    assert.equal(mine?.status, "active");
    assert.equal(mine?.escrow_wrapped_cek, undefined, "the escrow wrap is not exported");
    const buyerLines = await exported(buyerE.key);
    assert.equal(buyerLines.find((l) => l.type === "purchase")?.id, bought.json.purchase_id);
    assert.equal(buyerLines.find((l) => l.type === "purchase")?.wrapped_cek, bought.json.wrapped_cek);
    assert.deepEqual(
      buyerLines.filter((l) => l.type === "rating").map((l) => [l.listing_id, l.rating, l.comment]),
      [[lid, 4, comment]],
    );
    assert.equal(buyerLines.filter((l) => l.type === "listing").length, 0, "a buyer has no listing");

    const erase = async (id: string) => {
      const asked = await s.request("DELETE", `/v1/admin/users/${id}`, { token: s.adminToken });
      assert.equal(asked.status, 202, asked.text);
      await s.styx.tasks.runNow("erasure");
      const r = await s.request("GET", `/v1/admin/erasures/${asked.json.id}`, { token: s.adminToken });
      assert.equal(r.json.state, "done", r.text);
    };
    const tables =
      s.profile === "micro"
        ? (await s.sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'")).map(
            (r) => r.name as string,
          )
        : (await s.sql("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")).map(
            (r) => r.name as string,
          );
    // Audit records and the payments ledger stay by design (SPEC §3).
    const naming = async (needle: string) => {
      const found: string[] = [];
      for (const t of tables) {
        if (t === "audit_log" || t === "payments") continue;
        for (const row of await s.sql(`SELECT * FROM "${t}"`)) {
          const text = JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? "" : v));
          if (text.includes(needle)) found.push(`${t}: ${text.slice(0, 160)}`);
        }
      }
      return found;
    };
    await erase(buyerE.id);
    assert.deepEqual(await naming(buyerE.id), []);
    assert.deepEqual(await naming(comment), [], "the erased buyer's comment is gone");
    const [p] = await s.sql(`SELECT * FROM market_purchases WHERE id = '${bought.json.purchase_id}'`);
    assert.ok(p, "the purchase stays: the seller is owed its price");
    assert.match(String(p.buyer_user_id), /^erased-/);
    assert.equal(p.wrapped_cek, "", "the erased buyer's wrapped key is dropped");
    assert.equal(p.state, "payable");
    const shown = await s.request("GET", `/v1/styx/marketplace/listings/${lid}`);
    assert.equal(shown.json.rating.count, 1, "the stars stay in the listing's average");
    assert.deepEqual(
      shown.json.ratings.map((r: { rating: number; comment: string | null }) => [r.rating, r.comment]),
      [[4, null]],
    );

    await erase(sellerE.id);
    assert.deepEqual(await naming(sellerE.id), []);
    assert.equal((await s.request("GET", `/v1/styx/marketplace/listings/${lid}`)).status !== 200, true, "the listing no longer shows");
    const [l] = await s.sql(`SELECT * FROM market_listings WHERE id = '${lid}'`);
    assert.equal(l?.status, "withdrawn");
    assert.equal(l?.escrow_wrapped_cek, null, "the escrow wrap is purged");
    assert.notEqual(l?.purged_at, null);
    assert.equal(await s.styx.storage.blobs.stat(sellerE.id, eCid), undefined, "the ciphertext went with the seller's blobs");
    const [after] = await s.sql(`SELECT * FROM market_purchases WHERE id = '${bought.json.purchase_id}'`);
    assert.match(String(after?.seller_user_id), /^erased-/);
    assert.equal(after?.payout_address, "0x00000000000000000000000000000000000000e5", "still owed at its payout address");
    assert.equal(after?.state, "payable");
  });
});

describe("marketplace expiry and purge (SPEC §16.2–16.3)", () => {
  let facilitator: FakeFacilitator;
  let s: TestServer;
  const clock = new ManualClock(Date.now());
  const events: SequencedEvent[] = [];

  before(async () => {
    facilitator = await startFakeFacilitator();
    s = await startTestServer({
      persistent: true,
      clock,
      env: {
        STYX_PRICING: "1",
        STYX_MARKETPLACE: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: PAY_TO,
        STYX_X402_FACILITATOR_URL: facilitator.url,
      },
    });
    s.styx.bus.subscribe((e) => events.push(e));
  });
  after(async () => {
    await s.close();
    await facilitator.close();
  });

  it("answers 410 after the TTL while the buyer still downloads and rates; purges the package after the retention", async () => {
    const seller = await s.user();
    const buyer = await s.user();
    const late = await s.user();
    const plaintext = Buffer.from(`expiring ${MARKER}`);
    const cek = randomBytes(32);
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: seller.key,
      raw: encrypt(plaintext, cek),
      headers: { "content-type": "application/octet-stream" },
    });
    const cid = put.json.cid as string;
    const escrow = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    const listed = await paid(s, seller.key, "/v1/styx/marketplace/listings", {
      kind: "strategy",
      title: "An hour of edge",
      description: "short-lived",
      preview: "expires soon",
      domain: "defi.perps",
      price_usd: "0.01",
      entry_count: 0,
      content_cid: cid,
      content_size: plaintext.length + 28,
      content_b3: await b3(plaintext),
      escrow_kid: escrow.kid,
      escrow_wrapped_cek: wrap(cek, Buffer.from(escrow.public_key, "base64url"), cid),
      ttl_seconds: 3600,
      payout_address: "0x00000000000000000000000000000000000000b1",
    });
    assert.equal(listed.status, 201, listed.text);
    const id = listed.json.id as string;
    const keys = generateKeyPairSync("x25519");
    const bought = await paid(s, buyer.key, `/v1/styx/marketplace/listings/${id}/purchase`, {
      buyer_public_key: rawPub(keys.publicKey).toString("base64url"),
    });
    assert.equal(bought.status, 201, bought.text);

    clock.advance(2 * 3_600_000);
    const gone = await s.request("POST", `/v1/styx/marketplace/listings/${id}/purchase`, {
      token: late.key,
      body: { buyer_public_key: rawPub(keys.publicKey).toString("base64url") },
    });
    assert.equal(gone.status, 410, "expired, refused before any 402");
    assert.equal((await s.request("GET", `/v1/styx/marketplace/listings/${id}`)).status, 404, "only active listings show");
    const download = async () =>
      fetch(`${s.url}/v1/styx/marketplace/purchases/${bought.json.purchase_id}/content`, {
        headers: { authorization: `Bearer ${buyer.key}` },
      });
    const content = await download();
    assert.equal(content.status, 200);
    assert.deepEqual(decrypt(Buffer.from(await content.arrayBuffer()), unwrap(bought.json.wrapped_cek, keys.privateKey, cid)), plaintext);
    const rated = await s.request("POST", `/v1/styx/marketplace/listings/${id}/ratings`, { token: buyer.key, body: { rating: 5 } });
    assert.equal(rated.status, 201, "buyers rate, expiry or not");

    await s.styx.tasks.runNow("marketplace-expiry");
    const expired = events.filter((e) => e.channel === "styx:marketplace:expired");
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.stream, `user:${seller.id}`);
    const held = await s.request("DELETE", `/v1/styx/blobs/${cid}`, { token: seller.key });
    assert.equal(held.status, 409, "the listing holds its blob until the purge");

    clock.advance(91 * 86_400_000);
    await s.styx.tasks.runNow("marketplace-purge");
    assert.equal((await download()).status, 404, "purged after the retention");
    const [row] = await s.sql(`SELECT escrow_wrapped_cek FROM market_listings WHERE id = '${id}'`);
    assert.equal(row.escrow_wrapped_cek, null);
    assert.equal(
      (await s.request("GET", `/v1/styx/blobs/${cid}`, { token: seller.key })).status,
      404,
      "the seller's reference was released",
    );
  });
});
