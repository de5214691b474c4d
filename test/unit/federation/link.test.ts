import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import { FederationLink } from "../../../src/core/federation/link.js";
import type { RecordOutcome } from "../../../src/core/federation/link-outbox.js";
import { type FederationRecord, OUTBOX_TTL_MS } from "../../../src/core/federation/records.js";
import { UpstreamError } from "../../../src/core/federation/upstream-transport.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { FakeUpstream, SetApplier } from "../../../src/testing/fake-upstream.js";

const ME = "sx_00000000000000d0";
const UP = "sx_00000000000000aa";
const OTHER = "sx_00000000000000bb";
const SRC = "0123456789abcdef01234567";

function deposit(origin: string, id: string, at: number, domain = "defi"): FederationRecord {
  return {
    origin,
    id,
    domain,
    at,
    kind: "pheromone",
    pheromone: { layer: "threat", class: "rug", intensity: 0.9, regime: "bull", source: SRC, hv: null },
  };
}

function setup(opts: { flows?: string; domains?: string; local?: string[] } = {}) {
  const clock = new ManualClock();
  const store = new MemoryFederationStore();
  const upstream = new FakeUpstream(UP);
  const applier = new SetApplier();
  const counts = new Map<string, number>();
  const link = new FederationLink({
    instanceId: ME,
    version: "test",
    embedDim: 8,
    flows: parseFlows(opts.flows ?? "pheromone,lethe,causal"),
    domains: parseFederatedDomains(opts.domains ?? "defi"),
    store,
    applier,
    transport: upstream,
    clock,
    random: () => 0.5, // no jitter: 1 - 0.2 + 0.4 · 0.5 = 1
    localDomains: async () => opts.local ?? [],
    count: (direction, kind, outcome: RecordOutcome, n) => {
      const k = `${direction}/${kind}/${outcome}`;
      counts.set(k, (counts.get(k) ?? 0) + n);
    },
  });
  /** Moves the clock, ticks, and waits for the link's work. */
  const step = async (ms: number) => {
    clock.advance(ms);
    link.tick();
    await link.idle();
  };
  return { clock, store, upstream, applier, counts, link, step };
}

describe("FederationLink: connecting", () => {
  it("says hello with its id, flows and domains, then follows the agreed domains' streams", async () => {
    const t = setup();
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "connected");
    assert.deepEqual(t.upstream.hellos[0], {
      instanceId: ME,
      version: "test",
      flows: ["causal", "lethe", "pheromone"],
      domains: ["defi"],
      embedDim: 8,
    });
    assert.equal(t.link.status().upstreamInstanceId, UP);
    assert.deepEqual(t.link.status().streams, ["federation:defi"]);
  });

  it("retries a lost upstream after 1, 2, 4 … 60 s and never longer", async () => {
    const t = setup();
    t.upstream.answerHello = () => {
      throw new UpstreamError("network", "connect ECONNREFUSED");
    };
    t.link.start();
    await t.link.idle();
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const before = t.upstream.hellos.length;
      let waited = 0;
      while (t.upstream.hellos.length === before) {
        await t.step(250);
        waited += 250;
      }
      waits.push(waited);
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
    assert.equal(t.link.state, "disconnected");
    assert.match(t.link.status().lastError ?? "", /ECONNREFUSED/);
  });

  it("starts the backoff over after a connection that held 30 s", async () => {
    const t = setup();
    let fail = true;
    t.upstream.answerHello = () => {
      if (fail) throw new UpstreamError("unavailable", "503", { status: 503 });
      return t.upstream.reply();
    };
    t.link.start();
    await t.link.idle();
    await t.step(1000);
    await t.step(2000);
    fail = false;
    await t.step(4000);
    assert.equal(t.link.state, "connected");
    await t.step(30_000);
    t.upstream.drop(new UpstreamError("network", "socket closed 1006"));
    await t.link.idle();
    assert.equal(t.link.state, "disconnected");
    const before = t.upstream.hellos.length;
    await t.step(1000);
    assert.equal(t.upstream.hellos.length, before + 1, "reconnected after 1 s, not 8");
    assert.equal(t.link.state, "connected");
  });

  it("is refused when the upstream answers STYX_FEDERATION_LOOP, and asks again only about once a minute", async () => {
    const t = setup();
    t.upstream.answerHello = () => {
      throw new UpstreamError("refused", "409 STYX_FEDERATION_LOOP", { status: 409, code: "STYX_FEDERATION_LOOP" });
    };
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "refused");
    await t.step(47_000);
    assert.equal(t.upstream.hellos.length, 1, "no retry within 47 s");
    await t.step(13_000);
    assert.equal(t.upstream.hellos.length, 2);
    assert.equal(t.link.state, "refused");
    assert.match(t.link.status().lastError ?? "", /LOOP/);
  });

  it("refuses by itself to link to an upstream with its own instance id", async () => {
    const t = setup();
    t.upstream.answerHello = () => ({ ...t.upstream.reply(), instanceId: ME });
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "refused");
    assert.equal(t.upstream.connected, false, "no socket opened");
    assert.match(t.link.status().lastError ?? "", /own instance id/);
  });

  it("follows only the domains the upstream agreed to", async () => {
    const t = setup({ domains: "defi,nft" });
    t.link.start();
    await t.link.idle();
    assert.deepEqual(t.link.status().streams, ["federation:defi"]);
  });

  it("with *, follows the domains seen locally, followed before, and named by the upstream", async () => {
    const t = setup({ domains: "*", local: ["defi", "nft"] });
    await t.store.saveCursor("federation:gaming", { epoch: "e1", seq: 3 });
    t.upstream.answerHello = () => ({
      ...t.upstream.reply(["*"]),
      positions: new Map([["federation:perps", { epoch: "e1", seq: 9 }]]),
    });
    t.link.start();
    await t.link.idle();
    assert.deepEqual(t.upstream.hellos[0]?.domains, ["*"]);
    assert.deepEqual(t.link.status().streams, ["federation:defi", "federation:gaming", "federation:nft", "federation:perps"]);
  });

  it("opens no socket when nothing comes down, and still pushes", async () => {
    const t = setup({ flows: "pheromone:up" });
    t.store.enqueue({ record: deposit(ME, "d1", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "connected");
    assert.equal(t.upstream.connected, false);
    assert.equal(t.upstream.pushes.length, 1);
  });
});

describe("FederationLink: down", () => {
  it("resumes each stream from its stored cursor and stores the position of each applied record", async () => {
    const t = setup();
    await t.store.saveCursor("federation:defi", { epoch: "e1", seq: 5 });
    t.link.start();
    await t.link.idle();
    assert.deepEqual([...(t.upstream.resumes[0] ?? [])], [["federation:defi", { epoch: "e1", seq: 5 }]]);
    assert.deepEqual(t.upstream.snapshots, [], "no snapshot with a cursor");
    t.upstream.answer("federation:defi", { recovered: true, position: { epoch: "e1", seq: 5 } });
    t.upstream.emit("federation:defi", 6, deposit(OTHER, "r6", t.clock.now()));
    await t.link.idle();
    assert.deepEqual(
      t.applier.applied.map((r) => r.id),
      ["r6"],
    );
    assert.deepEqual(await t.store.cursor("federation:defi"), { epoch: "e1", seq: 6 });
    assert.equal(t.counts.get("down/pheromone/accepted"), 1);
  });

  it("takes the snapshot on a first link, stores its position and resumes from it", async () => {
    const t = setup();
    t.upstream.snapshotLines.set("defi", [
      { type: "record", record: deposit(OTHER, "s1", t.clock.now()) },
      { type: "record", record: deposit(UP, "s2", t.clock.now()) },
      { type: "position", position: { epoch: "e1", seq: 40 } },
    ]);
    t.link.start();
    await t.link.idle();
    assert.deepEqual(t.upstream.snapshots, ["defi"]);
    assert.deepEqual(
      t.applier.applied.map((r) => r.id),
      ["s1", "s2"],
    );
    assert.deepEqual(await t.store.cursor("federation:defi"), { epoch: "e1", seq: 40 });
    assert.deepEqual([...(t.upstream.resumes.at(-1) ?? [])], [["federation:defi", { epoch: "e1", seq: 40 }]]);
  });

  it("takes the snapshot when a resume answers recovered: false, then applies the live records held behind it", async () => {
    const t = setup();
    await t.store.saveCursor("federation:defi", { epoch: "e1", seq: 5 });
    t.upstream.snapshotLines.set("defi", [
      { type: "record", record: deposit(OTHER, "s1", t.clock.now()) },
      { type: "position", position: { epoch: "e2", seq: 100 } },
    ]);
    t.link.start();
    await t.link.idle();
    t.upstream.answer("federation:defi", { recovered: false, position: { epoch: "e2", seq: 99 }, reason: "epoch_changed" });
    t.upstream.emit("federation:defi", 101, deposit(OTHER, "live", t.clock.now()), "e2");
    await t.link.idle();
    assert.deepEqual(
      t.applier.applied.map((r) => r.id),
      ["s1", "live"],
    );
    assert.deepEqual(await t.store.cursor("federation:defi"), { epoch: "e2", seq: 101 });
    assert.equal(t.upstream.resumes.length, 1, "the snapshot is past where the socket joined: no second resume");
  });

  it("applies a repeated record once and never one of its own origin", async () => {
    const t = setup();
    await t.store.saveCursor("federation:defi", { epoch: "e1", seq: 0 });
    t.link.start();
    await t.link.idle();
    const r = deposit(OTHER, "x", t.clock.now());
    t.upstream.emit("federation:defi", 1, r);
    t.upstream.emit("federation:defi", 2, r);
    t.upstream.emit("federation:defi", 3, deposit(ME, "mine", t.clock.now()));
    await t.link.idle();
    assert.deepEqual(
      t.applier.applied.map((a) => a.id),
      ["x"],
    );
    assert.equal(t.counts.get("down/pheromone/duplicate"), 1);
    assert.equal(t.counts.get("down/pheromone/skipped"), 1);
    assert.deepEqual(await t.store.cursor("federation:defi"), { epoch: "e1", seq: 3 });
  });

  it("after a drop, resumes from the last applied record", async () => {
    const t = setup();
    await t.store.saveCursor("federation:defi", { epoch: "e1", seq: 0 });
    t.link.start();
    await t.link.idle();
    t.upstream.emit("federation:defi", 1, deposit(OTHER, "a", t.clock.now()));
    t.upstream.emit("federation:defi", 2, deposit(OTHER, "b", t.clock.now()));
    await t.link.idle();
    t.upstream.drop(new UpstreamError("network", "1006"));
    await t.link.idle();
    await t.step(1000);
    assert.equal(t.link.state, "connected");
    assert.deepEqual([...(t.upstream.resumes.at(-1) ?? [])], [["federation:defi", { epoch: "e1", seq: 2 }]]);
  });
});

describe("FederationLink: up", () => {
  it("pushes the outbox and acknowledges what was accepted, known or refused for good", async () => {
    const t = setup({ flows: "pheromone:up" });
    const now = t.clock.now();
    for (const id of ["a", "b", "c"]) t.store.enqueue({ record: deposit(ME, id, now), enqueuedAt: now, up: true, down: false });
    t.upstream.pushed = () => ({ accepted: 2, duplicates: 0, rejected: [{ index: 2, code: "STYX_VALIDATION" }] });
    t.link.start();
    await t.link.idle();
    assert.deepEqual(
      t.upstream.pushes[0]?.map((r) => r.id),
      ["a", "b", "c"],
    );
    assert.equal(await t.store.depth(), 0);
    assert.equal(t.counts.get("up/pheromone/accepted"), 2);
    assert.equal(t.counts.get("up/pheromone/rejected"), 1);
  });

  it("keeps the records of a failed push and sends them again after the backoff, the socket still up", async () => {
    const t = setup({ flows: "pheromone" });
    t.store.enqueue({ record: deposit(ME, "a", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    let down = true;
    t.upstream.pushed = (r) => {
      if (down) throw new UpstreamError("unavailable", "502", { status: 502 });
      return { accepted: r.length, duplicates: 0, rejected: [] };
    };
    t.link.start();
    await t.link.idle();
    assert.equal(t.upstream.pushes.length, 1);
    assert.equal(await t.store.depth(), 1);
    assert.equal(t.link.state, "connected", "a failed push does not drop a link whose socket is up");
    down = false;
    await t.step(500);
    assert.equal(t.upstream.pushes.length, 1, "not before the backoff");
    await t.step(500);
    assert.equal(t.upstream.pushes.length, 2);
    assert.equal(await t.store.depth(), 0);
  });

  it("without a socket, takes a push without answer for a lost link, and pushes again once a hello is answered", async () => {
    const t = setup({ flows: "pheromone:up" });
    t.store.enqueue({ record: deposit(ME, "a", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    let down = true;
    t.upstream.pushed = (r) => {
      if (down) throw new UpstreamError("network", "ECONNREFUSED");
      return { accepted: r.length, duplicates: 0, rejected: [] };
    };
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "disconnected");
    down = false;
    await t.step(1000);
    assert.equal(t.link.state, "connected");
    assert.equal(t.upstream.hellos.length, 2);
    await t.step(1000);
    assert.equal(await t.store.depth(), 0);
  });

  it("waits the upstream's Retry-After after a 429", async () => {
    const t = setup({ flows: "pheromone:up" });
    t.store.enqueue({ record: deposit(ME, "a", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    let n = 0;
    t.upstream.pushed = (r) => {
      if (n++ === 0) throw new UpstreamError("throttled", "429", { status: 429, retryAfterMs: 5000 });
      return { accepted: r.length, duplicates: 0, rejected: [] };
    };
    t.link.start();
    await t.link.idle();
    await t.step(4000);
    assert.equal(t.upstream.pushes.length, 1);
    await t.step(1000);
    assert.equal(t.upstream.pushes.length, 2);
    assert.equal(await t.store.depth(), 0);
  });

  it("drops and counts records older than 7 days and deposits that faded", async () => {
    const t = setup({ flows: "pheromone:up" });
    const now = t.clock.now();
    t.store.enqueue({ record: deposit(ME, "old", now - OUTBOX_TTL_MS - 1), enqueuedAt: now - OUTBOX_TTL_MS - 1, up: true, down: false });
    t.store.enqueue({ record: deposit(ME, "faded", now - 30 * 86_400_000), enqueuedAt: now - 60_000, up: true, down: false });
    t.store.enqueue({ record: deposit(ME, "fresh", now), enqueuedAt: now, up: true, down: false });
    t.link.start();
    await t.link.idle();
    assert.deepEqual(
      t.upstream.pushes.flat().map((r) => r.id),
      ["fresh"],
    );
    assert.equal(t.counts.get("up/pheromone/expired"), 2);
    assert.equal(await t.store.depth(), 0);
  });

  it("splits a push the upstream finds too large", async () => {
    const t = setup({ flows: "pheromone:up" });
    const now = t.clock.now();
    for (let i = 0; i < 4; i++) t.store.enqueue({ record: deposit(ME, `r${i}`, now), enqueuedAt: now, up: true, down: false });
    t.upstream.pushed = (r) => {
      if (r.length > 2) throw new UpstreamError("too_large", "413", { status: 413 });
      return { accepted: r.length, duplicates: 0, rejected: [] };
    };
    t.link.start();
    await t.link.idle();
    assert.deepEqual(
      t.upstream.pushes.map((p) => p.length),
      [4, 2, 2],
    );
    assert.equal(await t.store.depth(), 0);
  });

  it("is refused when a push is answered 403, and says hello again when the upstream forgot the link", async () => {
    const t = setup({ flows: "pheromone:up" });
    t.store.enqueue({ record: deposit(ME, "a", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    t.upstream.pushed = () => {
      throw new UpstreamError("not_linked", "409 STYX_FEDERATION_NOT_LINKED", { status: 409, code: "STYX_FEDERATION_NOT_LINKED" });
    };
    t.link.start();
    await t.link.idle();
    assert.equal(t.link.state, "disconnected");
    t.upstream.pushed = () => {
      throw new UpstreamError("refused", "403 STYX_FORBIDDEN", { status: 403 });
    };
    await t.step(1000);
    assert.equal(t.upstream.hellos.length, 2);
    await t.step(1000);
    assert.equal(t.link.state, "refused");
    assert.equal(await t.store.depth(), 1, "nothing lost while refused");
  });
});

describe("FederationLink: stop", () => {
  it("aborts a push in flight, and keeps its records", async () => {
    const t = setup({ flows: "pheromone" });
    t.store.enqueue({ record: deposit(ME, "a", t.clock.now()), enqueuedAt: t.clock.now(), up: true, down: false });
    t.upstream.pushed = (_r, signal) =>
      new Promise((_resolve, reject) =>
        signal?.addEventListener("abort", () => reject(new UpstreamError("network", "aborted")), { once: true }),
      );
    t.link.start();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    await t.link.stop();
    assert.equal(t.upstream.pushes.length, 1);
    assert.equal(await t.store.depth(), 1);
  });

  it("closes the socket and ignores what the old connection still sends", async () => {
    const t = setup();
    await t.store.saveCursor("federation:defi", { epoch: "e1", seq: 0 });
    t.link.start();
    await t.link.idle();
    assert.equal(t.upstream.connected, true);
    await t.link.stop();
    assert.equal(t.upstream.connected, false);
    assert.equal(t.link.state, "disconnected");
    t.upstream.emit("federation:defi", 1, deposit(OTHER, "late", t.clock.now()));
    await t.step(5000);
    assert.equal(t.applier.applied.length, 0);
    assert.equal(t.upstream.hellos.length, 1, "no reconnect after stop");
  });
});
