import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from "@x402/core/http";
import Database from "better-sqlite3";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { type SpawnedServer, spawnServer } from "../../src/testing/spawn.js";
import { decrypt, encrypt, rawPub, unwrap, wrap } from "../../src/testing/spec-escrow.js";
import { startTestServer } from "../../src/testing/test-server.js";
import { type PaidAnswer, paidPost } from "../../src/testing/x402-buyer.js";

const ADMIN = "fedmarket-admin-token-0123456789";
const PAY_TO = "0x2222222222222222222222222222222222222222";
const tag = randomBytes(4).toString("hex");

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Answer = { status: number; headers: Headers; text: string; json: any };

/** One request to `server` with `token` (a JSON body when given). */
async function call(server: { url: string }, method: string, path: string, token?: string, body?: unknown): Promise<Answer> {
  const r = await fetch(server.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, text, json };
}

/** A POST to `server` paid with `@x402/fetch` for the holder of `token`. */
function paid(server: { url: string }, token: string, path: string, body: unknown): Promise<PaidAnswer> {
  return paidPost(server.url + path, { authorization: `Bearer ${token}` }, body);
}

/** A user with a key on `server` (the key's scopes and golem, if given); returns the user id, key id and key. */
async function user(server: { url: string }, id: string, key: Record<string, unknown> = {}) {
  const u = await call(server, "POST", "/v1/admin/users", ADMIN, { id });
  assert.equal(u.status, 201, u.text);
  const k = await call(server, "POST", `/v1/admin/users/${id}/keys`, ADMIN, { name: "k", ...key });
  assert.equal(k.status, 201, k.text);
  return { id, keyId: k.json.id as string, key: k.json.key as string };
}

/** Every row of every table of a SQLite file, as text (blobs as latin1), to search for ids. */
function everyRow(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    const out: string[] = [];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[])
        out.push(
          Object.values(row)
            .map((v) => (Buffer.isBuffer(v) ? v.toString("latin1") : String(v)))
            .join("\u0001"),
        );
    }
    return out.join("\n");
  } finally {
    db.close();
  }
}

describe("federation, the marketplace flow (SPEC §17.2 item 4, §17.4 test 5): D's users buy U's listings through D", () => {
  const root = mkdtempSync(join(tmpdir(), "styx-fedmarket-"));
  let facilitator: FakeFacilitator;
  let u: SpawnedServer;
  let d: SpawnedServer;
  let fed: { id: string; keyId: string; key: string };
  let alice: { id: string; keyId: string; key: string };
  let bob: { id: string; keyId: string; key: string };
  let aliceGolem: string;
  let golemKey: { keyId: string; key: string };
  let listingId: string;
  let alicePurchase: PaidAnswer;
  const plaintext = Buffer.from(`{"strategy":"fedmarket-marker-${tag} basis trades in calm regimes"}`);
  const cek = randomBytes(32);
  const buyerKeys = generateKeyPairSync("x25519");
  const pub = rawPub(buyerKeys.publicKey).toString("base64url");

  before(async () => {
    facilitator = await startFakeFacilitator();
    u = await spawnServer([], {
      env: {
        STYX_DATA_DIR: join(root, "u"),
        STYX_ADMIN_TOKEN: ADMIN,
        STYX_PRICING: "1",
        STYX_MARKETPLACE: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: PAY_TO,
        STYX_X402_FACILITATOR_URL: facilitator.url,
      },
    });
    // U issues D a federate key; a U seller lists a package.
    fed = await user(u, `fed-${tag}`, { scopes: ["federate"] });
    const seller = await user(u, `seller-${tag}`);
    const put = await fetch(`${u.url}/v1/styx/blobs`, {
      method: "PUT",
      headers: { authorization: `Bearer ${seller.key}`, "content-type": "application/octet-stream" },
      body: encrypt(plaintext, cek),
    });
    assert.equal(put.status, 201, await put.clone().text());
    const cid = ((await put.json()) as { cid: string }).cid;
    const escrow = (await call(u, "GET", "/v1/styx/marketplace/escrow-key")).json;
    const listed = await paid(u, seller.key, "/v1/styx/marketplace/listings", {
      kind: "strategy",
      title: "Basis trades",
      description: "When the basis pays, and when it does not",
      preview: "basis trades in calm regimes",
      domain: "defi",
      price_usd: "0.2",
      entry_count: 1,
      content_cid: cid,
      content_size: plaintext.length + 28,
      content_b3: "0".repeat(64),
      escrow_kid: escrow.kid,
      escrow_wrapped_cek: wrap(cek, Buffer.from(escrow.public_key, "base64url"), cid),
      payout_address: "0x00000000000000000000000000000000000000b0",
    });
    assert.equal(listed.status, 201, listed.text);
    listingId = listed.json.id;

    d = await spawnServer(["--amnesia"], {
      env: {
        STYX_ADMIN_TOKEN: ADMIN,
        STYX_UPSTREAM_URL: u.url,
        STYX_UPSTREAM_KEY: fed.key,
        STYX_FEDERATE: "marketplace",
      },
    });
    alice = await user(d, `alice-${tag}`);
    bob = await user(d, `bob-${tag}`);
    const g = await call(d, "POST", "/v1/styx/golems", alice.key, { id: `golem-${tag}` });
    assert.equal(g.status, 201, g.text);
    aliceGolem = g.json.id;
    const k = await call(d, "POST", `/v1/admin/users/${alice.id}/keys`, ADMIN, { name: "golem", golem_id: aliceGolem });
    assert.equal(k.status, 201, k.text);
    golemKey = { keyId: k.json.id, key: k.json.key };
  });

  after(async () => {
    for (const p of [d, u]) if (p && p.proc.exitCode === null) p.proc.kill("SIGTERM");
    await Promise.all([d?.exited, u?.exited]);
    await facilitator?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it("browses U's listings, one listing and U's escrow key on D, without a credential", async () => {
    const browse = await call(d, "GET", "/v1/styx/marketplace/listings?query=basis&domain=defi");
    assert.equal(browse.status, 200, browse.text);
    assert.deepEqual(
      browse.json.listings.map((l: { id: string }) => l.id),
      [listingId],
    );
    assert.equal(browse.json.listings[0].total_usd, "0.21");
    const one = await call(d, "GET", `/v1/styx/marketplace/listings/${listingId}`);
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json.ratings, []);
    assert.deepEqual(
      (await call(d, "GET", "/v1/styx/marketplace/escrow-key")).json,
      (await call(u, "GET", "/v1/styx/marketplace/escrow-key")).json,
    );
    const search = await call(d, "POST", "/v1/styx/marketplace/listings/search", undefined, { query: "basis", golem_id: "x" });
    assert.equal(search.status, 400, "D validates bodies as U does: unknown fields refused");
    const missing = await call(d, "GET", "/v1/styx/marketplace/listings/lst_nothere");
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, "STYX_NOT_FOUND", "U's JSON error passes through");
  });

  it("sells to a golem of D through D with @x402/fetch: U's 402, paid to U's payTo, decrypted by the buyer", async () => {
    const offer = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, golemKey.key, {
      buyer_public_key: pub,
      golem_id: aliceGolem,
    });
    assert.equal(offer.status, 402, offer.text);
    const required = decodePaymentRequiredHeader(offer.headers.get("payment-required") ?? "");
    assert.equal(required.accepts[0]?.amount, String(200_000 + 10_000), "price + ⌈5 %⌉, U's offer");
    assert.equal(required.accepts[0]?.payTo.toLowerCase(), PAY_TO, "the golem pays U's payTo");
    assert.equal(offer.json.error.code, "STYX_PAYMENT_REQUIRED");
    assert.equal(offer.json.accepts?.[0]?.payTo?.toLowerCase(), PAY_TO, "the 402 body comes unchanged, v1 fields and all");

    alicePurchase = await paid(d, golemKey.key, `/v1/styx/marketplace/listings/${listingId}/purchase`, {
      buyer_public_key: pub,
      golem_id: aliceGolem,
    });
    assert.equal(alicePurchase.status, 201, alicePurchase.text);
    assert.equal(decodePaymentResponseHeader(alicePurchase.headers.get("payment-response") ?? "").amount, "210000");
    const key = unwrap(alicePurchase.json.wrapped_cek, buyerKeys.privateKey, alicePurchase.json.content_cid);
    const content = await fetch(`${d.url}/v1/styx/marketplace/purchases/${alicePurchase.json.purchase_id}/content`, {
      headers: { authorization: `Bearer ${alice.key}` },
    });
    assert.equal(content.status, 200);
    assert.equal(content.headers.get("content-type"), "application/octet-stream");
    assert.deepEqual(decrypt(Buffer.from(await content.arrayBuffer()), key), plaintext, "the exact bytes, decrypted by the buyer");
    const range = await fetch(`${d.url}/v1/styx/marketplace/purchases/${alicePurchase.json.purchase_id}/content`, {
      headers: { authorization: `Bearer ${golemKey.key}`, range: "bytes=0-9" },
    });
    assert.equal(range.status, 206);
    assert.equal((await range.arrayBuffer()).byteLength, 10);
  });

  it("keeps D's tenancy: a golem key buys only for its golem, another user never for alice's golem", async () => {
    const sibling = await call(d, "POST", "/v1/styx/golems", alice.key, { id: `sibling-${tag}` });
    assert.equal(sibling.status, 201, sibling.text);
    const forSibling = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, golemKey.key, {
      buyer_public_key: pub,
      golem_id: sibling.json.id,
    });
    assert.equal(forSibling.status, 404, forSibling.text);
    const forAlice = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, bob.key, {
      buyer_public_key: pub,
      golem_id: aliceGolem,
    });
    assert.equal(forAlice.status, 404, forAlice.text);
  });

  it("makes two users of D two buyers on U: each buys once and sees only its own purchases", async () => {
    const again = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, alice.key, { buyer_public_key: pub });
    assert.equal(again.status, 409, again.text);
    assert.equal(again.json.error.code, "STYX_ALREADY_PURCHASED");
    assert.equal(again.json.error.details.purchase_id, alicePurchase.json.purchase_id);
    const bobs = await paid(d, bob.key, `/v1/styx/marketplace/listings/${listingId}/purchase`, { buyer_public_key: pub });
    assert.equal(bobs.status, 201, bobs.text);
    const bobList = await call(d, "GET", "/v1/styx/marketplace/purchases", bob.key);
    assert.deepEqual(
      bobList.json.purchases.map((p: { purchase_id: string }) => p.purchase_id),
      [bobs.json.purchase_id],
    );
    const aliceList = await call(d, "GET", "/v1/styx/marketplace/purchases?limit=10", golemKey.key);
    assert.deepEqual(
      aliceList.json.purchases.map((p: { purchase_id: string }) => p.purchase_id),
      [alicePurchase.json.purchase_id],
    );
    const crossed = await call(d, "GET", `/v1/styx/marketplace/purchases/${alicePurchase.json.purchase_id}`, bob.key);
    assert.equal(crossed.status, 404, "bob never reads alice's purchase");
    const rate = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, alice.key, { rating: 4, comment: "calm" });
    assert.equal(rate.status, 201, rate.text);
    const twice = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, golemKey.key, { rating: 1 });
    assert.equal(twice.json.error.code, "STYX_ALREADY_RATED", "alice's golem key is alice, the same buyer");
    const carol = await user(d, `carol-${tag}`);
    const stranger = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/ratings`, carol.key, { rating: 1 });
    assert.equal(stranger.json.error.code, "STYX_NOT_A_BUYER");
    const anonymous = await call(d, "GET", "/v1/styx/marketplace/purchases");
    assert.equal(anonymous.status, 401, "D authenticates its own users");
  });

  it("refuses listing, withdrawal and seller payouts on D: listings are made on U", async () => {
    for (const [method, path] of [
      ["POST", "/v1/styx/marketplace/listings"],
      ["DELETE", `/v1/styx/marketplace/listings/${listingId}`],
      ["GET", "/v1/styx/marketplace/payouts"],
    ] as const) {
      const r = await call(d, method, path, alice.key, method === "POST" ? { title: "x" } : undefined);
      assert.equal(r.status, 403, `${method} ${path}: ${r.text}`);
      assert.equal(r.json.error.code, "STYX_LISTING_UPSTREAM_ONLY");
    }
    assert.equal((await call(u, "GET", `/v1/styx/marketplace/listings/${listingId}`)).status, 200, "the listing stands");
    const admin = await call(d, "GET", "/v1/admin/marketplace/payouts", ADMIN);
    assert.equal(admin.status, 404, "D has no marketplace of its own to administer");
    assert.equal(admin.json.error.code, "STYX_MARKETPLACE_DISABLED");
  });

  it("documents D's marketplace routes in /docs/json, each with a 4xx", async () => {
    const doc = (await call(d, "GET", "/docs/json")).json;
    const expected = [
      "get /v1/styx/marketplace/escrow-key",
      "get /v1/styx/marketplace/listings",
      "post /v1/styx/marketplace/listings",
      "post /v1/styx/marketplace/listings/search",
      "get /v1/styx/marketplace/listings/{id}",
      "delete /v1/styx/marketplace/listings/{id}",
      "post /v1/styx/marketplace/listings/{id}/purchase",
      "post /v1/styx/marketplace/listings/{id}/ratings",
      "get /v1/styx/marketplace/purchases",
      "get /v1/styx/marketplace/purchases/{id}",
      "get /v1/styx/marketplace/purchases/{id}/content",
      "get /v1/styx/marketplace/payouts",
    ];
    for (const route of expected) {
      const [method, path] = route.split(" ") as [string, string];
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${route} documented`);
      assert.ok(
        Object.keys(op.responses).some((c) => c.startsWith("4")),
        `${route}: a 4xx`,
      );
    }
    assert.equal(doc.paths["/v1/admin/marketplace/payouts"], undefined, "D has no marketplace of its own to administer");
  });

  it("leaves no id of D in U's rows or logs: only the buyer references and the payer addresses", async () => {
    const rows = everyRow(join(root, "u", "styx.db"));
    const logs = u.output();
    assert.ok(rows.includes(`${fed.id}:`) && rows.includes(listingId), "the search reads U's rows");
    assert.ok(logs.includes(`/v1/styx/marketplace/listings/${listingId}/purchase`), "the search reads U's request log");
    for (const id of [alice.id, bob.id, aliceGolem, alice.keyId, bob.keyId, golemKey.keyId, alice.key, bob.key, golemKey.key]) {
      assert.ok(!rows.includes(id), `U's rows hold ${id}`);
      assert.ok(!logs.includes(id), `U's logs hold ${id}`);
    }
    const buyers = new Database(join(root, "u", "styx.db"), { readonly: true })
      .prepare("SELECT buyer_user_id, buyer_golem_id FROM market_purchases ORDER BY created_at")
      .all() as { buyer_user_id: string; buyer_golem_id: string | null }[];
    assert.equal(buyers.length, 2);
    for (const b of buyers) {
      assert.match(b.buyer_user_id, new RegExp(`^${fed.id}:[0-9a-f]{24}$`), "(federation user, buyer reference)");
      assert.equal(b.buyer_golem_id, null);
    }
    assert.notEqual(buyers[0]?.buyer_user_id, buyers[1]?.buyer_user_id);
    assert.ok(rows.includes(alicePurchase.payer), "the payer address is on U's ledger, as for any buyer");
  });

  it("answers 503 STYX_UPSTREAM_UNAVAILABLE (retryable) while U does not answer", async () => {
    u.proc.kill("SIGTERM");
    await u.exited;
    const r = await call(d, "GET", "/v1/styx/marketplace/listings");
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.error.code, "STYX_UPSTREAM_UNAVAILABLE");
    assert.ok(Number(r.headers.get("retry-after")) >= 1);
    const buy = await call(d, "POST", `/v1/styx/marketplace/listings/${listingId}/purchase`, bob.key, { buyer_public_key: pub });
    assert.equal(buy.json.error.code, "STYX_UPSTREAM_UNAVAILABLE");
  });
});

describe("federation, the marketplace flow off: D behaves as before", () => {
  it("answers 404 STYX_MARKETPLACE_DISABLED with an upstream linked but no marketplace flow", async () => {
    const s = await startTestServer({
      env: { STYX_UPSTREAM_URL: "http://127.0.0.1:9", STYX_UPSTREAM_KEY: "styx_unused", STYX_FEDERATE: "" },
    });
    try {
      for (const [m, p] of [
        ["GET", "/v1/styx/marketplace/listings"],
        ["POST", "/v1/styx/marketplace/listings/lst_x/purchase"],
        ["POST", "/v1/styx/marketplace/listings"],
      ] as const) {
        const r = await s.request(m, p);
        assert.equal(r.status, 404, p);
        assert.equal(r.json.error.code, "STYX_MARKETPLACE_DISABLED", p);
      }
    } finally {
      await s.close();
    }
  });
});
