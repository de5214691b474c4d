import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

function edge(golemId: string, over: Record<string, unknown> = {}) {
  return {
    golem_id: golemId,
    from_variable: "gas_price",
    to_variable: "mev_volume",
    direction: "positive",
    strength: 0.5,
    lag_ticks: 3,
    evidence_count: 12,
    confidence: 0.8,
    domain: "mev",
    regime: "bull",
    ...over,
  };
}

describe("causal federation", () => {
  let s: TestServer;
  let key: string;
  let golems: string[];
  before(async () => {
    s = await startTestServer();
    const u = await s.user();
    key = u.key;
    golems = [];
    for (let i = 0; i < 4; i++) golems.push((await s.golem(key)).id);
  });
  after(() => s.close());
  const publish = (body: Record<string, unknown>) => s.request("POST", "/v1/styx/causal/publish", { token: key, body });

  it("stores the strength only as its bucket, each boundary in the upper one", async () => {
    const cases: [number, string][] = [
      [0.29, "weak"],
      [0.3, "moderate"],
      [0.59, "moderate"],
      [0.6, "strong"],
      [0.84, "strong"],
      [0.85, "dominant"],
    ];
    for (const [i, [strength, bucket]] of cases.entries()) {
      const r = await publish(edge(golems[0] as string, { strength, to_variable: `bucket_${i}` }));
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.strength, bucket, String(strength));
    }
    const found = await s.request("GET", "/v1/styx/causal/discover?variable=bucket_1", { token: key });
    assert.equal(found.json.edges[0].strength, "moderate");
    assert.ok(!Object.values(found.json.edges[0]).includes(0.3), "the exact strength is not kept");
  });

  it("counts another publisher's agreement as a validation, disagreement as a contradiction, and the same publisher never", async () => {
    const first = await publish(edge(golems[0] as string, { to_variable: "votes" }));
    assert.equal(first.json.outcome, "created");
    const same = await publish(edge(golems[0] as string, { to_variable: "votes", direction: "negative" }));
    assert.deepEqual([same.json.outcome, same.json.validations, same.json.contradictions], ["unchanged", 0, 0]);
    const agree = await publish(edge(golems[1] as string, { to_variable: "votes" }));
    assert.deepEqual([agree.json.outcome, agree.json.validations, agree.json.id], ["validated", 1, first.json.id]);
    const disagree = await publish(edge(golems[2] as string, { to_variable: "votes", direction: "negative" }));
    assert.deepEqual([disagree.json.outcome, disagree.json.validations, disagree.json.contradictions], ["contradicted", 1, 1]);
    const again = await publish(edge(golems[1] as string, { to_variable: "votes" }));
    assert.equal(again.json.outcome, "unchanged");
  });

  it("refuses thin evidence or low confidence with 400", async () => {
    for (const over of [{ evidence_count: 2 }, { confidence: 0.59 }, { strength: 1.2 }, { direction: "sideways" }, { extra: 1 }]) {
      const r = await publish(edge(golems[0] as string, { to_variable: "refused", ...over }));
      assert.equal(r.status, 400, JSON.stringify(over));
    }
    const found = await s.request("GET", "/v1/styx/causal/discover?variable=refused", { token: key });
    assert.deepEqual(found.json.edges, []);
  });

  it("discovers by filters, ranked by validations then confidence, never naming a publisher", async () => {
    const mk = async (to: string, confidence: number, validators: number) => {
      await publish(edge(golems[0] as string, { to_variable: to, confidence, domain: "rank" }));
      for (let i = 1; i <= validators; i++) await publish(edge(golems[i] as string, { to_variable: to, confidence, domain: "rank" }));
    };
    await mk("r_low_conf_2", 0.7, 2);
    await mk("r_high_conf_2", 0.9, 2);
    await mk("r_top_3", 0.65, 3);
    await mk("r_none", 0.99, 0);
    const all = await s.request("GET", "/v1/styx/causal/discover?domain=rank", { token: key });
    assert.deepEqual(
      all.json.edges.map((e: { to_variable: string }) => e.to_variable),
      ["r_top_3", "r_high_conf_2", "r_low_conf_2", "r_none"],
    );
    const min2 = await s.request("GET", "/v1/styx/causal/discover?domain=rank&min_validations=2", { token: key });
    assert.equal(min2.json.edges.length, 3);
    const text = all.text;
    for (const g of golems) assert.ok(!text.includes(g), "no golem id");
    assert.ok(!/publisher|source_hash/.test(text), "no publisher field of any kind");
    const otherUser = await s.user();
    const seen = await s.request("GET", "/v1/styx/causal/discover?domain=rank", { token: otherUser.key });
    assert.equal(seen.json.edges.length, 4, "the federation is shared across users");
  });
});

describe("engagement", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 3, 9));
  let s: TestServer;
  let u: { id: string; key: string };
  before(async () => {
    s = await startTestServer({ clock });
    u = await s.user();
  });
  after(() => s.close());

  it("returns the lineage forest of a three-generation fixture", async () => {
    const root = await s.golem(u.key, { id: "lin-root", archetype: "scout" });
    const c1 = await s.golem(u.key, { id: "lin-c1", parent_golem_id: root.id });
    clock.advance(1000);
    await s.golem(u.key, { id: "lin-c2", parent_golem_id: root.id });
    await s.golem(u.key, { id: "lin-g1", parent_golem_id: c1.id });
    await s.golem(u.key, { id: "lin-solo" });
    const r = await s.request("GET", `/v1/styx/lineage/${u.id}`, { token: u.key });
    assert.equal(r.status, 200);
    type N = { golem_id: string; generation: number; children: N[] };
    const shape = (n: N): unknown => [n.golem_id, n.generation, n.children.map(shape)];
    assert.deepEqual(r.json.roots.map(shape), [
      [
        "lin-root",
        0,
        [
          ["lin-c1", 1, [["lin-g1", 2, []]]],
          ["lin-c2", 1, []],
        ],
      ],
      ["lin-solo", 0, []],
    ]);
    assert.equal((await s.request("GET", `/v1/styx/lineage/${u.id}`, { token: (await s.user()).key })).status, 404);
  });

  it("pages the graveyard newest first, with stable cursors", async () => {
    const g = await s.user();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const golem = await s.golem(g.key, { id: `grave-${i}` });
      ids.push(golem.id);
      // Two deaths share each timestamp, so the golem id breaks ties.
      const ts = new Date(Date.UTC(2026, 9, 1 + Math.floor(i / 2))).toISOString();
      const r = await s.request("POST", "/v1/styx/bloodstain", {
        token: g.key,
        body: { golem_id: golem.id, generation: 0, death_cause: `cause ${i}`, warnings: [], timestamp: ts },
      });
      assert.equal(r.status, 201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q = cursor ? `?limit=3&cursor=${encodeURIComponent(cursor)}` : "?limit=3";
      const page = await s.request("GET", `/v1/styx/graveyard/${g.id}${q}`, { token: g.key });
      assert.equal(page.status, 200, page.text);
      seen.push(...page.json.golems.map((x: { golem_id: string }) => x.golem_id));
      cursor = page.json.next_cursor;
      // A death recorded meanwhile (newest of all) must not shift later pages.
      if (seen.length === 3) {
        const late = await s.golem(g.key, { id: "grave-late" });
        await s.request("POST", "/v1/styx/bloodstain", {
          token: g.key,
          body: { golem_id: late.id, generation: 0, death_cause: "late", warnings: [], timestamp: "2026-10-30T00:00:00.000Z" },
        });
      }
    } while (cursor);
    assert.deepEqual(seen, ["grave-6", "grave-5", "grave-4", "grave-3", "grave-2", "grave-1", "grave-0"]);
    const first = await s.request("GET", `/v1/styx/graveyard/${g.id}?limit=1`, { token: g.key });
    assert.equal(first.json.golems[0].golem_id, "grave-late");
  });

  it("unlocks each achievement exactly once, announcing each", async () => {
    const owner = await s.user();
    const surface = await TestSocket.connect(s.url, owner.key);
    const g0 = await s.golem(owner.key, { id: "ach-0" });
    const g1 = await s.golem(owner.key, { id: "ach-1", parent_golem_id: g0.id });
    const g2 = await s.golem(owner.key, { id: "ach-2", parent_golem_id: g1.id });
    const g3 = await s.golem(owner.key, { id: "ach-3", parent_golem_id: g2.id });
    const helpers = [];
    for (let i = 0; i < 5; i++) helpers.push((await s.golem(owner.key, { id: `ach-h${i}` })).id);

    for (let i = 0; i < 2; i++) {
      await s.request("POST", "/v1/styx/entries", {
        token: owner.key,
        body: { golem_id: g0.id, layer: "vault", category: "insight", content: `hello ${i}` },
      });
    }
    await surface.sock.request({ type: "heartbeat", golem_id: g0.id, tick: 10_000 });
    await surface.sock.request({ type: "heartbeat", golem_id: g0.id, tick: 10_001 });
    const dep = { golem_id: g0.id, layer: "opportunity", class: "swarm-test", intensity: 0.5, domain: "ach", regime: "bull" };
    await s.request("POST", "/v1/styx/pheromone/deposit", { token: owner.key, body: dep });
    for (const h of [...helpers.slice(0, 4)]) {
      await s.request("POST", "/v1/styx/pheromone/deposit", { token: owner.key, body: { ...dep, golem_id: h } });
    }
    await s.request("POST", "/v1/styx/causal/publish", { token: owner.key, body: edge(g0.id, { to_variable: "prophecy" }) });
    for (const h of helpers) {
      await s.request("POST", "/v1/styx/causal/publish", { token: owner.key, body: edge(h, { to_variable: "prophecy" }) });
    }
    await s.request("POST", "/v1/styx/bloodstain", {
      token: owner.key,
      body: {
        golem_id: g0.id,
        generation: 0,
        death_cause: "old age",
        warnings: [],
        timestamp: "2026-11-03T09:00:00.000Z",
        ticks_lived: 10_002,
      },
    });

    const wanted = ["elder", "first_words", "prophet", "scarred", "swarm"];
    await surface.sock.until(
      () => surface.sock.events().filter((e) => e.channel === "styx:achievement").length >= wanted.length + 1 || undefined,
    );
    await surface.sock.request({ type: "ping" });
    await new Promise((r) => setTimeout(r, 100));
    const announced = surface.sock.events().filter((e) => e.channel === "styx:achievement");
    const mine = (id: string) =>
      announced
        .filter((e) => e.payload.golem_id === id)
        .map((e) => e.payload.code)
        .sort();
    assert.deepEqual(mine(g0.id), wanted, "each once, though several triggers repeated");
    assert.deepEqual(mine(g3.id), ["third_generation"]);
    assert.deepEqual(mine(g2.id), [], "generation 2 is not the third");
    const listed = await s.request("GET", `/v1/styx/achievements/${g0.id}`, { token: owner.key });
    assert.deepEqual(listed.json.achievements.map((a: { code: string }) => a.code).sort(), wanted);
    assert.equal((await s.request("GET", `/v1/styx/achievements/${g0.id}`, { token: u.key })).status, 404);
    await surface.sock.close();
  });

  it("serves the pulse from its cache, recomputed by the task, and announces it publicly", async () => {
    const fresh = await startTestServer({ clock });
    try {
      const o = await fresh.user();
      const a = await fresh.golem(o.key);
      const b = await fresh.golem(o.key);
      const dead = await fresh.golem(o.key);
      const watcher = await TestSocket.connect(fresh.url, o.key);
      await watcher.sock.request({ type: "subscribe", domains: [] });
      await watcher.sock.request({ type: "heartbeat", golem_id: a.id, pad: { pleasure: 0.5, arousal: 0.2, dominance: 0 }, regime: "bull" });
      await watcher.sock.request({
        type: "heartbeat",
        golem_id: b.id,
        pad: { pleasure: -0.1, arousal: 0.4, dominance: 0.2 },
        regime: "bear",
      });
      const dep = (domain: string, layer: string, intensity: number) =>
        fresh.request("POST", "/v1/styx/pheromone/deposit", {
          token: o.key,
          body: { golem_id: a.id, layer, class: `${domain}-${layer}`, intensity, domain, regime: "bull" },
        });
      await dep("defi", "threat", 0.8);
      await dep("defi", "wisdom", 0.5);
      await dep("nft", "threat", 0.2);
      await fresh.request("POST", "/v1/styx/bloodstain", {
        token: o.key,
        body: {
          golem_id: dead.id,
          generation: 0,
          death_cause: "x",
          warnings: [],
          timestamp: new Date(clock.now() - 3_600_000).toISOString(),
        },
      });
      const expected = {
        active_golems: 2,
        dead_total: 1,
        deaths_24h: 1,
        pheromones: { threat: { live: 2, intensity: 1 }, opportunity: { live: 0, intensity: 0 }, wisdom: { live: 1, intensity: 0.5 } },
        top_domains: [
          { domain: "defi", pheromones: 2 },
          { domain: "nft", pheromones: 1 },
        ],
        mean_pad: { pleasure: 0.2, arousal: 0.30000000000000004, dominance: 0.1 },
        regimes: { bull: 1, bear: 1 },
      };
      await fresh.styx.tasks.runNow("pulse");
      const p = await fresh.request("GET", "/v1/styx/pulse");
      assert.equal(p.status, 200, "public: no credential needed");
      const { computed_at, ...fields } = p.json;
      assert.equal(computed_at, new Date(clock.now()).toISOString());
      assert.deepEqual(fields, expected);
      const event = await watcher.sock.next((f) => f.channel === "styx:pulse");
      assert.equal(event.stream, "public");
      assert.equal(event.payload.active_golems, 2);

      await dep("later", "threat", 0.9);
      assert.deepEqual((await fresh.request("GET", "/v1/styx/pulse")).json.top_domains, expected.top_domains, "served from the cache");
      await watcher.sock.close();
    } finally {
      await fresh.close();
    }
  });
});
