import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** Ids a random request may name: real ones of the caller, another tenant's, and garbage. */
const idArb = fc.oneof(
  fc.constantFrom("fz-alice", "fz-bob", "fz-golem", "nope", "", "..", "%00", "a".repeat(300), "💀"),
  fc.string({ maxLength: 40 }),
);

/** On the erasure routes, the fixtures later checks read stand for ones made to be erased. */
const SACRIFICE = new Map([
  ["fz-golem", "fz-doomed-golem"],
  ["fz-alice", "fz-doomed"],
  ["fz-bob", "fz-doomed"],
]);

const bodyArb = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(
    fc.constantFrom(
      "id",
      "name",
      "scopes",
      "golem_id",
      "expires_at",
      "tier",
      "wallet_address",
      "parent_golem_id",
      "archetype",
      "nonce",
      "signature",
      "extra",
    ),
    fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string(), fc.constantFrom("read", "0x" + "a".repeat(40), "2099-01-01T00:00:00Z")),
  ),
);

describe("random requests against every route", () => {
  let s: TestServer;
  let tokens: string[];
  before(async () => {
    s = await startTestServer({ persistent: true });
    const alice = await s.user("fz-alice");
    const bob = await s.user("fz-bob");
    await s.golem(alice.key, { id: "fz-golem" });
    // The erasure routes do to a real id what they promise: they get fixtures of their own to erase.
    const doomed = await s.user("fz-doomed");
    await s.golem(alice.key, { id: "fz-doomed-golem" });
    await s.golem(doomed.key, { id: "fz-doomed-g" });
    tokens = [alice.key, bob.key, s.adminToken, "styx_garbage"];
  });
  after(() => s.close());

  it("compiles every route's request and response schemas (they compile at first use; none may fail then)", () => {
    assert.doesNotThrow(() => s.styx.app.compileSchemas());
  });

  it("never answers 5xx and always answers in the error shape", async () => {
    const routes = s.styx.app.styxRoutes;
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: routes.length - 1 }),
        fc.option(fc.nat({ max: 3 }), { nil: undefined }),
        idArb,
        bodyArb,
        fc.boolean(),
        async (ri, ti, id, body, rawGarbage) => {
          cases++;
          const route = routes[ri];
          assert.ok(route);
          const erasing = route.method === "DELETE" && /^\/v1\/(styx\/golems|admin\/users)\/:/.test(route.url);
          const target = erasing ? (SACRIFICE.get(id) ?? id) : id;
          const path = route.url.replace(/:[a-z_]+/g, encodeURIComponent(target) || "x");
          const token = ti === undefined ? undefined : tokens[ti];
          const r = await s.request(route.method, path, {
            token,
            ...(route.method === "GET" || route.method === "DELETE"
              ? {}
              : rawGarbage
                ? { raw: JSON.stringify(body).slice(0, -1), headers: { "content-type": "application/json" } }
                : { body }),
          });
          assert.ok(r.status < 500, `${route.method} ${path} ${JSON.stringify(body)} → ${r.status} ${r.text}`);
          if (r.status >= 400) assert.match(r.json?.error?.code ?? "", /^STYX_/, r.text);
        },
      ),
      { numRuns: 600, seed: Number(process.env.STYX_FUZZ_SEED ?? Date.now() % 1e9) },
    );
    assert.equal(cases, 600);
    const audit = await s.styx.audit.verify();
    assert.equal(audit.ok, true);
    const health = await s.request("GET", "/v1/styx/health");
    assert.equal(health.json.status, "ok");
    // the fixtures survive whatever was thrown at the server
    assert.equal((await s.styx.storage.identity.getGolem("fz-golem"))?.userId, "fz-alice");
    assert.ok(await s.styx.storage.identity.getUser("fz-bob"), "bob survives too");
  });
});
