import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
/** The downstream's instance id (the pushing Styx). */
const D = "sx_00112233445566aa";
const SOURCE_A = "a".repeat(24);
const SOURCE_B = "b".repeat(24);

describe("federation, the upstream side (SPEC §17.2)", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
  let s: TestServer;
  let alice: { id: string; key: string };
  let golem: string;
  let fed: { id: string; key: string; keyId: string };
  let upstreamId: string;

  const hello = (token: string, body: Record<string, unknown> = {}) =>
    s.request("POST", "/v1/styx/federation/hello", {
      token,
      body: { instance_id: D, version: "test", flows: ["pheromone", "lethe", "causal"], domains: ["defi"], embed_dim: 384, ...body },
    });
  const push = (records: unknown[], token = fed.key) => s.request("POST", "/v1/styx/federation/records", { token, body: { records } });
  let ids = 0;
  const pheromone = (over: Record<string, unknown> = {}, facts: Record<string, unknown> = {}) => ({
    origin: D,
    id: `rec-${++ids}`,
    kind: "pheromone",
    domain: "defi",
    at: new Date(clock.now()).toISOString(),
    pheromone: { layer: "threat", class: "oracle-lag", intensity: 0.8, regime: "bull", source: SOURCE_A, ...facts },
    ...over,
  });
  const sense = async (domain: string) => {
    const r = await s.request("GET", `/v1/styx/pheromone/sense?domains=${domain}`, { token: alice.key });
    assert.equal(r.status, 200, r.text);
    return r.json.domains[domain];
  };
  const deposit = (domain: string, cls: string) =>
    s.request("POST", "/v1/styx/pheromone/deposit", {
      token: alice.key,
      body: { golem_id: golem, layer: "threat", class: cls, intensity: 0.9, domain, regime: "bull" },
    });

  before(async () => {
    s = await startTestServer({ clock, env: { STYX_FEDERATION_MAX_RECORDS: "500/m:500" } });
    alice = await s.user("alice");
    golem = (await s.golem(alice.key, { id: "alice-g" })).id;
    fed = await s.user("downstream-d", { scopes: ["federate"] });
  });
  after(() => s.close());

  it("refuses a hello from a read/write key with 403", async () => {
    const r = await hello(alice.key);
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
  });

  it("answers a federate key's hello with this Styx's id, the agreed flows and domains, and the stream positions", async () => {
    const r = await hello(fed.key);
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.instance_id, /^sx_[0-9a-f]{16}$/);
    upstreamId = r.json.instance_id;
    assert.deepEqual(r.json.flows, ["pheromone", "lethe", "causal"]);
    assert.deepEqual(r.json.domains, ["defi"]);
    assert.equal(r.json.embed_dim, 384);
    assert.equal(typeof r.json.positions.defi.epoch, "string");
    assert.equal(r.json.positions.defi.seq, 0);
  });

  it("answers 409 STYX_FEDERATION_LOOP to a hello carrying this Styx's own instance id", async () => {
    const r = await hello(fed.key, { instance_id: upstreamId });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, "STYX_FEDERATION_LOOP");
  });

  it("refuses a federate key every route but federation's", async () => {
    const r = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: fed.key });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.json.error.code, "STYX_AUTH_FORBIDDEN");
  });

  it("applies a pushed deposit that sense then shows, confirmations counted by origin:source", async () => {
    const r = await push([pheromone({}, { source: SOURCE_A }), pheromone({}, { source: SOURCE_B, intensity: 0.5 })]);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { accepted: 2, duplicates: 0, rejected: [] });
    let cell = await sense("defi");
    assert.equal(cell.pheromones.length, 1);
    assert.equal(cell.pheromones[0].class, "oracle-lag");
    assert.equal(cell.pheromones[0].confirmations, 1, "two sources of D: two depositors");
    // The same D source again only refreshes; a local golem is one more source.
    assert.equal((await push([pheromone({}, { source: SOURCE_A })])).json.accepted, 1);
    assert.equal((await deposit("defi", "oracle-lag")).json.confirmations, 2);
    cell = await sense("defi");
    assert.equal(cell.pheromones[0].confirmations, 2);
  });

  it("counts a record pushed twice as a duplicate and applies nothing more", async () => {
    const rec = pheromone({ domain: "defi" }, { class: "dup-probe" });
    assert.equal((await push([rec])).json.accepted, 1);
    const again = await push([rec]);
    assert.deepEqual(again.json, { accepted: 0, duplicates: 1, rejected: [] });
    const cell = await sense("defi");
    assert.equal(cell.pheromones.find((p: { class: string }) => p.class === "dup-probe").confirmations, 0);
  });

  it("rejects a bad record by its index and applies the others", async () => {
    const bad = { ...pheromone(), pheromone: { layer: "threat", class: "x", intensity: 7, regime: "bull", source: SOURCE_A } };
    const r = await push([pheromone({}, { class: "good-one" }), bad, { nonsense: true }, pheromone({}, { class: "good-two" })]);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.accepted, 2);
    assert.deepEqual(r.json.rejected, [
      { index: 1, code: "STYX_VALIDATION" },
      { index: 2, code: "STYX_VALIDATION" },
    ]);
    const classes = (await sense("defi")).pheromones.map((p: { class: string }) => p.class);
    assert.ok(classes.includes("good-one") && classes.includes("good-two"));
  });

  it("refuses records of another origin than the link's, this Styx's own included", async () => {
    const r = await push([pheromone({ origin: upstreamId }), pheromone({ origin: "sx_ffffffffffffffff" })]);
    assert.deepEqual(r.json.rejected, [
      { index: 0, code: "STYX_FEDERATION_ORIGIN" },
      { index: 1, code: "STYX_FEDERATION_ORIGIN" },
    ]);
    assert.equal(r.json.accepted, 0);
  });

  it("refuses a faded deposit and one from the future as stale", async () => {
    const old = pheromone({ at: new Date(clock.now() - 24 * HOUR).toISOString() }, { class: "faded" });
    const ahead = pheromone({ at: new Date(clock.now() + 5 * MINUTE).toISOString() }, { class: "ahead" });
    const r = await push([old, ahead]);
    assert.deepEqual(r.json.rejected, [
      { index: 0, code: "STYX_FEDERATION_STALE" },
      { index: 1, code: "STYX_FEDERATION_STALE" },
    ]);
    // Refused records are not claimed: the same record, once fresh, is not a duplicate (a new id would be too).
    const classes = (await sense("defi")).pheromones.map((p: { class: string }) => p.class);
    assert.ok(!classes.includes("faded") && !classes.includes("ahead"));
  });

  it("refuses a domain or a kind the hello did not agree to", async () => {
    const r = await push([pheromone({ domain: "nft" })]);
    assert.deepEqual(r.json.rejected, [{ index: 0, code: "STYX_FEDERATION_NOT_AGREED" }]);
  });

  it("answers 409 STYX_FEDERATION_NOT_LINKED to a federate key that said no hello", async () => {
    const other = await s.user("downstream-unlinked", { scopes: ["federate"] });
    const r = await push([pheromone()], other.key);
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, "STYX_FEDERATION_NOT_LINKED");
  });

  it("answers 429 to the 501st record pushed in a minute by one key", async () => {
    const other = await s.user("downstream-busy", { scopes: ["federate"] });
    assert.equal((await hello(other.key, { instance_id: "sx_0000000000000bbb" })).status, 200);
    const filler = Array.from({ length: 500 }, () => ({}));
    const full = await push(filler, other.key);
    assert.equal(full.status, 200, full.text);
    assert.equal(full.json.rejected.length, 500);
    const over = await push([{}], other.key);
    assert.equal(over.status, 429, over.text);
    assert.equal(over.json.error.code, "STYX_RATE_LIMITED");
    assert.ok(Number(over.headers.get("retry-after")) >= 1);
  });

  it("streams a domain's snapshot as NDJSON records ending with a position, leaving out the asker's own records", async () => {
    await deposit("defi", "local-only");
    const r = await s.request("GET", "/v1/styx/federation/snapshot?domain=defi", { token: fed.key });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("content-type") ?? "", /application\/x-ndjson/);
    const lines = r.text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const last = lines.pop();
    assert.equal(typeof last.position.epoch, "string");
    assert.equal(typeof last.position.seq, "number");
    assert.ok(lines.length >= 1);
    for (const rec of lines) {
      assert.equal(rec.kind, "pheromone");
      assert.equal(rec.origin, upstreamId, "D's own deposits never come back");
      assert.match(rec.pheromone.source, /^[0-9a-f]{24}$/);
    }
    const local = s.styx.coordination.pheromones.sourceOf(golem);
    assert.ok(lines.some((rec) => rec.pheromone.class === "local-only"));
    assert.ok(
      lines.every((rec) => rec.pheromone.source !== local),
      "a local source hash never leaves",
    );
  });

  it("delivers a local deposit to a federate socket on federation:defi as a record, never D's own records", async () => {
    const sock = await TestSocket.open(s.url, { token: fed.key });
    try {
      await sock.next((f) => f.type === "welcome");
      const sub = await sock.request({ type: "subscribe", federation: ["defi"] });
      assert.equal(sub.type, "subscribed", JSON.stringify(sub));
      assert.deepEqual(Object.keys(sub.streams), ["federation:defi"]);
      const from = sock.frames.length;
      assert.equal((await push([pheromone({}, { class: "from-d" })])).json.accepted, 1);
      assert.equal((await deposit("defi", "socket-probe")).status, 201);
      const frame = await sock.next((f) => f.stream === "federation:defi", 5000, from);
      assert.equal(frame.channel, "styx:federation:record");
      assert.equal(frame.payload.origin, upstreamId);
      assert.equal(frame.payload.pheromone.class, "socket-probe", "D's own record was skipped");
      assert.notEqual(frame.payload.pheromone.source, s.styx.coordination.pheromones.sourceOf(golem));
      assert.match(frame.payload.pheromone.source, /^[0-9a-f]{24}$/);
    } finally {
      await sock.close();
    }
  });

  it("refuses subscribe.federation to a read/write key", async () => {
    const sock = await TestSocket.open(s.url, { token: alice.key });
    try {
      await sock.next((f) => f.type === "welcome");
      const r = await sock.request({ type: "subscribe", federation: ["defi"] });
      assert.equal(r.type, "error");
      assert.equal(r.code, "STYX_AUTH_FORBIDDEN");
    } finally {
      await sock.close();
    }
  });

  it("publishes a pushed lethe record found by queries, a near duplicate from another source confirming it", async () => {
    const lethe = (source: string, embedding?: number[]) => ({
      origin: D,
      id: `rec-${++ids}`,
      kind: "lethe",
      domain: "defi",
      at: new Date(clock.now() - (clock.now() % HOUR)).toISOString(),
      lethe: {
        category: "warning",
        content: "oracle lag precedes liquidation cascades",
        regime: "bull",
        confidence: 0.4,
        is_bloodstain: false,
        source,
        ...(embedding ? { embedding } : {}),
      },
    });
    // An embedding of another dimension than this Styx's (384) is dropped, not refused.
    const r = await push([lethe(SOURCE_A, [0.1, 0.2, 0.3]), lethe(SOURCE_B)]);
    assert.deepEqual(r.json, { accepted: 2, duplicates: 0, rejected: [] });
    const q = await s.request("POST", "/v1/styx/query", {
      token: alice.key,
      body: { query: "oracle lag liquidation", layers: ["lethe"], explain: true },
    });
    assert.equal(q.status, 200, q.text);
    assert.equal(q.json.hits.length, 1, "the same text twice is one entry");
    assert.equal(q.json.hits[0].namespace, "lethe:defi");
    const hit = await s.styx.storage.entries.getLetheById(q.json.hits[0].id);
    assert.deepEqual(hit?.sources, [`${D}:${SOURCE_A}`, `${D}:${SOURCE_B}`]);
    assert.equal(hit?.embedding, null);
  });

  it("publishes a pushed causal edge, another D source validating it once", async () => {
    const causal = (source: string) => ({
      origin: D,
      id: `rec-${++ids}`,
      kind: "causal",
      domain: "defi",
      at: new Date(clock.now()).toISOString(),
      causal: {
        from_variable: "oracle_lag",
        to_variable: "liquidations",
        direction: "positive",
        strength: "strong",
        lag_ticks: 2,
        evidence_count: 5,
        confidence: 0.8,
        regime: "bull",
        source,
      },
    });
    const r = await push([causal(SOURCE_A), causal(SOURCE_B), causal(SOURCE_B)]);
    assert.deepEqual(r.json, { accepted: 3, duplicates: 0, rejected: [] });
    const d = await s.request("GET", "/v1/styx/causal/discover?domain=defi", { token: alice.key });
    assert.equal(d.status, 200, d.text);
    assert.equal(d.json.edges.length, 1);
    assert.equal(d.json.edges[0].validations, 1, "one vote per origin:source");
    assert.equal(d.json.edges[0].strength, "strong");
  });

  it("announces applied records with federated: true on the domain stream", async () => {
    const sock = await TestSocket.open(s.url, { token: alice.key });
    try {
      await sock.next((f) => f.type === "welcome");
      await sock.request({ type: "subscribe", domains: ["defi"] });
      const from = sock.frames.length;
      await push([pheromone({}, { class: "announced" })]);
      const e = await sock.next((f) => f.stream === "domain:defi" && f.payload?.class === "announced", 5000, from);
      assert.equal(e.payload.federated, true);
    } finally {
      await sock.close();
    }
  });
});
