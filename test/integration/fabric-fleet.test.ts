import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const PHASES = ["explore", "exploit", "rest", "dream"] as const;
const REGIMES = ["bull", "bear", "chop"] as const;
const DOMAINS = ["defi", "nft", "perps", "lending", "bridges", "mev", "oracles", "dao", "l2", "stables", "gaming", "social"];

type Beat = {
  type: "heartbeat";
  golem_id: string;
  phase: string;
  vitality?: number;
  pad?: { pleasure: number; arousal: number; dominance: number };
  regime: string;
  tick: number;
  domains: string[];
  dreaming: boolean;
  nav?: number;
};

/** The heartbeat of golem `i` of the fixture: every field varies, some golems leave some out. */
function beat(i: number, golemId: string): Beat {
  return {
    type: "heartbeat",
    golem_id: golemId,
    phase: PHASES[i % 4] as string,
    ...(i % 5 === 0 ? {} : { vitality: ((i * 37) % 100) / 100 }),
    ...(i % 7 === 0 ? {} : { pad: { pleasure: ((i % 21) - 10) / 10, arousal: ((i % 11) - 5) / 5, dominance: ((i % 9) - 4) / 4 } }),
    regime: REGIMES[i % 3] as string,
    tick: 1000 + i * 13,
    domains: [DOMAINS[i % 12] as string, DOMAINS[(i * 5) % 12] as string],
    dreaming: i % 4 === 3,
    ...(i % 3 === 0 ? {} : { nav: 100 + i }),
  };
}

/** The aggregate of SPEC §8 for heartbeats `beats` (all online), computed here from the fixture, not by Styx. */
function expectedAggregate(userId: string, total: number, beats: Beat[]) {
  const count = (xs: string[]) => {
    const m: Record<string, number> = {};
    for (const x of xs) m[x] = (m[x] ?? 0) + 1;
    return m;
  };
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const pads = beats.flatMap((b) => (b.pad ? [b.pad] : []));
  const domainCounts = count(beats.flatMap((b) => [...new Set(b.domains)]));
  return {
    user_id: userId,
    golems: total,
    online: beats.length,
    dreaming: beats.filter((b) => b.dreaming).length,
    by_phase: count(beats.map((b) => b.phase)),
    by_regime: count(beats.map((b) => b.regime)),
    mean_vitality: mean(beats.flatMap((b) => (b.vitality !== undefined ? [b.vitality] : []))),
    mean_pad: {
      pleasure: mean(pads.map((p) => p.pleasure)),
      arousal: mean(pads.map((p) => p.arousal)),
      dominance: mean(pads.map((p) => p.dominance)),
    },
    total_nav: beats.reduce((a, b) => a + (b.nav ?? 0), 0),
    max_tick: Math.max(...beats.map((b) => b.tick)),
    top_domains: Object.entries(domainCounts)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([domain, golems]) => ({ domain, golems })),
  };
}

/** Rounds every number in a JSON value to 9 decimals (means are float sums in another order). */
function rounded(v: unknown): unknown {
  if (typeof v === "number") return Math.round(v * 1e9) / 1e9;
  if (Array.isArray(v)) return v.map(rounded);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rounded(x)]));
  return v;
}

describe("presence: fleet views from heartbeats", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 2, 12));
  let s: TestServer;
  let owner: { id: string; key: string };
  let golems: string[];
  /** The heartbeats of golems 20–99, sent by the first test at one clock instant. */
  const live: Beat[] = [];

  before(async () => {
    s = await startTestServer({ clock });
    owner = await s.user();
    golems = [];
    for (let i = 0; i < 100; i++) golems.push((await s.golem(owner.key)).id);
  });
  after(() => s.close());

  it("aggregates a fixture of 100 golems exactly, counting only golems heard from in the last minute", async () => {
    const { sock } = await TestSocket.connect(s.url, owner.key);
    // Golems 0–19 beat, then fall silent for over a minute; golems 20–99 beat afterwards.
    for (let i = 0; i < 20; i++) assert.equal((await sock.request(beat(i, golems[i] as string))).type, "ack");
    clock.advance(61_000);
    for (let i = 20; i < 100; i++) {
      const b = beat(i, golems[i] as string);
      live.push(b);
      assert.equal((await sock.request(b)).type, "ack");
    }
    const r = await s.request("GET", `/v1/styx/fleet/${owner.id}/aggregate`, { token: owner.key });
    assert.equal(r.status, 200);
    assert.deepEqual(rounded(r.json), rounded(expectedAggregate(owner.id, 100, live)));

    const fleet = await s.request("GET", `/v1/styx/fleet/${owner.id}`, { token: owner.key });
    assert.equal(fleet.json.golems.length, 100);
    assert.equal(fleet.json.golems.filter((g: { online: boolean }) => g.online).length, 80);
    const g41 = fleet.json.golems.find((g: { golem_id: string }) => g.golem_id === golems[41]);
    const b41 = beat(41, golems[41] as string);
    assert.deepEqual(
      { phase: g41.phase, tick: g41.tick, regime: g41.regime, domains: g41.domains, dreaming: g41.dreaming, nav: g41.nav },
      { phase: b41.phase, tick: b41.tick, regime: b41.regime, domains: b41.domains, dreaming: b41.dreaming, nav: b41.nav },
    );
    await sock.close();
  });

  // The speed goal of these views (SPEC §8: < 5 ms at 100 golems) is measured by bench/fleet.ts, not here.
  it("answers every repeated read with the same views (reads change nothing), and counts nobody online once a minute has passed", async () => {
    const aggregatePath = `/v1/styx/fleet/${owner.id}/aggregate`;
    const fleetPath = `/v1/styx/fleet/${owner.id}`;
    const first = await s.request("GET", aggregatePath, { token: owner.key });
    const firstFleet = await s.request("GET", fleetPath, { token: owner.key });
    assert.deepEqual(rounded(first.json), rounded(expectedAggregate(owner.id, 100, live)));
    for (let i = 0; i < 20; i++) {
      const [a, f] = await Promise.all([
        s.request("GET", aggregatePath, { token: owner.key }),
        s.request("GET", fleetPath, { token: owner.key }),
      ]);
      assert.equal(a.status, 200);
      assert.deepEqual(a.json, first.json, `aggregate read ${i}`);
      assert.deepEqual(f.json, firstFleet.json, `fleet read ${i}`);
    }

    // Golems 20–99 beat at one instant: online for 60 s after it, not at 60 s.
    clock.advance(59_999);
    assert.equal((await s.request("GET", aggregatePath, { token: owner.key })).json.online, 80);
    clock.advance(1);
    const silent = await s.request("GET", aggregatePath, { token: owner.key });
    assert.deepEqual(silent.json, {
      user_id: owner.id,
      golems: 100,
      online: 0,
      dreaming: 0,
      by_phase: {},
      by_regime: {},
      mean_vitality: null,
      mean_pad: null,
      total_nav: null,
      max_tick: null,
      top_domains: [],
    });
    const fleet = await s.request("GET", fleetPath, { token: owner.key });
    assert.equal(fleet.json.golems.length, 100, "the fleet view still lists every golem heard from");
    assert.equal(fleet.json.golems.filter((g: { online: boolean }) => g.online).length, 0);
  });

  it("shows one golem's snapshot with its last heartbeat and whether it is connected", async () => {
    const id = golems[50] as string;
    const { sock } = await TestSocket.connect(s.url, owner.key);
    await sock.request(beat(50, id));
    const on = await s.request("GET", `/v1/styx/golem/${id}/snapshot`, { token: owner.key });
    assert.equal(on.status, 200);
    assert.equal(on.json.connected, true);
    assert.equal(on.json.presence.tick, beat(50, id).tick);
    assert.equal(on.json.presence.online, true);
    await sock.close();
    while (s.styx.fabric.hub.online(id)) await new Promise((r) => setTimeout(r, 5));
    const off = await s.request("GET", `/v1/styx/golem/${id}/snapshot`, { token: owner.key });
    assert.equal(off.json.connected, false);
  });

  it("never shows another user's fleet (404 of tenancy)", async () => {
    const other = await s.user();
    for (const path of [`/v1/styx/fleet/${owner.id}`, `/v1/styx/fleet/${owner.id}/aggregate`, `/v1/styx/golem/${golems[1]}/snapshot`]) {
      assert.equal((await s.request("GET", path, { token: other.key })).status, 404, path);
    }
  });
});

describe("steering", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it("reaches its golem over the socket and says delivered: true; delivered: false while the golem is offline", async () => {
    const u = await s.user();
    const g = await s.golem(u.key);
    const gk = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: "golem", golem_id: g.id } });
    const surface = await TestSocket.connect(s.url, u.key);

    const offline = await surface.sock.request({ type: "steer", golem_id: g.id, intent: "hold", severity: "low" });
    assert.equal(offline.type, "ack");
    assert.equal(offline.delivered, false);

    const golem = await TestSocket.connect(s.url, gk.json.key);
    assert.equal(golem.welcome.golem_id, g.id);
    const own = `golem:${g.id}`;
    assert.deepEqual(Object.keys(golem.welcome.streams), [own], "a golem key follows its golem's stream, not its owner's");
    const ack = await surface.sock.request({ type: "steer", golem_id: g.id, intent: "reduce exposure", severity: "high" });
    assert.equal(ack.delivered, true);
    assert.equal(ack.stream, `user:${u.id}`);
    const got = await golem.sock.next((f) => f.channel === "styx:steer" && f.stream === own);
    assert.equal(got.seq, golem.welcome.streams[own].seq + 1);
    assert.deepEqual(got.payload, { golem_id: g.id, intent: "reduce exposure", severity: "high" });
    assert.ok(await surface.sock.next((f) => f.channel === "styx:steer" && f.seq === ack.seq), "the owner's surfaces see it too");

    const http = await s.request("POST", `/v1/styx/golem/${g.id}/steer`, { token: u.key, body: { intent: "stop", severity: "critical" } });
    assert.equal(http.status, 200);
    assert.equal(http.json.delivered, true);
    assert.equal((await golem.sock.next((f) => f.channel === "styx:steer" && f.seq === got.seq + 1)).payload.intent, "stop");
    // A sibling's steer and the owner's other traffic never reach this golem's socket.
    const sibling = await s.golem(u.key);
    await surface.sock.request({ type: "steer", golem_id: sibling.id, intent: "for the sibling" });
    await surface.sock.request({ type: "event", golem_id: sibling.id, event: { type: "golem:tick" } });
    assert.equal((await golem.sock.request({ type: "ping" })).type, "pong");
    assert.deepEqual(
      golem.sock.events().map((f) => `${f.stream}:${f.payload.intent}`),
      [`${own}:reduce exposure`, `${own}:stop`],
    );
    await Promise.all([surface.sock.close(), golem.sock.close()]);
  });

  it("refuses steering another user's golem with 404, over the socket and over HTTP", async () => {
    const a = await s.user();
    const b = await s.user();
    const bg = await s.golem(b.key);
    const { sock } = await TestSocket.connect(s.url, a.key);
    assert.equal((await sock.request({ type: "steer", golem_id: bg.id, intent: "x" })).code, "STYX_NOT_FOUND");
    assert.equal((await s.request("POST", `/v1/styx/golem/${bg.id}/steer`, { token: a.key, body: { intent: "x" } })).status, 404);
    await sock.close();
  });
});

describe("clade sync relay", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 2, 12));
  let s: TestServer;
  let u: { id: string; key: string };
  let ids: string[];
  let keys: string[];

  before(async () => {
    s = await startTestServer({ persistent: true, clock });
    u = await s.user();
    ids = [];
    keys = [];
    for (let i = 0; i < 4; i++) {
      const g = await s.golem(u.key);
      ids.push(g.id);
      const k = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: `g${i}`, golem_id: g.id } });
      keys.push(k.json.key);
      const reg = await s.request("POST", "/v1/styx/clade/register", { token: k.json.key, body: { golem_id: g.id, domains: ["defi"] } });
      assert.equal(reg.status, 200);
    }
  });
  after(() => s.close());

  it("lists the registered peers with their liveness", async () => {
    const a = await TestSocket.connect(s.url, keys[0] as string);
    const peers = await s.request("GET", `/v1/styx/clade/peers/${u.id}`, { token: u.key });
    assert.deepEqual(
      peers.json.peers.map((p: { golem_id: string; online: boolean }) => [p.golem_id, p.online]),
      ids.map((id, i): [string, boolean] => [id, i === 0]).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
      "registration order; ties (one clock instant here) by golem id",
    );
    await a.sock.close();
  });

  it("relays a delta to online siblings at once and to an offline sibling when it reconnects, once", async () => {
    const [a, b] = await Promise.all([TestSocket.connect(s.url, keys[0] as string), TestSocket.connect(s.url, keys[1] as string)]);
    const ack = await a.sock.request({ type: "clade_delta", golem_id: ids[0], entries: [{ key: "gas", value: 41 }] });
    assert.equal(ack.type, "ack");
    assert.deepEqual([ack.delivered, ack.stored], [1, 2], "golem 1 online; golems 2 and 3 offline");
    assert.equal(ack.stream, undefined, "a golem key's ack names no position on its owner's stream");
    const live = await b.sock.next((f) => f.channel === "styx:clade:delta");
    assert.equal(live.stream, `golem:${ids[1]}`, "a golem key's socket gets it on its golem's stream");
    assert.deepEqual(live.payload, { golem_id: ids[0], entries: [{ key: "gas", value: 41 }] });

    const c = await TestSocket.connect(s.url, keys[2] as string);
    const held = await c.sock.next((f) => f.channel === "styx:clade:delta");
    assert.equal(held.stream, `golem:${ids[2]}`);
    assert.equal(held.seq, c.welcome.streams[`golem:${ids[2]}`].seq + 1, "replayed just after the welcome's position");
    assert.deepEqual(held.payload.entries, [{ key: "gas", value: 41 }]);
    await c.sock.close();
    const again = await TestSocket.connect(s.url, keys[2] as string);
    await again.sock.request({ type: "ping" });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(again.sock.events().filter((f) => f.channel === "styx:clade:delta").length, 0, "handed out once");
    await Promise.all([a.sock.close(), b.sock.close(), again.sock.close()]);
  });

  it("expires a delta held for 7 days, and keeps one younger than that", async () => {
    const a = await TestSocket.connect(s.url, keys[0] as string);
    const old = await a.sock.request({ type: "clade_delta", golem_id: ids[0], entries: [{ key: "old" }] });
    clock.advance(3 * 86_400_000);
    const young = await a.sock.request({ type: "clade_delta", golem_id: ids[0], entries: [{ key: "young" }] });
    clock.advance(4 * 86_400_000 + 1000);
    await s.styx.tasks.runNow("clade-expiry");
    await a.sock.close();

    const d = await TestSocket.connect(s.url, keys[3] as string);
    await d.sock.until(() => d.sock.events().some((f) => f.channel === "styx:clade:delta") || undefined);
    await d.sock.request({ type: "ping" });
    const deltas = d.sock.events().filter((f) => f.channel === "styx:clade:delta");
    assert.deepEqual([old.type, young.type], ["ack", "ack"]);
    assert.deepEqual(
      deltas.map((f) => f.payload.entries),
      [[{ key: "young" }]],
      "the deltas held 7 days and more (the first test's and 'old') expired; 'young' waited",
    );
    await d.sock.close();
  });
});
