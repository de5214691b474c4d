import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../core/platform/clock.js";
import type { SocketCounts } from "../../core/quota/socket-counts.js";

const TTL = 60_000;

/** The behaviour every SocketCounts adapter must show; `make` receives the clock to use. */
export function describeSocketCountsContract(name: string, make: (clock: ManualClock) => Promise<SocketCounts> | SocketCounts): void {
  describe(`SocketCounts contract: ${name}`, () => {
    it("admits sockets up to the limit, then refuses naming the full key and its count", async () => {
      const counts = await make(new ManualClock());
      for (const id of ["s1", "s2"]) assert.deepEqual(await counts.claim(id, [{ key: "user:u", limit: 2 }], TTL), { ok: true });
      assert.deepEqual(await counts.claim("s3", [{ key: "user:u", limit: 2 }], TTL), { ok: false, index: 0, used: 2 });
    });

    it("claims all keys or none: a refusal on the second key leaves the first untouched", async () => {
      const counts = await make(new ManualClock());
      assert.deepEqual(await counts.claim("s1", [{ key: "ip:a", limit: 5 }], TTL), { ok: true });
      const claims = [
        { key: "user:u", limit: 1 },
        { key: "ip:a", limit: 1 },
      ];
      assert.deepEqual(await counts.claim("s2", claims, TTL), { ok: false, index: 1, used: 1 });
      assert.deepEqual(await counts.claim("s3", [{ key: "user:u", limit: 1 }], TTL), { ok: true }, "s2 was not added under user:u");
    });

    it("counts a socket once under a key it already holds, and refuses it when the key holds more than a lower limit", async () => {
      const counts = await make(new ManualClock());
      for (const id of ["s1", "s2"]) await counts.claim(id, [{ key: "ip:a", limit: 5 }], TTL);
      assert.deepEqual(await counts.claim("s2", [{ key: "ip:a", limit: 2 }], TTL), { ok: true }, "s2 already counted");
      assert.deepEqual(await counts.claim("s2", [{ key: "ip:a", limit: 1 }], TTL), { ok: false, index: 0, used: 2 });
    });

    it("counts the live sockets under a key", async () => {
      const clock = new ManualClock();
      const counts = await make(clock);
      assert.equal(await counts.count("user:u"), 0);
      await counts.claim("s1", [{ key: "user:u", limit: 5 }], TTL);
      await counts.claim("s2", [{ key: "user:u", limit: 5 }], 2 * TTL);
      await counts.claim("s3", [{ key: "user:v", limit: 5 }], TTL);
      assert.equal(await counts.count("user:u"), 2);
      await counts.release("s2", ["user:u"]);
      assert.equal(await counts.count("user:u"), 1);
      clock.advance(TTL);
      assert.equal(await counts.count("user:u"), 0, "s1 expired");
      assert.equal(await counts.count("__proto__"), 0);
    });

    it("frees a place when a socket is released", async () => {
      const counts = await make(new ManualClock());
      const claim = [{ key: "key:k", limit: 1 }];
      await counts.claim("s1", claim, TTL);
      assert.equal((await counts.claim("s2", claim, TTL)).ok, false);
      await counts.release("s1", ["key:k"]);
      await counts.release("gone", ["key:k", "never:claimed"]);
      assert.deepEqual(await counts.claim("s2", claim, TTL), { ok: true });
    });

    it("forgets a socket its ttl after the last claim unless refreshed", async () => {
      const clock = new ManualClock();
      const counts = await make(clock);
      const claim = [{ key: "user:u", limit: 2 }];
      await counts.claim("s1", claim, TTL);
      await counts.claim("s2", claim, TTL);
      clock.advance(TTL - 1000);
      await counts.refresh([{ id: "s1", keys: ["user:u"] }], TTL);
      clock.advance(2000);
      assert.deepEqual(await counts.claim("s3", claim, TTL), { ok: true }, "s2 expired; s1 was refreshed");
      assert.deepEqual(await counts.claim("s4", claim, TTL), { ok: false, index: 0, used: 2 });
    });

    it("re-adds a refreshed socket that is missing from a key", async () => {
      const counts = await make(new ManualClock());
      await counts.refresh([{ id: "s1", keys: ["user:u"] }], TTL);
      assert.deepEqual(await counts.claim("s2", [{ key: "user:u", limit: 1 }], TTL), { ok: false, index: 0, used: 1 });
    });

    it("refuses every socket under a limit of 0", async () => {
      const counts = await make(new ManualClock());
      assert.deepEqual(await counts.claim("s1", [{ key: "ip:z", limit: 0 }], TTL), { ok: false, index: 0, used: 0 });
    });

    it("keeps separate counts per key", async () => {
      const counts = await make(new ManualClock());
      assert.equal((await counts.claim("s1", [{ key: "user:a", limit: 1 }], TTL)).ok, true);
      assert.equal((await counts.claim("s2", [{ key: "user:b", limit: 1 }], TTL)).ok, true);
    });
  });
}
