import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

// Issue 17, item 4: views that tell the truth — lineage milestones and causal publications reach
// their subscribers; the graveyard, the golem view and presence say how a golem lived.

const T0 = Date.UTC(2026, 10, 3, 9);

describe("events SPEC §9 names", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it("announces styx:lineage:milestone at generation 3 on the owner's stream, and on the golem's own (replayed)", async () => {
    const owner = await s.user();
    const surface = await TestSocket.connect(s.url, owner.key);
    const chain = [await s.golem(owner.key, { archetype: "seer" })];
    for (let gen = 1; gen <= 4; gen++) chain.push(await s.golem(owner.key, { parent_golem_id: chain[gen - 1]?.id, archetype: "seer" }));
    const third = chain[3] as { id: string; generation: number };
    assert.equal(third.generation, 3);
    const got = await surface.sock.next((f) => f.channel === "styx:lineage:milestone");
    assert.equal(got.stream, `user:${owner.id}`);
    assert.deepEqual(
      [got.payload.golem_id, got.payload.generation, got.payload.parent_golem_id, got.payload.archetype],
      [third.id, 3, chain[2]?.id, "seer"],
    );
    await surface.sock.request({ type: "ping" });
    assert.equal(
      surface.sock.events().filter((f) => f.channel === "styx:lineage:milestone").length,
      1,
      "generations 0, 1, 2 and 4 are no milestones",
    );
    await surface.sock.close();

    const k = await s.request("POST", `/v1/admin/users/${owner.id}/keys`, {
      token: s.adminToken,
      body: { name: "g3", golem_id: third.id },
    });
    assert.equal(k.status, 201, k.text);
    const own = await TestSocket.connect(s.url, k.json.key);
    const stream = `golem:${third.id}`;
    const pos = own.welcome.streams[stream];
    const resumed = await own.sock.request({ type: "resume", streams: { [stream]: { epoch: pos.epoch, seq: 0 } } });
    assert.equal(resumed.streams[stream].recovered, true, JSON.stringify(resumed));
    const replayed = await own.sock.next((f) => f.stream === stream && f.channel === "styx:lineage:milestone");
    assert.equal(replayed.payload.golem_id, third.id);
    await own.sock.close();
  });

  it("announces styx:causal:published on the domain's stream for each change, never naming a publisher", async () => {
    const a = await s.user();
    const b = await s.user();
    const ga = await s.golem(a.key);
    const gb = await s.golem(b.key);
    const watcher = await TestSocket.connect(s.url, (await s.user()).key);
    await watcher.sock.request({ type: "subscribe", domains: ["views-causal"] });
    const body = (golemId: string) => ({
      golem_id: golemId,
      from_variable: "gas_price",
      to_variable: "mev_volume",
      direction: "positive",
      strength: 0.7,
      lag_ticks: 3,
      evidence_count: 12,
      confidence: 0.8,
      domain: "views-causal",
      regime: "bull",
    });
    for (const [key, g] of [
      [a.key, ga.id],
      [a.key, ga.id],
      [b.key, gb.id],
    ] as const) {
      const r = await s.request("POST", "/v1/styx/causal/publish", { token: key, body: body(g) });
      assert.equal(r.status, 201, r.text);
    }
    const events = await watcher.sock.until(() => {
      const got = watcher.sock.events("domain:views-causal").filter((f) => f.channel === "styx:causal:published");
      return got.length >= 2 && got;
    });
    assert.deepEqual(
      events.map((e) => [e.payload.outcome, e.payload.validations, e.payload.strength]),
      [
        ["created", 0, "strong"],
        ["validated", 1, "strong"],
      ],
      "the repeat by the same publisher announces nothing",
    );
    const text = JSON.stringify(events);
    for (const id of [a.id, b.id, ga.id, gb.id]) assert.ok(!text.includes(id), `no ${id} in the events`);
    await watcher.sock.close();
  });
});

describe("how a golem lived", () => {
  const clock = new ManualClock(T0);
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ clock });
  });
  after(() => s.close());

  it("presence shows archetype, generation and age; the graveyard and golem view lifespan, final phase, PAD, NAV and domains", async () => {
    const owner = await s.user();
    const parent = await s.golem(owner.key, { archetype: "trader" });
    const g = await s.golem(owner.key, { parent_golem_id: parent.id, archetype: "trader" });
    clock.advance(3_600_000);
    const surface = await TestSocket.connect(s.url, owner.key);
    const pad = { pleasure: -0.5, arousal: 0.75, dominance: -0.25 };
    const beat = await surface.sock.request({ type: "heartbeat", golem_id: g.id, phase: "terminal", pad, nav: 12.5, tick: 900 });
    assert.equal(beat.type, "ack", JSON.stringify(beat));
    const fleet = await s.request("GET", `/v1/styx/fleet/${owner.id}`, { token: owner.key });
    const seen = fleet.json.golems.find((p: { golem_id: string }) => p.golem_id === g.id);
    assert.deepEqual([seen.archetype, seen.generation, seen.age_seconds], ["trader", 1, 3600]);
    const snap = await s.request("GET", `/v1/styx/golem/${g.id}/snapshot`, { token: owner.key });
    assert.deepEqual([snap.json.archetype, snap.json.age_seconds, snap.json.presence.age_seconds], ["trader", 3600, 3600]);

    clock.advance(1_800_000);
    const died = await s.request("POST", "/v1/styx/bloodstain", {
      token: owner.key,
      body: {
        golem_id: g.id,
        generation: 1,
        death_cause: "liquidated",
        timestamp: new Date(clock.now()).toISOString(),
        warnings: [
          { domain: "perps", regime: "bull", class: "cascade", severity: 0.9, message: "funding squeeze" },
          { domain: "lend", regime: "bull", class: "oracle_lag", severity: 0.3, message: "oracle lag" },
        ],
        causal_edges: [
          { from_variable: "funding", to_variable: "liquidations", direction: "positive", strength: 0.7, domain: "amm", regime: "bull" },
        ],
      },
    });
    assert.equal(died.status, 201, died.text);
    const facts = { lifespan_seconds: 5400, final_phase: "terminal", final_pad: pad, final_nav: 12.5, domains: ["amm", "lend", "perps"] };
    const grave = await s.request("GET", `/v1/styx/graveyard/${owner.id}`, { token: owner.key });
    assert.equal(grave.status, 200, grave.text);
    const [row] = grave.json.golems;
    assert.equal(row.golem_id, g.id);
    assert.deepEqual(
      {
        lifespan_seconds: row.lifespan_seconds,
        final_phase: row.final_phase,
        final_pad: row.final_pad,
        final_nav: row.final_nav,
        domains: row.domains,
      },
      facts,
    );
    const view = await s.request("GET", `/v1/styx/golems/${g.id}`, { token: owner.key });
    assert.equal(view.status, 200, view.text);
    assert.equal(view.json.age_seconds, 5400, "a dead golem's age stops at its death");
    const { died_at, death_cause, ticks_lived, ...rest } = view.json.death;
    assert.deepEqual([died_at, death_cause, ticks_lived], [new Date(clock.now()).toISOString(), "liquidated", 0]);
    assert.deepEqual(rest, facts);
    const alive = await s.request("GET", `/v1/styx/golems/${parent.id}`, { token: owner.key });
    assert.deepEqual([alive.json.death, alive.json.age_seconds], [null, 5400]);
    await surface.sock.close();
  });
});
