import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { SqliteCladeStore } from "../../../../src/adapters/sqlite/sqlite-clade-store.js";
import type { Principal } from "../../../../src/core/identity/principal.js";
import { initCrypto } from "../../../../src/core/platform/crypto.js";
import { golemPrincipal, type Seen, socketLayer, turns, USER } from "./kit.js";

before(() => initCrypto());

/** The `streams` of a control frame. */
const streamsOf = (f: Seen | undefined) => (f?.streams ?? {}) as Record<string, Record<string, unknown>>;

/** The kit's user key ("good"), g1's bound key, g2's bound key and g2's wallet session. */
const principals = () =>
  new Map<string, Principal>([
    ["good", USER],
    ["g1", golemPrincipal("g1")],
    ["g2", golemPrincipal("g2")],
    ["g2-session", golemPrincipal("g2", "session")],
  ]);

const denials = async (t: Awaited<ReturnType<typeof socketLayer>>) =>
  (await t.audit.list(0, 1000)).filter((a) => a.action === "tenancy.denied").map((a) => a.target);

describe("a golem credential's socket (SPEC §9: the golem:{id} stream)", () => {
  for (const token of ["g2", "g2-session"]) {
    it(`welcomes ${token === "g2" ? "a golem-bound key" : "a golem's wallet session"} on its golem's stream, not its owner's`, async () => {
      const t = await socketLayer({ principals: principals() });
      await t.publish("golem:g2", 2);
      const { transport } = await t.connect(token);
      const [welcome] = transport.control("welcome");
      assert.deepEqual(welcome?.streams, { "golem:g2": { epoch: (await t.real.position("golem:g2")).epoch, seq: 2 } });
      assert.equal(welcome?.golem_id, "g2");
      await t.fabric.steer(t.golems.get("g3") as never, "to g3", "high");
      await t.fabric.relay(t.golems.get("g1") as never, { type: "golem:tick", note: "g1's event" });
      await t.fabric.steer(t.golems.get("g2") as never, "to g2", "high");
      await turns();
      assert.deepEqual(transport.events(), ["golem:g2#3"], "its own steer only: no sibling's steer, no owner stream");
      assert.equal(transport.frames.find((f) => f.stream === "golem:g2")?.channel, "styx:steer");
      t.close();
    });
  }

  it("answers a resume of its owner's or a sibling's stream not_found (audited), and resumes its own", async () => {
    const t = await socketLayer({ principals: principals() });
    await t.fabric.steer(t.golems.get("g2") as never, "missed", "low");
    const epoch = (await t.real.position("golem:g2")).epoch;
    const { transport, send } = await t.connect("g2");
    send({
      type: "resume",
      id: "r",
      streams: { "user:u1": { epoch, seq: 0 }, "golem:g1": { epoch, seq: 0 }, "golem:g2": { epoch, seq: 0 } },
    });
    await turns(10);
    const streams = streamsOf(transport.control("resumed")[0]);
    const absent = { recovered: false, epoch: "", seq: 0, reason: "not_found" };
    assert.deepEqual(streams["user:u1"], absent);
    assert.deepEqual(streams["golem:g1"], absent);
    assert.deepEqual(streams["golem:g2"], { recovered: true, epoch, seq: 1 });
    assert.deepEqual(transport.events(), ["golem:g2#1"]);
    assert.deepEqual(await denials(t), ["user:u1", "golem:g1"]);
    t.close();
  });

  it("lets an owner credential follow its golems' streams, and nobody else's", async () => {
    const t = await socketLayer({ principals: principals() });
    await t.fabric.steer(t.golems.get("g3") as never, "steer g3", "low");
    const epoch = (await t.real.position("golem:g3")).epoch;
    const { transport, send } = await t.connect("good");
    send({ type: "resume", id: "r", streams: { "golem:g3": { epoch, seq: 0 }, "golem:x1": { epoch, seq: 0 } } });
    await turns(10);
    const streams = streamsOf(transport.control("resumed")[0]);
    assert.equal(streams["golem:g3"]?.recovered, true);
    assert.equal(streams["golem:x1"]?.reason, "not_found");
    assert.deepEqual(
      transport.events().filter((e) => e.startsWith("golem:")),
      ["golem:g3#1"],
    );
    t.close();
  });

  it("refuses a golem credential's steer with 403, and its messages for a sibling with 404", async () => {
    const t = await socketLayer({ principals: principals() });
    const { transport, send } = await t.connect("g1");
    send({ type: "steer", id: "s", golem_id: "g1", intent: "self" });
    send({ type: "steer", id: "s2", golem_id: "g2", intent: "sibling" });
    send({ type: "heartbeat", id: "h", golem_id: "g2", phase: "x" });
    send({ type: "event", id: "e", golem_id: "g3", event: { type: "golem:tick" } });
    send({ type: "clade_delta", id: "c", golem_id: "g2", entries: [{ n: 1 }] });
    send({ type: "heartbeat", id: "own", golem_id: "g1", phase: "x" });
    await turns(20);
    const answers = Object.fromEntries(
      transport.frames.filter((f) => f.id !== undefined).map((f) => [f.id, f.type === "ack" ? "ack" : f.code]),
    );
    assert.deepEqual(answers, {
      s: "STYX_AUTH_FORBIDDEN",
      s2: "STYX_AUTH_FORBIDDEN",
      h: "STYX_NOT_FOUND",
      e: "STYX_NOT_FOUND",
      c: "STYX_NOT_FOUND",
      own: "ack",
    });
    assert.equal((await t.real.position("golem:g1")).seq, 0, "nothing steered");
    t.close();
  });

  it("acknowledges its events and deltas without a position on its owner's stream (whose seqs count its siblings' events)", async () => {
    const t = await socketLayer({ principals: principals() });
    for (const token of ["g1", "good"]) {
      const { transport, send } = await t.connect(token);
      send({ type: "event", id: "e", golem_id: "g1", event: { type: "golem:tick" } });
      send({ type: "clade_delta", id: "c", golem_id: "g1", entries: [{ n: 1 }] });
      await turns(20);
      const acks = transport.control("ack").map((f) => [f.id, f.stream ?? null]);
      assert.deepEqual(
        acks,
        token === "g1"
          ? [
              ["e", null],
              ["c", null],
            ]
          : [
              ["e", "user:u1"],
              ["c", "user:u1"],
            ],
        token,
      );
    }
    t.close();
  });

  it("gets its siblings' clade deltas on its stream, and the ones held while it was offline as that stream's history", async () => {
    const t = await socketLayer({ principals: principals() });
    for (const id of ["g1", "g2", "g3"]) await t.fabric.register(t.golems.get(id) as never, []);
    const g1 = await t.connect("g1");
    await t.fabric.steer(t.golems.get("g2") as never, "before the deltas", "low");
    const first = await t.fabric.cladeDelta(t.golems.get("g1") as never, [{ n: 1 }]);
    assert.deepEqual([first.delivered, first.stored], [0, 2], "g2 and g3 are offline");
    await t.fabric.steer(t.golems.get("g2") as never, "between", "low");
    await t.fabric.cladeDelta(t.golems.get("g1") as never, [{ n: 2 }]);
    assert.deepEqual(g1.transport.events(), [], "the sender's stream does not carry its own delta");

    const g2 = await t.connect("g2");
    await turns(10);
    const welcome = g2.transport.control("welcome")[0];
    // golem:g2 holds: 1 steer "before", 2 delta n=1, 3 steer "between", 4 delta n=2.
    assert.equal(streamsOf(welcome)["golem:g2"]?.seq, 1, "the position just before the oldest held delta");
    assert.deepEqual(g2.transport.events(), ["golem:g2#2", "golem:g2#3", "golem:g2#4"], "replayed in order, after the welcome");
    assert.equal(g2.transport.frames.indexOf(welcome as Seen), 0);
    const live = await t.fabric.cladeDelta(t.golems.get("g3") as never, [{ n: 3 }]);
    await turns();
    assert.equal(live.delivered, 2, "g1 and now g2 are online");
    assert.deepEqual(g2.transport.events().at(-1), "golem:g2#5");
    g2.transport.close(1000);

    const again = await t.connect("g2");
    await turns(10);
    assert.deepEqual(again.transport.events(), [], "held deltas are handed out once");
    assert.equal(streamsOf(again.transport.control("welcome")[0])["golem:g2"]?.seq, 5);
    t.close();
  });

  it("sends held deltas the history no longer reaches (another epoch) as they were held, after a welcome at the current position", async () => {
    const t = await socketLayer({ principals: principals() });
    await t.fabric.steer(t.golems.get("g2") as never, "now", "low");
    const stale = { stream: "golem:g2", epoch: "lost-epoch", seq: 7, ts: 1, channel: "styx:clade:delta", payload: {}, payloadJson: "{}" };
    await new SqliteCladeStore(t.db).enqueue(["g2"], stale, t.clock.now() + 60_000, 1000);
    const g2 = await t.connect("g2");
    await turns(10);
    const epoch = (await t.real.position("golem:g2")).epoch;
    assert.deepEqual(streamsOf(g2.transport.control("welcome")[0])["golem:g2"], { epoch, seq: 1 });
    assert.deepEqual(
      g2.transport.frames.filter((f) => f.stream === "golem:g2").map((f) => `${f.epoch === epoch ? "now" : f.epoch}#${f.seq}`),
      ["lost-epoch#7"],
    );
    t.close();
  });

  it("hands a delta held for a golem to an owner socket that speaks for it, as published on its stream", async () => {
    const t = await socketLayer({ principals: principals() });
    for (const id of ["g1", "g2"]) await t.fabric.register(t.golems.get(id) as never, []);
    await t.fabric.cladeDelta(t.golems.get("g1") as never, [{ n: 1 }]);
    const owner = await t.connect("good");
    owner.send({ type: "heartbeat", id: "h", golem_id: "g2" });
    await turns(10);
    assert.deepEqual(owner.transport.events(), ["golem:g2#1"]);
    t.close();
  });
});
