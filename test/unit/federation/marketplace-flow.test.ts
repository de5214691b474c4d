import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import {
  forwardedHeaders,
  passesThrough,
  upstreamQuery,
  upstreamUnavailable,
  withoutLocalIds,
} from "../../../src/core/federation/upstream-market.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { buyerId, federatedBuyerRef, isFederatedBuyerOf } from "../../../src/core/marketplace/buyer.js";
import { StyxError } from "../../../src/core/platform/errors.js";

type UserPrincipal = Extract<Principal, { kind: "user" }>;
const principal = (over: Partial<UserPrincipal> = {}): UserPrincipal => ({
  kind: "user",
  userId: "fed-d",
  credentialId: "key_1",
  via: "api_key",
  golemId: null,
  expiresAt: null,
  scopes: ["federate"],
  ...over,
});
const REF = "0123456789abcdef01234567";
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof StyxError ? `${err.status} ${err.code}` : String(err);
  }
  return "no error";
};

describe("a federate key's buyer (SPEC §17.2 item 4, upstream side)", () => {
  it("takes the buyer reference of X-Styx-Buyer with a federate key", () => {
    assert.equal(federatedBuyerRef(principal(), REF), REF);
  });

  it("refuses a federate key without one, with several, or with one that is not 24 lower-case hex (400)", () => {
    for (const header of [undefined, [REF, REF], REF.toUpperCase(), REF.slice(1), `${REF}0`, "zz".repeat(12)])
      assert.equal(
        code(() => federatedBuyerRef(principal(), header)),
        "400 STYX_VALIDATION",
        String(header),
      );
  });

  it("refuses a golem-bound federate key (403): a linked Styx's key speaks for users, never as a golem", () => {
    assert.equal(
      code(() => federatedBuyerRef(principal({ golemId: "g1" }), REF)),
      "403 STYX_AUTH_FORBIDDEN",
    );
  });

  it("refuses X-Styx-Buyer from any other key (403), and lets such a key buy as itself", () => {
    const local = principal({ scopes: ["read", "write"] });
    assert.equal(
      code(() => federatedBuyerRef(local, REF)),
      "403 STYX_AUTH_FORBIDDEN",
    );
    assert.equal(federatedBuyerRef(local, undefined), undefined);
  });

  it("keys a downstream's buyer on (federation user, reference): never a local user id, never another downstream's", () => {
    assert.equal(buyerId("alice", undefined), "alice");
    assert.equal(buyerId("fed-d", REF), `fed-d:${REF}`);
    assert.notEqual(buyerId("fed-d", REF), buyerId("fed-e", REF));
    assert.notEqual(buyerId("fed-d", REF), buyerId("fed-d", "f".repeat(24)));
    assert.ok(isFederatedBuyerOf(buyerId("fed-d", REF), "fed-d"));
    assert.ok(!isFederatedBuyerOf(buyerId("fed-d", REF), "fed"));
    assert.ok(!isFederatedBuyerOf("fed-d", "fed-d"));
  });
});

describe("what a downstream forwards to its upstream's marketplace", () => {
  it("forwards x402's payment headers and byte ranges, nothing else of the client's", () => {
    const h = forwardedHeaders({
      "payment-signature": "sig",
      "x-payment": "v1",
      range: "bytes=0-9",
      authorization: "Bearer local-key",
      cookie: "c",
      "x-styx-buyer": REF,
      "x-forwarded-for": "10.0.0.1",
    });
    assert.deepEqual([...h].sort(), [
      ["payment-signature", "sig"],
      ["range", "bytes=0-9"],
      ["x-payment", "v1"],
    ]);
  });

  it("removes golem_id from bodies and query strings", () => {
    assert.deepEqual({ ...withoutLocalIds({ buyer_public_key: "k", golem_id: "g1" }) }, { buyer_public_key: "k" });
    assert.equal(upstreamQuery({ limit: 5, golem_id: "g1" }), "?limit=5");
    assert.equal(upstreamQuery({ query: "a b&c", domain: "defi", cursor: undefined }), "?query=a%20b%26c&domain=defi");
    assert.equal(upstreamQuery({}), "");
    assert.equal(upstreamQuery(undefined), "");
  });

  it("passes successes and JSON errors through; a 401 to its own key or a non-JSON error is the upstream unavailable", () => {
    assert.ok(passesThrough(200, "application/octet-stream"));
    assert.ok(passesThrough(402, "application/json; charset=utf-8"));
    assert.ok(passesThrough(409, "application/json"));
    assert.ok(passesThrough(503, "application/json"));
    assert.ok(!passesThrough(401, "application/json"));
    assert.ok(!passesThrough(502, "text/html"));
    assert.ok(!passesThrough(404, undefined));
    const e = upstreamUnavailable("timeout");
    assert.deepEqual([e.status, e.code, e.retryAfterSeconds, e.details], [503, "STYX_UPSTREAM_UNAVAILABLE", 5, { reason: "timeout" }]);
  });

  it("is refused by the configuration beside a marketplace of this Styx's own", () => {
    const env = {
      STYX_AMNESIA: "1",
      STYX_UPSTREAM_URL: "https://styx.example",
      STYX_UPSTREAM_KEY: "styx_k",
      STYX_FEDERATE: "marketplace",
    };
    assert.deepEqual(loadConfig({}, env).federation.flows.get("marketplace"), { up: false, down: true });
    assert.throws(
      () =>
        loadConfig(
          {},
          {
            ...env,
            STYX_AMNESIA: "0",
            STYX_DATA_DIR: "/nonexistent/styx",
            STYX_PRICING: "1",
            STYX_X402_PAY_TO: "0x2222222222222222222222222222222222222222",
            STYX_X402_FACILITATOR_URL: "https://facilitator.example",
            STYX_MARKETPLACE: "1",
          },
        ),
      (err) => err instanceof ConfigError && /its own marketplace or its upstream's/.test(err.message),
    );
  });
});
