import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { SequencedEvent, StyxEvent } from "../../core/fabric/event-bus.js";
import type { History, Recovery } from "../../core/fabric/history.js";

/** A history under test, with the way events get into it. */
export interface HistoryHarness {
  readonly history: History;
  append(event: StyxEvent): Promise<SequencedEvent>;
  close?(): Promise<void>;
}

/** Every event a recovery promises, in order. */
export async function replayAll(r: Recovery): Promise<SequencedEvent[]> {
  assert.equal(r.recovered, true, `expected recovered: true, got ${JSON.stringify(r)}`);
  const out: SequencedEvent[] = [];
  if (r.recovered) for await (const page of r.pages) out.push(...page);
  return out;
}

function ev(stream: string, n: number): StyxEvent {
  return { stream, channel: "golem:tick", payload: { n, text: `event ${n}` } };
}

/** The behaviour every History (with its append path) must show. */
export function describeHistoryContract(name: string, make: () => Promise<HistoryHarness> | HistoryHarness): void {
  describe(`History contract: ${name}`, () => {
    let h: HistoryHarness;
    beforeEach(async () => {
      h = await make();
    });
    afterEach(async () => {
      await h.close?.();
    });

    it("numbers each stream from 1 without gaps, under one epoch, whatever the interleaving", async () => {
      const got = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => h.append(ev(n % 2 ? "user:a" : "domain:x", n))));
      assert.deepEqual(
        got.filter((e) => e.stream === "user:a").map((e) => e.seq),
        [1, 2, 3],
      );
      assert.deepEqual(
        got.filter((e) => e.stream === "domain:x").map((e) => e.seq),
        [1, 2, 3],
      );
      assert.equal(new Set(got.map((e) => e.epoch)).size, 1);
      const pos = await h.history.position("user:a");
      assert.deepEqual(pos, { epoch: got[0]?.epoch, seq: 3 });
      assert.equal((await h.history.position("domain:never")).seq, 0);
    });

    it("keeps the payload text and the channel as published", async () => {
      const e = await h.append({ stream: "user:a", channel: "styx:steer", payload: { intent: "höld ✓", n: [1, 2.5, null] } });
      const r = await h.history.recover("user:a", { epoch: e.epoch, seq: 0 });
      const [back] = await replayAll(r);
      assert.equal(back?.payloadJson, JSON.stringify({ intent: "höld ✓", n: [1, 2.5, null] }));
      assert.equal(back?.channel, "styx:steer");
      assert.equal(back?.ts, e.ts);
    });

    it("recovers exactly the missed events, in order", async () => {
      let last: SequencedEvent | undefined;
      for (let i = 1; i <= 300; i++) last = await h.append(ev("user:a", i));
      const epoch = last?.epoch as string;
      const r = await h.history.recover("user:a", { epoch, seq: 120 }, 50);
      assert.equal(r.recovered, true);
      assert.equal(r.seq, 300);
      const got = await replayAll(r);
      assert.deepEqual(
        got.map((e) => e.seq),
        Array.from({ length: 180 }, (_, i) => 121 + i),
      );
      assert.deepEqual(JSON.parse(got[0]?.payloadJson ?? "{}").n, 121);
    });

    it("serves a replay in pages of at most pageSize events", async () => {
      let last: SequencedEvent | undefined;
      for (let i = 1; i <= 25; i++) last = await h.append(ev("user:p", i));
      const r = await h.history.recover("user:p", { epoch: last?.epoch as string, seq: 0 }, 10);
      assert.equal(r.recovered, true);
      const sizes: number[] = [];
      const seqs: number[] = [];
      if (r.recovered)
        for await (const page of r.pages) {
          sizes.push(page.length);
          seqs.push(...page.map((e) => e.seq));
        }
      assert.ok(
        sizes.every((n) => n >= 1 && n <= 10),
        `page sizes ${sizes.join(", ")}`,
      );
      assert.deepEqual(
        seqs,
        Array.from({ length: 25 }, (_, i) => i + 1),
      );
    });

    it("answers recovered: true with nothing to replay when the client is current", async () => {
      const e = await h.append(ev("user:a", 1));
      assert.deepEqual(await replayAll(await h.history.recover("user:a", { epoch: e.epoch, seq: 1 })), []);
    });

    it("answers recovered: false with the current position for a wrong epoch or a position ahead of the stream", async () => {
      const e = await h.append(ev("user:a", 1));
      await h.append(ev("user:a", 2));
      const wrong = await h.history.recover("user:a", { epoch: "ep_other", seq: 1 });
      assert.deepEqual(wrong, { recovered: false, epoch: e.epoch, seq: 2, reason: "epoch_changed" });
      const ahead = await h.history.recover("user:a", { epoch: e.epoch, seq: 99 });
      assert.deepEqual(ahead, { recovered: false, epoch: e.epoch, seq: 2, reason: "ahead_of_stream" });
    });
  });
}
