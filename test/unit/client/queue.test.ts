import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OfflineQueue } from "../../../packages/client/src/queue.js";

describe("OfflineQueue", () => {
  it("keeps writes in the order they were made, whatever order their first attempts failed in", async () => {
    const q = new OfflineQueue<string, string>(10);
    // Writes 0 and 1 waited for the network while 2-4 were refused at once by the open circuit.
    const delivered = [2, 3, 4, 0, 1].map((n) => q.push(`w${n}`, n));
    const sent: string[] = [];
    assert.equal(
      await q.flush(
        async (w) => (sent.push(w), w),
        () => true,
      ),
      0,
    );
    assert.deepEqual(sent, ["w0", "w1", "w2", "w3", "w4"]);
    assert.deepEqual(await Promise.all(delivered), ["w2", "w3", "w4", "w0", "w1"]);
  });

  it("refuses the write past its bound and stops a flush at the first unavailable answer, keeping it first", async () => {
    const q = new OfflineQueue<string, string>(2);
    const a = q.push("a", 0);
    const b = q.push("b", 1);
    await assert.rejects(q.push("c", 2), /full/);
    const left = await q.flush(
      async (w) => {
        if (w === "b") throw new Error("down");
        return w;
      },
      () => true,
    );
    assert.equal(left, 1);
    assert.equal(await a, "a");
    assert.equal(
      await q.flush(
        async (w) => w,
        () => true,
      ),
      0,
    );
    assert.equal(await b, "b");
  });
});
