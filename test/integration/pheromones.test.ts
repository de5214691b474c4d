import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const HOUR = 3_600_000;

/** A deterministic 1,280-byte hypervector and a copy with its first `n` bits flipped. */
function hv(seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  return Uint8Array.from({ length: 1280 }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 0xff;
  });
}
function flip(v: Uint8Array, n: number): Uint8Array {
  const out = Uint8Array.from(v);
  for (let i = 0; i < n; i++) out[i >> 3] = (out[i >> 3] as number) ^ (1 << (i & 7));
  return out;
}
const b64 = (v: Uint8Array) => Buffer.from(v).toString("base64");

describe("pheromone field over HTTP", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 12));
  let s: TestServer;
  let key: string;
  let golems: string[];

  before(async () => {
    s = await startTestServer({ clock });
    const u = await s.user();
    key = u.key;
    golems = [];
    for (let i = 0; i < 5; i++) golems.push((await s.golem(key)).id);
  });
  after(() => s.close());

  const deposit = (body: Record<string, unknown>) =>
    s.request("POST", "/v1/styx/pheromone/deposit", { token: key, body: { layer: "threat", regime: "bull", ...body } });
  const sense = async (domains: string, extra = "") => {
    const r = await s.request("GET", `/v1/styx/pheromone/sense?domains=${domains}${extra}`, { token: key });
    assert.equal(r.status, 200, r.text);
    return r.json.domains;
  };

  it("decays to 0.5× after one half-life (2 h for a threat)", async () => {
    const one = await deposit({ golem_id: golems[0], class: "rug-pull", intensity: 0.8, domain: "decay" });
    assert.equal(one.status, 201);
    assert.deepEqual({ ...one.json, id: "" }, { id: "", confirmations: 0, reinforced: false });
    clock.advance(2 * HOUR);
    const d = (await sense("decay")).decay;
    assert.ok(Math.abs(d.pheromones[0].intensity - 0.4) < 1e-9, `after 2 h: ${d.pheromones[0].intensity}`);
    assert.ok(Math.abs(d.threat_level - 0.4) < 1e-9, `threat level ${d.threat_level}`);
    assert.equal(d.pheromones[0].half_life_seconds, 7200);
  });

  it("confirms once per new source: the same golem again only refreshes", async () => {
    const first = await deposit({ golem_id: golems[0], class: "oracle-lag", intensity: 0.6, domain: "confirm" });
    const again = await deposit({ golem_id: golems[0], class: "oracle-lag", intensity: 0.7, domain: "confirm" });
    assert.deepEqual(again.json, { id: first.json.id, confirmations: 0, reinforced: true });
    const other = await deposit({ golem_id: golems[1], class: "oracle-lag", intensity: 0.2, domain: "confirm" });
    assert.deepEqual(other.json, { id: first.json.id, confirmations: 1, reinforced: true });
    const third = await deposit({ golem_id: golems[2], class: "oracle-lag", intensity: 0.2, domain: "confirm" });
    assert.equal(third.json.confirmations, 2);
    const sensed = (await sense("confirm")).confirm.pheromones[0];
    assert.equal(sensed.half_life_seconds, 7200 * 2, "half-life × (1 + 0.5 × 2)");
    assert.ok(Math.abs(sensed.intensity - 0.7) < 1e-9, "intensity = max(current, new)");

    // Two confirmations double the half-life: 0.5× after 4 h.
    clock.advance(4 * HOUR);
    const later = (await sense("confirm")).confirm.pheromones[0].intensity;
    assert.ok(Math.abs(later - 0.35) < 1e-9, `after 4 h: ${later}`);
  });

  it("removes a pheromone under 0.05 at the evaporation task and keeps the rest", async () => {
    const weak = await deposit({ golem_id: golems[0], class: "faint", intensity: 0.1, domain: "evap" });
    await deposit({ golem_id: golems[0], class: "strong", intensity: 0.9, domain: "evap" });
    const metric = async () => Number(/^styx_pheromones_active (\d+)$/m.exec((await s.request("GET", "/metrics")).text)?.[1]);
    const liveBefore = await metric();
    clock.advance(2 * HOUR + 60_000);
    const sensed = (await sense("evap")).evap;
    assert.deepEqual(
      sensed.pheromones.map((p: { class: string }) => p.class),
      ["strong"],
      "a pheromone under 0.05 is not sensed even before evaporation",
    );
    const row = () => s.styx.storage.coordination.pheromones.allLive(0).then((all) => all.some((p) => p.id === weak.json.id));
    assert.equal(await row(), true, "still stored until the task runs");
    await s.styx.tasks.runNow("pheromone-evaporation");
    assert.equal(await row(), false);
    assert.ok((await metric()) < liveBefore, "styx_pheromones_active went down");
  });

  it("reinforces a hypervector deposit with similarity 0.61 and not one with 0.59", async () => {
    const base = hv(7);
    const first = await deposit({ golem_id: golems[0], class: "pattern-a", intensity: 0.5, domain: "hv", content_hv: b64(base) });
    const near = await deposit({
      golem_id: golems[1],
      class: "pattern-b",
      intensity: 0.5,
      domain: "hv",
      content_hv: b64(flip(base, 3993)),
    });
    assert.deepEqual(near.json, { id: first.json.id, confirmations: 1, reinforced: true }, "1 − 3993/10240 = 0.61");
    const far = await deposit({
      golem_id: golems[2],
      class: "pattern-c",
      intensity: 0.5,
      domain: "hv",
      content_hv: b64(flip(hv(7), 4198)),
    });
    assert.equal(far.json.reinforced, false, "1 − 4198/10240 = 0.59");
    assert.notEqual(far.json.id, first.json.id);
    const elsewhere = await deposit({
      golem_id: golems[3],
      class: "pattern-a",
      intensity: 0.5,
      domain: "hv",
      regime: "bear",
      content_hv: b64(base),
    });
    assert.equal(elsewhere.json.reinforced, false, "another (domain, regime) cell");
  });

  it("answers the three levels per domain, and a regime filter", async () => {
    await deposit({ golem_id: golems[0], layer: "threat", class: "t", intensity: 0.3, domain: "levels" });
    await deposit({ golem_id: golems[0], layer: "threat", class: "t2", intensity: 0.6, domain: "levels" });
    await deposit({ golem_id: golems[0], layer: "opportunity", class: "o", intensity: 0.45, domain: "levels" });
    await deposit({ golem_id: golems[0], layer: "wisdom", class: "w", intensity: 0.9, domain: "levels", regime: "bear" });
    const d = await sense("levels,empty-domain");
    assert.deepEqual(
      { t: d.levels.threat_level, o: d.levels.opportunity_level, w: d.levels.wisdom_level, live: d.levels.live },
      { t: 0.6, o: 0.45, w: 0.9, live: 4 },
    );
    assert.deepEqual(d["empty-domain"], { threat_level: 0, opportunity_level: 0, wisdom_level: 0, live: 0, pheromones: [] });
    const bull = (await sense("levels", "&regime=bull")).levels;
    assert.equal(bull.wisdom_level, 0);
    assert.equal(bull.live, 3);
    assert.ok(!JSON.stringify(d).includes(golems[0] as string), "no depositor identity");
  });

  it("refuses bad deposits with 400 and stores nothing", async () => {
    const count = async () => (await s.styx.storage.coordination.pheromones.allLive(clock.now())).length;
    const before = await count();
    const bad = [
      { golem_id: golems[0], class: "x", intensity: 1.5, domain: "bad" },
      { golem_id: golems[0], class: "x", intensity: 0.5, domain: "Bad Domain" },
      { golem_id: golems[0], class: "x", intensity: 0.5, domain: "bad", layer: "rumour" },
      { golem_id: golems[0], class: "x", intensity: 0.5, domain: "bad", extra: true },
      { golem_id: golems[0], class: "x", intensity: 0.5, domain: "bad", content_hv: b64(new Uint8Array(1279)) + "AAAA" },
    ];
    for (const body of bad) {
      const r = await deposit(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, "STYX_VALIDATION");
    }
    assert.equal(await count(), before);
  });
});

describe("pheromone events", () => {
  it("reach only the subscribers of the domain, as deposit then reinforced", async () => {
    const s = await startTestServer();
    try {
      const u = await s.user();
      const g1 = await s.golem(u.key);
      const g2 = await s.golem(u.key);
      const watcher = await s.user();
      const defi = await TestSocket.connect(s.url, watcher.key);
      const nft = await TestSocket.connect(s.url, watcher.key);
      await defi.sock.request({ type: "subscribe", domains: ["defi"] });
      await nft.sock.request({ type: "subscribe", domains: ["nft"] });
      const body = { layer: "opportunity", class: "yield", intensity: 0.7, domain: "defi", regime: "bull" };
      await s.request("POST", "/v1/styx/pheromone/deposit", { token: u.key, body: { ...body, golem_id: g1.id } });
      await s.request("POST", "/v1/styx/pheromone/deposit", { token: u.key, body: { ...body, golem_id: g2.id } });
      const got = await defi.sock.until(() => {
        const e = defi.sock.events("domain:defi");
        return e.length >= 2 ? e : undefined;
      });
      assert.deepEqual(
        got.map((e: { channel: string }) => e.channel),
        ["styx:pheromone:deposit", "styx:pheromone:reinforced"],
      );
      assert.equal(got[1].payload.confirmations, 1);
      assert.ok(!JSON.stringify(got).includes(g1.id), "no depositor identity in events");
      await nft.sock.request({ type: "ping" });
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(nft.sock.events().filter((e) => e.channel?.startsWith("styx:pheromone")).length, 0);
      await Promise.all([defi.sock.close(), nft.sock.close()]);
    } finally {
      await s.close();
    }
  });
});
