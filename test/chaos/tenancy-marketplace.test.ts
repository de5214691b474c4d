import assert from "node:assert/strict";
import { createCipheriv, generateKeyPairSync, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { createBLAKE3 } from "hash-wasm";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { PAYMENT_TASKS } from "../../src/app/payments.js";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import {
  asQueryText,
  fillPath,
  type JsonSchema,
  type Operation,
  operationsOf,
  querySchema,
  queryString,
  sampleValid,
} from "../../src/testing/openapi-cases.js";
import { rawPub, wrap } from "../../src/testing/spec-escrow.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/**
 * Proof: the marketplace routes (SPEC §16) leak nothing of another tenant. The main tenancy matrix
 * runs with the marketplace off (its Styx is unpriced), so this one starts a priced,
 * marketplace-on Styx: two tenants each list a package through x402, buy the other's and rate
 * it. Every marketplace operation of the OpenAPI document (a new one joins by itself) is called
 * by each tenant's owner key and golem key with the other tenant's listing and purchase ids in
 * the path and the other's golem in `golem_id`. No answer may carry the victim's user id, golem
 * ids or wrapped key; a victim's purchase answers 404, a victim's golem answers
 * 404 before any 402, the victim's listing cannot be withdrawn.
 */

const PAY_TO = "0x2222222222222222222222222222222222222222";

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

interface Tenant {
  readonly name: string;
  readonly userId: string;
  readonly key: string;
  readonly golemKey: string;
  readonly golems: string[];
  listingId: string;
  purchaseId: string;
  wrappedCek: string;
}

describe("tenancy of the marketplace routes (marketplace on)", () => {
  let facilitator: FakeFacilitator;
  let s: TestServer;
  const tenants: Tenant[] = [];
  let ops: Operation[] = [];
  const buyerKey = rawPub(generateKeyPairSync("x25519").publicKey).toString("base64url");

  const paid = async (key: string, path: string, body: unknown) => {
    const r = await payingFetch(key)(s.url + path, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
    const text = await r.text();
    assert.ok(r.status === 201, `${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };

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
    const escrow = (await s.request("GET", "/v1/styx/marketplace/escrow-key")).json;
    for (const name of ["mta", "mtb"]) {
      const u = await s.user();
      const g0 = (await s.golem(u.key)).id;
      const g1 = (await s.golem(u.key)).id;
      const k = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: "golem", golem_id: g0 } });
      assert.equal(k.status, 201, k.text);
      const plain = Buffer.from(`${name} package`);
      const cek = randomBytes(32);
      const nonce = randomBytes(12);
      const c = createCipheriv("aes-256-gcm", cek, nonce);
      const sealed = Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
      const put = await s.request("PUT", "/v1/styx/blobs", {
        token: u.key,
        raw: sealed,
        headers: { "content-type": "application/octet-stream" },
      });
      assert.equal(put.status, 201, put.text);
      const h = await createBLAKE3();
      h.init();
      h.update(plain);
      const listing = await paid(u.key, "/v1/styx/marketplace/listings", {
        kind: "entries",
        title: `${name} title`,
        description: "a package",
        preview: "a preview",
        domain: "defi.lending",
        price_usd: "0.01",
        golem_id: g0,
        entry_count: 1,
        content_cid: put.json.cid,
        content_size: sealed.length,
        content_b3: h.digest("hex"),
        escrow_kid: escrow.kid,
        escrow_wrapped_cek: wrap(cek, Buffer.from(escrow.public_key, "base64url"), put.json.cid),
        payout_address: "0x00000000000000000000000000000000000000c1",
      });
      tenants.push({
        name,
        userId: u.id,
        key: u.key,
        golemKey: k.json.key,
        golems: [g0, g1],
        listingId: listing.id,
        purchaseId: "",
        wrappedCek: "",
      });
    }
    const [a, b] = tenants as [Tenant, Tenant];
    for (const [buyer, seller] of [
      [a, b],
      [b, a],
    ] as const) {
      const p = await paid(buyer.key, `/v1/styx/marketplace/listings/${seller.listingId}/purchase`, { buyer_public_key: buyerKey });
      buyer.purchaseId = p.purchase_id;
      buyer.wrappedCek = p.wrapped_cek;
      const r = await s.request("POST", `/v1/styx/marketplace/listings/${seller.listingId}/ratings`, {
        token: buyer.key,
        body: { rating: 5 },
      });
      assert.equal(r.status, 201, r.text);
    }
    for (let i = 0; i < 20 && ((await s.styx.storage.payments?.pending())?.count ?? 0) > 0; i++)
      await s.styx.tasks.runNow(PAYMENT_TASKS.settlement);
    const doc = await s.request("GET", "/docs/json");
    ops = operationsOf(doc.json).filter((op) => op.path.startsWith("/v1/styx/marketplace"));
  });
  after(async () => {
    await s?.close();
    await facilitator?.close();
  });

  it("answers every marketplace operation × (attacker credential, victim ids) without the victim's private data", async () => {
    assert.ok(ops.length >= 10, `the document lists the marketplace routes (${ops.length})`);
    let calls = 0;
    const [a, b] = tenants as [Tenant, Tenant];
    for (const [attacker, victim] of [
      [a, b],
      [b, a],
    ] as const) {
      // The victim's purchase id is not among them: the victim bought the attacker's listing, and a
      // seller sees its sales' purchase ids by design (SPEC §16.3: `…:sold` on user:{seller}); using it must still answer 404.
      const secrets = [victim.userId, ...victim.golems, victim.wrappedCek];
      for (const cred of [attacker.key, attacker.golemKey]) {
        for (const op of ops) {
          const idValues = op.pathParams.some((p) => p.name === "id")
            ? op.path.includes("/purchases/")
              ? [victim.purchaseId]
              : [victim.listingId, victim.purchaseId]
            : [""];
          const golemValues = op.body && JSON.stringify(op.body.schema).includes('"golem_id"') ? victim.golems : [undefined];
          for (const id of idValues) {
            for (const golem of golemValues) {
              const override = (name: string, schema: JsonSchema) => {
                if (name === "golem_id") return golem;
                if (name === "buyer_public_key") return buyerKey;
                if (name === "embedding" || schema.type === "array") return undefined;
                return undefined;
              };
              const qs = querySchema(op);
              const query = qs ? (sampleValid(qs, { override }) as Record<string, unknown>) : {};
              const path =
                fillPath(op, id === "" ? {} : { id }) +
                queryString(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, asQueryText(v)])));
              const body = op.body ? (sampleValid(op.body.schema, { override }) as Record<string, unknown>) : undefined;
              if (body && golem !== undefined) body.golem_id = golem;
              const r = await s.request(op.method, path, { token: cred, ...(body === undefined ? {} : { body }) });
              calls++;
              const where = `${op.key} as ${attacker.name} (${cred === attacker.key ? "owner" : "golem"} key), id ${id}, golem ${golem}: ${r.status} ${r.text.slice(0, 300)}`;
              assert.ok(r.status < 500, where);
              for (const secret of secrets) assert.ok(!r.text.includes(secret), `leaks ${secret}: ${where}`);
              if (id === victim.purchaseId) assert.ok([400, 403, 404].includes(r.status), `a victim's purchase is absent: ${where}`);
              if (golem !== undefined) {
                assert.ok([400, 403, 404].includes(r.status), `a victim's golem is refused: ${where}`);
                assert.equal(r.headers.get("payment-required"), null, `no offer for a victim's golem: ${where}`);
              }
              if (op.method === "DELETE" && id === victim.listingId)
                assert.equal(r.status, 404, `withdraws the victim's listing: ${where}`);
            }
          }
        }
      }
    }
    // The victims' rows are intact: both listings active, both purchases downloadable by their buyers.
    for (const t of tenants) {
      assert.equal((await s.request("GET", `/v1/styx/marketplace/listings/${t.listingId}`)).status, 200);
      const mine = await s.request("GET", `/v1/styx/marketplace/purchases/${t.purchaseId}`, { token: t.key });
      assert.equal(mine.status, 200, mine.text);
    }
    assert.ok(calls > 40, `calls made: ${calls}`);
  });
  it("fuzzes every marketplace operation (bodies, path ids, queries): a 4xx in the error shape, no 402 for an invalid body, rows unchanged", async () => {
    // The fuzzer of test/chaos/fuzz.test.ts runs unpriced (its fixtures write unpaid), so the
    // marketplace's routes are mutated here, on this priced Styx: each mutation of a valid body
    // (a required field dropped, an unknown field, each field null, of the wrong type, or 10 kB
    // long; not JSON at all), hostile path ids and query values.
    const tables = ["market_listings", "market_purchases", "market_ratings", "market_payouts", "payments"];
    const digest = async () => JSON.stringify(await Promise.all(tables.map((t) => s.sql(`SELECT * FROM "${t}" ORDER BY 1`))));
    const before0 = await digest();
    const [a, b] = tenants as [Tenant, Tenant];
    const ids = [b.listingId, a.purchaseId, "x", "lst_", "../../etc/passwd", "%00", "ü".repeat(300), "lst_".padEnd(5000, "a")];
    const failures: string[] = [];
    let cases = 0;
    const judge = async (where: string, r: { status: number; text: string; json: unknown }, mayPay: boolean) => {
      cases++;
      const e = (r.json as { error?: { code?: unknown; message?: unknown; request_id?: unknown } } | undefined)?.error;
      if (r.status < 400 || r.status >= 500) failures.push(`${where}: ${r.status} ${r.text.slice(0, 200)}`);
      else if (
        !e ||
        typeof e.code !== "string" ||
        typeof e.message !== "string" ||
        // The HTTP parser's refusal of an oversized request line comes before a request id exists.
        (typeof e.request_id !== "string" && e.code !== "STYX_HEADERS_TOO_LARGE")
      )
        failures.push(`${where}: not the error shape: ${r.text.slice(0, 200)}`);
      else if (r.status === 402 && !mayPay) failures.push(`${where}: 402 for an invalid request`);
    };
    for (const op of ops) {
      const needsId = op.pathParams.some((p) => p.name === "id");
      const validPath = fillPath(op, needsId ? { id: op.path.includes("/purchases/") ? a.purchaseId : b.listingId } : {});
      const override = (name: string) => (name === "buyer_public_key" ? buyerKey : undefined);
      const valid = op.body ? (sampleValid(op.body.schema, { override }) as Record<string, unknown>) : undefined;
      const props = Object.keys((op.body?.schema.properties ?? {}) as Record<string, unknown>);
      const propSchema = (k: string) => ((op.body?.schema.properties ?? {}) as Record<string, JsonSchema>)[k] ?? {};
      const required = new Set((op.body?.schema.required ?? []) as string[]);
      const send = (path: string, body: unknown, raw?: string) =>
        s.request(op.method, path, {
          token: a.key,
          ...(raw !== undefined ? { raw, headers: { "content-type": "application/json" } } : body === undefined ? {} : { body }),
        });
      if (valid) {
        const mutations: [string, unknown][] = [["unknown field", { ...valid, seller_id: b.userId }]];
        for (const k of props) {
          if (required.has(k)) {
            const { [k]: _dropped, ...rest } = valid;
            mutations.push([`without ${k}`, rest]);
          }
          mutations.push([`${k} null`, { ...valid, [k]: null }]);
          mutations.push([
            `${k} wrong type`,
            // Not coercible by the validator (a number's "1" or a string's 1 would be coerced, as on every route).
            { ...valid, [k]: typeof valid[k] === "string" || propSchema(k).type === "string" ? [1, 2] : "x" },
          ]);
          mutations.push([`${k} 10 kB`, { ...valid, [k]: "9".repeat(10_000) }]);
          mutations.push([`${k} object`, { ...valid, [k]: { __proto__: { polluted: true }, constructor: 1 } }]);
        }
        for (const [what, body] of mutations) await judge(`${op.key} ${what}`, await send(validPath, body), false);
        await judge(`${op.key} not JSON`, await send(validPath, undefined, '{"kind": '), false);
        await judge(`${op.key} JSON array`, await send(validPath, [valid]), false);
      }
      if (needsId)
        for (const id of ids) {
          const r = await send(fillPath(op, { id }), valid);
          // A well-formed foreign listing id may legitimately reach a refusal or an offer; the rest may not pay.
          if (r.status >= 400) await judge(`${op.key} id ${id.slice(0, 20)}`, r, id === b.listingId);
          else if (op.method !== "GET") failures.push(`${op.key} id ${id.slice(0, 20)}: ${r.status} for a write`);
        }
      for (const q of op.query) {
        for (const v of ["-1", "1e309", "ü".repeat(3000), "[]", "NaN"]) {
          const r = await send(`${validPath}?${q.name}=${encodeURIComponent(v)}`, valid);
          if (r.status >= 400) await judge(`${op.key} ${q.name}=${v.slice(0, 10)}`, r, true);
          else if (r.status >= 500) failures.push(`${op.key} ${q.name}: ${r.status}`);
        }
      }
      const unknownQuery = await send(`${validPath}${validPath.includes("?") ? "&" : "?"}zz_unknown=1`, valid);
      if (unknownQuery.status >= 500) failures.push(`${op.key} unknown query: ${unknownQuery.status}`);
    }
    assert.deepEqual(failures, []);
    assert.ok(cases > 100, `cases: ${cases}`);
    assert.equal(await digest(), before0, "no marketplace or payment row changed");
    assert.equal(Object.hasOwn(Object.prototype, "polluted"), false);
  });
});
