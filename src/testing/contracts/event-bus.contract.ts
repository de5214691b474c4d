import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { EventBus, SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";
import type { History } from "../../core/fabric/history.js";
import { replayAll } from "./history.contract.js";

/** A bus under test over a fresh history, and the history it sequences through. */
export interface EventBusHarness {
  readonly bus: EventBus;
  readonly history: History;
  /** Makes the backing history unavailable, so that later publishes fail. */
  sever(): Promise<void>;
  close?(): Promise<void>;
}

/** Polls `cond` until it holds (delivery may trail `publish` on a distributed bus); fails after `ms`. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function ev(stream: string, n: number): StyxEvent {
  return { stream, channel: "golem:tick", payload: { n } };
}

const key = (e: SequencedEvent) => `${e.stream}#${e.seq}`;

/** The behaviour every EventBus must show (SPEC §9): sequencing through history, ordered delivery, isolation from subscribers. */
export function describeEventBusContract(name: string, make: () => Promise<EventBusHarness> | EventBusHarness): void {
  describe(`EventBus contract: ${name}`, () => {
    let h: EventBusHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close?.();
    });

    it("resolves a publish with the event's place in its stream: seq from 1, the history's epoch, the payload as JSON", async () => {
      const payload = { intent: "höld ✓", n: [1, 2.5, null], nested: { a: true } };
      const a1 = await h.bus.publish({ stream: "user:a", channel: "styx:steer", payload });
      const x1 = await h.bus.publish(ev("domain:x", 1));
      const a2 = await h.bus.publish(ev("user:a", 2));
      assert.deepEqual([a1.seq, x1.seq, a2.seq], [1, 1, 2]);
      assert.deepEqual([a1.stream, a1.channel, a1.payloadJson], ["user:a", "styx:steer", JSON.stringify(payload)]);
      assert.ok(Number.isSafeInteger(a1.ts) && a1.ts > 0, "ts is epoch ms");
      const pos = await h.history.position("user:a");
      assert.deepEqual(pos, { epoch: a1.epoch, seq: 2 }, "the history holds what publish numbered");
      assert.equal(x1.epoch, a1.epoch);
    });

    it("delivers every event of every stream to each subscriber, per stream in seq order, as publish resolved it", async () => {
      const seen: [SequencedEvent[], SequencedEvent[]] = [[], []];
      h.bus.subscribe((e) => seen[0].push(e));
      h.bus.subscribe((e) => seen[1].push(e));
      const sent = await Promise.all(Array.from({ length: 40 }, (_, i) => h.bus.publish(ev(i % 3 ? "user:a" : "domain:x", i))));
      await until(() => seen.every((s) => s.length >= 40), "delivery to both subscribers");
      const byKey = new Map(sent.map((e) => [key(e), e]));
      for (const got of seen) {
        assert.equal(got.length, 40, "each event once");
        for (const stream of ["user:a", "domain:x"]) {
          const mine = got.filter((e) => e.stream === stream).map((e) => e.seq);
          assert.deepEqual(
            mine,
            Array.from({ length: mine.length }, (_, i) => i + 1),
            `${stream} in seq order`,
          );
        }
        for (const e of got) assert.deepEqual(e, byKey.get(key(e)), "delivered as acknowledged");
      }
    });

    it("delivers an event only once the history holds it, so a received event can be replayed", async () => {
      const replays: Promise<SequencedEvent[]>[] = [];
      h.bus.subscribe((e) => {
        replays.push(h.history.recover(e.stream, { epoch: e.epoch, seq: e.seq - 1 }).then(replayAll));
      });
      const sent = await Promise.all([1, 2, 3, 4, 5].map((n) => h.bus.publish(ev("user:r", n))));
      await until(() => replays.length >= 5, "delivery");
      const got = await Promise.all(replays);
      for (const [i, e] of sent.entries()) {
        assert.deepEqual(got[i]?.[0], e, `event ${e.seq} is the first of its own replay`);
      }
    });

    it("keeps delivering to other subscribers, and resolves publish, when a subscriber throws", async () => {
      const seen: SequencedEvent[] = [];
      h.bus.subscribe(() => {
        throw new Error("a broken subscriber");
      });
      h.bus.subscribe((e) => seen.push(e));
      for (let n = 1; n <= 3; n++) await h.bus.publish(ev("user:a", n));
      await until(() => seen.length >= 3, "delivery past the broken subscriber");
      assert.deepEqual(
        seen.map((e) => e.seq),
        [1, 2, 3],
      );
    });

    it("stops calling a handler once it unsubscribed", async () => {
      const kept: SequencedEvent[] = [];
      const dropped: SequencedEvent[] = [];
      h.bus.subscribe((e) => kept.push(e));
      const off = h.bus.subscribe((e) => dropped.push(e));
      await h.bus.publish(ev("user:a", 1));
      await until(() => kept.length >= 1 && dropped.length >= 1, "the first event");
      off();
      for (let n = 2; n <= 4; n++) await h.bus.publish(ev("user:a", n));
      await until(() => kept.length >= 4, "the later events");
      assert.deepEqual(
        dropped.map((e) => e.seq),
        [1],
      );
    });

    it("rejects a publish the history cannot take, and delivers nothing of it", async () => {
      const seen: SequencedEvent[] = [];
      h.bus.subscribe((e) => seen.push(e));
      await h.bus.publish(ev("user:a", 1));
      await until(() => seen.length >= 1, "the first event");
      await h.sever();
      await assert.rejects(h.bus.publish(ev("user:a", 2)));
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        seen.map((e) => e.seq),
        [1],
      );
    });
  });
}
