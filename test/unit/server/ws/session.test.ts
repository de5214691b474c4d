import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { initCrypto } from "../../../../src/core/platform/crypto.js";
import { StyxError } from "../../../../src/core/platform/errors.js";
import { type Seen, socketLayer, turns } from "./kit.js";

before(() => initCrypto());

/** The `streams` of a control frame. */
const streamsOf = (f: Seen | undefined) => (f?.streams ?? {}) as Record<string, Record<string, unknown>>;

describe("a socket session", () => {
  it("welcomes a user key with its own stream joined at its position", async () => {
    const t = await socketLayer();
    await t.publish("user:u1", 2);
    const { transport } = await t.connect();
    const [welcome] = transport.control("welcome");
    assert.deepEqual(welcome?.streams, { "user:u1": { epoch: (await t.real.position("user:u1")).epoch, seq: 2 } });
    await t.publish("user:u1", 1);
    assert.deepEqual(transport.events(), ["user:u1#3"], "only what came after the join");
    t.close();
  });

  it("answers a ping only after the events sent before it were published and acknowledged", async () => {
    const t = await socketLayer();
    const { transport, send } = await t.connect();
    for (let i = 0; i < 5; i++) send({ type: "event", id: `e${i}`, golem_id: "g1", event: { type: "golem:tick", i } });
    send({ type: "ping", id: "p" });
    await turns(20);
    const order = transport.frames.filter((f) => f.type === "ack" || f.type === "pong").map((f) => `${f.type}:${f.id}`);
    assert.deepEqual(order, ["ack:e0", "ack:e1", "ack:e2", "ack:e3", "ack:e4", "pong:p"]);
    const seqs = transport.control("ack").map((f) => f.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => Number(a) - Number(b)),
      "events sequenced in the order sent",
    );
    t.close();
  });

  it("replays the missed events, then the live ones held during the replay, each once and in order", async () => {
    const t = await socketLayer();
    const [first] = await t.publish("domain:defi", 4);
    const { transport, send } = await t.connect();
    t.history.gate();
    send({ type: "resume", id: "r", streams: { "domain:defi": { epoch: first?.epoch, seq: 1 } } });
    await turns();
    await t.history.step();
    assert.deepEqual(transport.events(), ["domain:defi#2"], "one page so far");
    await t.publish("domain:defi", 2); // live during the replay: held
    assert.deepEqual(transport.events(), ["domain:defi#2"], "live events wait behind the replay");
    await t.history.flow();
    assert.deepEqual(transport.events(), ["domain:defi#2", "domain:defi#3", "domain:defi#4", "domain:defi#5", "domain:defi#6"]);
    t.close();
  });

  it("handles a subscribe sent during a replay after it, without sending anything twice", async () => {
    const t = await socketLayer();
    const [first] = await t.publish("domain:defi", 3);
    const { transport, send } = await t.connect();
    t.history.gate();
    send({ type: "resume", id: "r", streams: { "domain:defi": { epoch: first?.epoch, seq: 0 } } });
    await turns();
    send({ type: "subscribe", id: "s", domains: ["defi"], public: false });
    await t.history.step();
    await t.publish("domain:defi", 1);
    assert.equal(transport.control("subscribed").length, 0, "the subscribe waits for the resume");
    await t.history.flow();
    await turns();
    assert.deepEqual(transport.events(), ["domain:defi#1", "domain:defi#2", "domain:defi#3", "domain:defi#4"]);
    const [subscribed] = transport.control("subscribed");
    assert.equal(streamsOf(subscribed)["domain:defi"]?.seq, 4);
    await t.publish("domain:defi", 1);
    assert.deepEqual(transport.events().slice(-1), ["domain:defi#5"]);
    t.close();
  });

  it("stops a replay whose stream was left, and drops what it held", async () => {
    const t = await socketLayer();
    const [first] = await t.publish("domain:defi", 3);
    const { session, transport, send } = await t.connect();
    t.history.gate();
    send({ type: "resume", streams: { "domain:defi": { epoch: first?.epoch, seq: 0 } } });
    await turns();
    await t.history.step();
    await t.publish("domain:defi", 2);
    assert.ok(session.connection.queuedBytes > 0, "the live events are held and counted");
    session.subscriptions.leave("domain:defi");
    assert.equal(session.connection.queuedBytes, 0, "held bytes released");
    await t.history.flow();
    await t.publish("domain:defi", 1);
    assert.deepEqual(transport.events(), ["domain:defi#1"], "nothing after the leave");
    t.close();
  });

  it("does not follow a stream whose join was under way when the socket closed", async () => {
    const t = await socketLayer();
    const { session, transport, send } = await t.connect();
    t.history.holdPositions();
    send({ type: "subscribe", domains: ["defi"], public: false });
    await turns();
    transport.close(1006);
    t.history.releasePositions();
    await turns();
    assert.equal(t.hub.size, 0);
    assert.deepEqual([...session.subscriptions.streams()], []);
    await t.publish("domain:defi", 1);
    assert.deepEqual(transport.events(), []);
    t.close();
  });

  it("answers a resume from another epoch with recovered: false and delivers live events from the current position", async () => {
    const t = await socketLayer();
    await t.publish("domain:defi", 3);
    const { transport, send } = await t.connect();
    send({ type: "resume", id: "r", streams: { "domain:defi": { epoch: "an-old-epoch", seq: 2 } } });
    await turns();
    const [resumed] = transport.control("resumed");
    const answer = streamsOf(resumed)["domain:defi"];
    assert.equal(answer?.recovered, false);
    assert.equal(answer?.reason, "epoch_changed");
    assert.equal(answer?.seq, 3);
    await t.publish("domain:defi", 1);
    assert.deepEqual(transport.events(), ["domain:defi#4"], "nothing replayed, live from the current position");
    t.close();
  });

  it("answers not_found for another user's stream, but a failing store with its own error", async () => {
    const t = await socketLayer();
    const { transport, send } = await t.connect();
    send({ type: "resume", id: "r", streams: { "user:u2": { epoch: "e", seq: 0 } } });
    await turns();
    const [resumed] = transport.control("resumed");
    assert.deepEqual(streamsOf(resumed)["user:u2"], {
      recovered: false,
      epoch: "",
      seq: 0,
      reason: "not_found",
    });
    t.audit.append = async () => {
      throw new StyxError("STYX_DEPENDENCY_UNAVAILABLE", "the audit store is down");
    };
    send({ type: "resume", id: "r2", streams: { "user:u2": { epoch: "e", seq: 0 } } });
    await turns();
    const errors = transport.control("error");
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.code, "STYX_DEPENDENCY_UNAVAILABLE");
    assert.equal(errors[0]?.id, "r2");
    t.close();
  });

  it("waits for the reader before sending more of a replay", async () => {
    const t = await socketLayer({ maxQueueBytes: 10_000 });
    const [first] = await t.publish("domain:defi", 3);
    const { transport, send } = await t.connect();
    transport.bufferedAmount = 6_000; // over half the bound
    send({ type: "resume", streams: { "domain:defi": { epoch: first?.epoch, seq: 0 } } });
    await turns(10);
    assert.deepEqual(transport.events(), [], "nothing while the backlog is over half the bound");
    transport.drain();
    await turns(10);
    assert.deepEqual(transport.events(), ["domain:defi#1", "domain:defi#2", "domain:defi#3"]);
    t.close();
  });

  it("closes with 4008 a socket whose held live events pass its bound", async () => {
    const t = await socketLayer({ maxQueueBytes: 2_000 });
    const [first] = await t.publish("domain:defi", 2);
    const { transport, send } = await t.connect();
    t.history.gate();
    send({ type: "resume", streams: { "domain:defi": { epoch: first?.epoch, seq: 0 } } });
    await turns();
    await t.publish("domain:defi", 20);
    assert.equal(transport.closedWith, 4008);
    assert.equal(t.hub.size, 0);
    await t.history.flow();
    t.close();
  });

  it("closes a socket that does not authenticate with a valid key, and refuses messages before auth", async () => {
    const t = await socketLayer();
    const bad = await t.connect("nope");
    assert.equal(bad.transport.closedWith, 4401);
    const late = await t.connect(null);
    late.send({ type: "ping" });
    await turns();
    assert.equal(late.transport.control("error")[0]?.code, "STYX_AUTH_REQUIRED");
    assert.equal(late.transport.closedWith, 4401);
    t.close();
  });

  it("reports each refused credential with the socket's address, and only those", async () => {
    const t = await socketLayer();
    await t.connect("nope");
    const late = await t.connect(null);
    late.send({ type: "auth", token: "still-nope" });
    await turns();
    await t.connect("good");
    assert.deepEqual(t.authFailures, [
      { ip: "127.0.0.1", code: "STYX_AUTH_INVALID_KEY" },
      { ip: "127.0.0.1", code: "STYX_AUTH_INVALID_KEY" },
    ]);
    t.close();
  });
});
