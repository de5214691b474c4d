import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import type { EventBus, SequencedEvent, StyxEvent } from "../../../src/core/fabric/event-bus.js";
import { coalesce, RecordRelay } from "../../../src/core/federation/relay.js";
import { recordToWire } from "../../../src/protocol/federation-codec.js";
import { causalRecord, letheRecord, pheromoneRecord, FED_T0 as T } from "../../../src/testing/contracts/federation-fixtures.js";

const wire = (r: Parameters<typeof recordToWire>[0]) => recordToWire(r) as unknown as Record<string, unknown>;

/** A bus whose publish of a record id listed in `failing` rejects; the others are kept in call order. */
function bus(failing: Set<string> = new Set()): Pick<EventBus, "publish"> & { published: StyxEvent[] } {
  const published: StyxEvent[] = [];
  return {
    published,
    async publish(e: StyxEvent): Promise<SequencedEvent> {
      if (failing.has(String(e.payload.id))) throw new Error(`publish of ${String(e.payload.id)} failed`);
      published.push(e);
      return { stream: e.stream, epoch: "e1", seq: published.length, ts: T, channel: e.channel, payloadJson: JSON.stringify(e.payload) };
    },
  };
}

function store(ids: readonly string[]): MemoryFederationStore {
  const s = new MemoryFederationStore();
  for (const [i, id] of ids.entries()) {
    const record = i % 3 === 0 ? pheromoneRecord(id) : i % 3 === 1 ? letheRecord(id, { domain: "nft" }) : causalRecord(id);
    s.enqueue({ record, enqueuedAt: T + i, up: false, down: true });
  }
  return s;
}

const ids = (b: { published: StyxEvent[] }) => b.published.map((e) => e.payload.id);

describe("RecordRelay", () => {
  it("publishes every waiting item in seq order, batch after batch, on its domain's stream, and deletes each", async () => {
    const s = store(["r1", "r2", "r3", "r4", "r5"]);
    const b = bus();
    const relay = new RecordRelay({ store: s, bus: b, wire, batch: 2 });
    assert.equal(await relay.drain(), 5);
    assert.deepEqual(ids(b), ["r1", "r2", "r3", "r4", "r5"]);
    assert.deepEqual(
      b.published.map((e) => [e.stream, e.channel]),
      [
        ["federation:defi", "styx:federation:record"],
        ["federation:nft", "styx:federation:record"],
        ["federation:defi", "styx:federation:record"],
        ["federation:defi", "styx:federation:record"],
        ["federation:nft", "styx:federation:record"],
      ],
    );
    assert.deepEqual(b.published[0]?.payload, wire(pheromoneRecord("r1")), "the record's wire form");
    assert.equal(await s.relayDepth(), 0);
    assert.equal(await relay.drain(), 0, "nothing twice");
    assert.equal(b.published.length, 5);
  });

  it("keeps an item whose publish failed (and rejects), deletes those published, and publishes it at the next drain", async () => {
    const s = store(["a", "b", "c", "d"]);
    const failing = new Set(["c"]);
    const b = bus(failing);
    const relay = new RecordRelay({ store: s, bus: b, wire, batch: 10 });
    await assert.rejects(relay.drain(), /publish of c failed/);
    assert.deepEqual(ids(b), ["a", "b", "d"]);
    assert.deepEqual(
      (await s.relayPending(10)).map((i) => i.record.id),
      ["c"],
    );
    failing.clear();
    assert.equal(await relay.drain(), 1);
    assert.deepEqual(ids(b), ["a", "b", "d", "c"]);
    assert.equal(await s.relayDepth(), 0);
  });

  it("publishes again what a process stopped before deleting (at least once: the downstreams' claims take the repeat)", async () => {
    const s = store(["x", "y"]);
    const b = bus();
    const original = s.relayed.bind(s);
    s.relayed = async () => {
      throw new Error("killed before the delete");
    };
    await assert.rejects(new RecordRelay({ store: s, bus: b, wire }).drain(), /killed/);
    s.relayed = original;
    // The next process (or leader) with a relay of its own.
    assert.equal(await new RecordRelay({ store: s, bus: b, wire }).drain(), 2);
    assert.deepEqual(ids(b), ["x", "y", "x", "y"]);
    assert.equal(await s.relayDepth(), 0);
  });
});

describe("coalesce", () => {
  it("wakes at once, then once at the end of a window that had calls, then at once again after a quiet window", async () => {
    const at: number[] = [];
    const t0 = performance.now();
    const wake = coalesce(() => at.push(performance.now() - t0), 30);
    wake();
    wake();
    wake();
    assert.equal(at.length, 1, "the first call wakes at once");
    // Long past the window and the quiet one after it (generous: the machine may be loaded).
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(at.length, 2, "the calls of the window: one wake at its end, none after the quiet window");
    assert.ok((at[1] ?? 0) >= 25, `the second wake after the window: ${at[1]} ms`);
    wake();
    assert.equal(at.length, 3, "after a quiet window, at once again");
  });
});
