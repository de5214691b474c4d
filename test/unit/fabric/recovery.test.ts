import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SequencedEvent } from "../../../src/core/fabric/event-bus.js";
import { type Recovery, recoverFrom, type StreamPosition } from "../../../src/core/fabric/history.js";

const at: StreamPosition = { epoch: "e1", seq: 10 };
const page: readonly SequencedEvent[] = [{ stream: "s", epoch: "e1", seq: 10, ts: 0, channel: "c", payloadJson: "{}" }];

/** recoverFrom with a history whose oldest kept seq is `oldest`, recording whether it was asked and whether pages were opened. */
async function decide(since: StreamPosition, oldest: number | undefined) {
  const asked = { oldest: 0, pages: 0 };
  const r = await recoverFrom(
    since,
    at,
    async () => {
      asked.oldest++;
      return oldest;
    },
    () => {
      asked.pages++;
      return (async function* () {
        yield page;
      })();
    },
  );
  return { r, asked };
}

function refusal(r: Recovery): string | undefined {
  return r.recovered ? undefined : r.reason;
}

describe("recoverFrom", () => {
  it("refuses a position of another epoch, answering the stream's position", async () => {
    const { r, asked } = await decide({ epoch: "e0", seq: 3 }, 1);
    assert.deepEqual(r, { recovered: false, epoch: "e1", seq: 10, reason: "epoch_changed" });
    assert.deepEqual(asked, { oldest: 0, pages: 0 });
  });

  it("refuses a position ahead of the stream", async () => {
    const { r, asked } = await decide({ epoch: "e1", seq: 11 }, 1);
    assert.deepEqual(r, { recovered: false, epoch: "e1", seq: 10, reason: "ahead_of_stream" });
    assert.deepEqual(asked, { oldest: 0, pages: 0 });
  });

  it("recovers a position at the stream's end without asking how far history reaches", async () => {
    const { r, asked } = await decide({ epoch: "e1", seq: 10 }, undefined);
    assert.equal(r.recovered, true);
    assert.deepEqual([r.epoch, r.seq], ["e1", 10]);
    assert.deepEqual(asked, { oldest: 0, pages: 1 });
  });

  it("recovers missed events when history still holds the first of them", async () => {
    for (const oldest of [1, 4]) {
      const { r, asked } = await decide({ epoch: "e1", seq: 3 }, oldest);
      assert.ok(r.recovered, `oldest kept ${oldest}`);
      const got = [];
      for await (const p of r.pages) got.push(...p);
      assert.deepEqual(got, page);
      assert.deepEqual(asked, { oldest: 1, pages: 1 });
    }
  });

  it("refuses when history no longer reaches back to the first missed event", async () => {
    assert.equal(refusal((await decide({ epoch: "e1", seq: 3 }, 5)).r), "beyond_retention");
    assert.equal(refusal((await decide({ epoch: "e1", seq: 3 }, undefined)).r), "beyond_retention");
    assert.equal(refusal((await decide({ epoch: "e1", seq: 0 }, 2)).r), "beyond_retention");
    assert.deepEqual((await decide({ epoch: "e1", seq: 3 }, 5)).asked, { oldest: 1, pages: 0 });
  });
});
