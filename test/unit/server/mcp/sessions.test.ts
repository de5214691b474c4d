import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SequencedEvent } from "../../../../src/core/fabric/event-bus.js";
import { ManualClock } from "../../../../src/core/platform/clock.js";
import { StyxError } from "../../../../src/core/platform/errors.js";
import { McpSessions, type SessionHandle } from "../../../../src/server/mcp/sessions.js";

/** A registry on a manual clock and a bus the test publishes on by hand. */
function kit(limits = { maxPerUser: 2, idleMs: 60_000 }) {
  const clock = new ManualClock();
  let deliver: (e: SequencedEvent) => void = () => {};
  const sessions = new McpSessions({
    limits,
    clock,
    bus: {
      subscribe: (h) => {
        deliver = h;
        return () => {};
      },
    },
  });
  const handle = (userId: string, credentialId = "k1") => {
    const h = { owner: { userId, credentialId }, closed: false, updates: [] as string[] };
    const s: SessionHandle & typeof h = Object.assign(h, {
      close: async () => {
        h.closed = true;
      },
      updated: (uri: string) => h.updates.push(uri),
    });
    return s;
  };
  const event = (stream: string, channel: string, payload: object = {}): SequencedEvent => ({
    stream,
    channel,
    payloadJson: JSON.stringify(payload),
    epoch: "e",
    seq: 1,
    ts: 0,
  });
  return { clock, sessions, handle, publish: (e: SequencedEvent) => deliver(e), event };
}

describe("McpSessions", () => {
  it("refuses a user's session beyond the cap with STYX_QUOTA_EXCEEDED, and makes room when one closes", async () => {
    const { sessions, handle } = kit();
    sessions.add("a", handle("u1"));
    sessions.add("b", handle("u1"));
    assert.throws(
      () => sessions.reserve("u1"),
      (e: StyxError) => e.code === "STYX_QUOTA_EXCEEDED",
    );
    sessions.reserve("u2");
    await sessions.remove("a");
    sessions.reserve("u1");
    await sessions.close();
  });

  it("answers 404 for another credential's session, even of the same user", async () => {
    const { sessions, handle } = kit();
    sessions.add("a", handle("u1", "k1"));
    assert.equal(sessions.use("a", { userId: "u1", credentialId: "k1" }).owner.credentialId, "k1");
    for (const owner of [
      { userId: "u1", credentialId: "k2" },
      { userId: "u2", credentialId: "k1" },
    ]) {
      assert.throws(
        () => sessions.use("a", owner),
        (e: StyxError) => e.code === "STYX_NOT_FOUND",
      );
    }
    assert.throws(() => sessions.use("missing", { userId: "u1", credentialId: "k1" }), StyxError);
    await sessions.close();
  });

  it("closes sessions idle for longer than idleMs, not those used since", async () => {
    const { sessions, handle, clock } = kit();
    const idle = handle("u1");
    const busy = handle("u1", "k2");
    sessions.add("idle", idle);
    sessions.add("busy", busy);
    clock.advance(50_000);
    sessions.use("busy", busy.owner);
    clock.advance(20_000);
    sessions.sweep();
    await new Promise((r) => setImmediate(r));
    assert.equal(idle.closed, true);
    assert.equal(busy.closed, false);
    assert.equal(sessions.size, 1);
    await sessions.close();
    assert.equal(busy.closed, true);
  });

  it("tells only subscribed sessions, and a user's own resource only that user's sessions", async () => {
    const { sessions, handle, publish, event } = kit({ maxPerUser: 5, idleMs: 60_000 });
    const a = handle("u1");
    const b = handle("u2");
    const c = handle("u1", "k3");
    sessions.add("a", a);
    sessions.add("b", b);
    sessions.add("c", c);
    sessions.subscribe("a", "styx://pheromones/defi");
    sessions.subscribe("a", "styx://graveyard");
    sessions.subscribe("b", "styx://graveyard");
    publish(event("domain:defi", "styx:pheromone:deposit"));
    publish(event("user:u1", "styx:bloodstain", { golem_id: "g1" }));
    assert.deepEqual(a.updates, ["styx://pheromones/defi", "styx://graveyard"]);
    assert.deepEqual(b.updates, []);
    assert.deepEqual(c.updates, []);
    sessions.unsubscribe("a", "styx://pheromones/defi");
    await sessions.remove("b");
    publish(event("domain:defi", "styx:pheromone:deposit"));
    assert.deepEqual(a.updates, ["styx://pheromones/defi", "styx://graveyard"]);
    await sessions.close();
  });
});
