import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const MINUTE = 60_000;

describe("public surfaces: the closed grammar and the public pipeline", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 3, 9, 17, 42, 123));
  let s: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let ag: string;
  /** A golem of bob's with a caller-chosen strong id (8+ letters and digits). */
  const bobsGolem = "bobs-trader-77";

  before(async () => {
    s = await startTestServer({ clock, env: { STYX_LETHE_DELAY: "0s-0s" } });
    alice = await s.user();
    bob = await s.user();
    ag = (await s.golem(alice.key)).id;
    await s.golem(bob.key, { id: bobsGolem });
  });
  after(() => s.close());

  const deposit = (body: Record<string, unknown>) =>
    s.request("POST", "/v1/styx/pheromone/deposit", {
      token: alice.key,
      body: { golem_id: ag, layer: "threat", class: "rug", intensity: 0.5, domain: "defi", regime: "bull", ...body },
    });

  it("refuses a deposit whose public field holds another tenant's identifier, saying the same as for a grammar error", async () => {
    const withId = await deposit({ class: `${bobsGolem}-alert` });
    // Passes the request schema (which takes `:`), fails the closed grammar.
    const bad = await deposit({ class: "eth:gas" });
    for (const r of [withId, bad]) {
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.code, "STYX_NOT_PUBLISHABLE");
    }
    assert.equal(withId.json.error.message, bad.json.error.message, "one answer whatever failed");
    assert.deepEqual(withId.json.error.details, [{ path: "/class" }]);
    assert.ok(!withId.text.includes(bobsGolem) && !withId.text.includes("trader"), "the refusal never names the identifier");
    const sensed = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: bob.key });
    assert.equal(sensed.json.domains.defi.live, 0, "nothing was stored");
  });

  it("stores public fields normalized, keeps only public metadata, and shows times to the minute", async () => {
    const r = await deposit({ regime: "BULL", metadata: { tags: ["Alpha", bobsGolem], owner: "x@y.io", asset: 42069 } });
    assert.equal(r.status, 201, r.text);
    const sensed = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: bob.key });
    const [p] = sensed.json.domains.defi.pheromones;
    assert.equal(p.regime, "bull");
    assert.deepEqual(p.metadata, { tags: ["alpha"] });
    assert.equal(Date.parse(p.deposited_at) % MINUTE, 0);
  });

  it("refuses causal edges with unpublishable variables", async () => {
    const body = {
      golem_id: ag,
      to_variable: "eth_price",
      direction: "positive",
      strength: 0.7,
      lag_ticks: 2,
      evidence_count: 5,
      confidence: 0.8,
      domain: "defi",
      regime: "bull",
    };
    const colon = await s.request("POST", "/v1/styx/causal/publish", { token: alice.key, body: { ...body, from_variable: "eth:gas" } });
    assert.equal(colon.status, 400, colon.text);
    assert.equal(colon.json.error.code, "STYX_NOT_PUBLISHABLE");
    const ok = await s.request("POST", "/v1/styx/causal/publish", { token: alice.key, body: { ...body, from_variable: "ETH_gas" } });
    assert.equal(ok.status, 201, ok.text);
    const found = await s.request("GET", "/v1/styx/causal/discover?domain=defi", { token: bob.key });
    assert.equal(found.json.edges[0].from_variable, "eth_gas");
    assert.equal(Date.parse(found.json.edges[0].created_at) % MINUTE, 0);
  });

  it("keeps an entry whose public copy is refused, and says so in the write answer", async () => {
    const r = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: ag, layer: "lethe", category: "insight", confidence: 0.9, content: "funding flips", domain: `x-${bobsGolem}` },
    });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json.public, { refused: "not_publishable" });
    assert.equal(r.json.lethe_at, undefined);
    const vault = await s.request("POST", "/v1/styx/query", { token: alice.key, body: { query: "funding flips", layers: ["vault"] } });
    assert.deepEqual(
      vault.json.hits.map((h: { id: string }) => h.id),
      [r.json.id],
      "the private copy is kept",
    );
    const ok = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: ag, layer: "lethe", category: "insight", confidence: 0.9, content: "funding flips", domain: "defi" },
    });
    assert.equal(ok.json.public, undefined);
  });

  it("counts heartbeat regimes in the pulse only when publishable, and survives a regime named `constructor`", async () => {
    const w = await TestSocket.connect(s.url, alice.key);
    const g2 = (await s.golem(alice.key)).id;
    const g3 = (await s.golem(alice.key)).id;
    await w.sock.request({ type: "heartbeat", golem_id: ag, regime: "constructor" });
    await w.sock.request({ type: "heartbeat", golem_id: g2, regime: bobsGolem });
    await w.sock.request({ type: "heartbeat", golem_id: g3, regime: "__proto__" });
    await s.styx.tasks.runNow("pulse");
    const p = await s.request("GET", "/v1/styx/pulse");
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json.regimes, { constructor: 1 });
    assert.equal(p.json.active_golems, 3);
    await w.sock.close();
  });

  it("rounds event times to the minute on domain streams, never on a user's own stream", async () => {
    const w = await TestSocket.connect(s.url, bob.key);
    await w.sock.request({ type: "subscribe", domains: ["minutes"] });
    assert.equal((await deposit({ domain: "minutes" })).status, 201);
    const f = await w.sock.next((x) => x.stream === "domain:minutes");
    assert.equal((f.ts as number) % MINUTE, 0);
    assert.equal(f.ts, Math.floor(clock.now() / MINUTE) * MINUTE);
    await w.sock.close();
  });
});
