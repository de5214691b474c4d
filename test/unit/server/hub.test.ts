import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { socketLayer } from "./ws/kit.js";

before(() => initCrypto());

describe("the hub", () => {
  it("delivers a user stream's events to the sockets that joined it, and knows who speaks for a golem", async () => {
    const t = await socketLayer();
    const { session, transport } = await t.connect();
    const other = await t.connect();
    await t.publish("user:u1", 1);
    assert.deepEqual(transport.events(), ["user:u1#1"]);
    assert.deepEqual(other.transport.events(), ["user:u1#1"]);
    assert.ok(t.hub.identify(session, "g1"), "the first identify counts");
    assert.equal(t.hub.identify(session, "g1"), false, "only the first");
    assert.equal(t.hub.online("g1"), true);
    other.transport.close(1000);
    assert.equal(t.hub.size, 1);
    t.close();
  });

  it("gathers a domain's events of one tick into one frame for all its sockets", async () => {
    const t = await socketLayer();
    const a = await t.connect();
    const b = await t.connect();
    for (const s of [a, b]) s.send({ type: "subscribe", domains: ["defi"], public: false });
    await new Promise((r) => setTimeout(r, 10));
    const before = a.transport.writes;
    for (let i = 0; i < 3; i++) await t.bus.publish({ stream: "domain:defi", channel: "styx:test", payload: { i } });
    t.hub.flush();
    assert.deepEqual(a.transport.events(), ["domain:defi#1", "domain:defi#2", "domain:defi#3"]);
    assert.deepEqual(b.transport.events(), a.transport.events());
    assert.equal(a.transport.writes - before, 1, "one frame for the tick");
    t.close();
  });

  it("does not index again a socket that closed while one of its messages was in flight", async () => {
    // A subscribe or an auth awaits the history between its joins (a NATS round trip on a
    // macronode); the socket can close meanwhile, and the hub forgets it at once. A join or an
    // identify arriving after that must not put it back: it would stay in the index for good,
    // keep its golem online, and be handed the golem's held clade deltas.
    const t = await socketLayer();
    const { session, transport } = await t.connect();
    session.connection.close("STYX_SHUTTING_DOWN");
    assert.equal(t.hub.size, 0, "removed at close");
    t.hub.join(session, "domain:defi");
    assert.equal(t.hub.identify(session, "g1"), false, "a late identify is refused, so no clade delta is taken for it");
    assert.equal(t.hub.online("g1"), false, "the golem is not online through a closed socket");
    assert.deepEqual([...session.subscriptions.streams()], [], "nothing is followed after the close");
    const before = transport.frames.length;
    await t.publish("domain:defi", 1);
    await t.publish("user:u1", 1);
    assert.equal(transport.frames.length, before, "nothing is sent to it");
    t.close();
  });
});
