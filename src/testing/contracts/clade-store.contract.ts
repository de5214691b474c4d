import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CladeMember, CladeStore } from "../../core/fabric/clade.js";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";

const T0 = 1_800_000_000_000;
const LATER = T0 + 1e9;

/** A clade delta as the fabric hands it to the outbox. */
function delta(seq: number, payload: Record<string, unknown> = { n: seq }): SequencedEvent {
  return { stream: "user:u1", epoch: "ep_1", seq, ts: T0 + seq, channel: "styx:clade:delta", payloadJson: JSON.stringify(payload) };
}

function member(golemId: string, userId: string, registeredAt: number, domains: readonly string[] = []): CladeMember {
  return { golemId, userId, domains, registeredAt };
}

const seqs = (events: readonly SequencedEvent[]) => events.map((e) => e.seq);

/** The behaviour every CladeStore must show (SPEC §8 on the store's side); `make` returns an empty store. */
export function describeCladeStoreContract(name: string, make: () => Promise<CladeStore> | CladeStore): void {
  describe(`CladeStore contract: ${name}`, () => {
    it("lists a user's members oldest registration first (ties by golem id), and no other user's", async () => {
      const s = await make();
      await s.register(member("g3", "u1", T0 + 2));
      await s.register(member("ga", "u1", T0));
      await s.register(member("gB", "u1", T0));
      await s.register(member("g9", "u2", T0 - 5));
      assert.deepEqual(
        (await s.members("u1")).map((m) => m.golemId),
        ["gB", "ga", "g3"],
        "binary order of ids breaks a tie",
      );
      assert.deepEqual(await s.members("u2"), [member("g9", "u2", T0 - 5)]);
      assert.deepEqual(await s.members("nobody"), []);
    });

    it("returns the domains as registered, whatever characters they hold", async () => {
      const s = await make();
      const odd = ["defi.lending", "a,b", 'quote"d', "{braces}", "back\\slash", "ünï", "", "NULL"];
      await s.register(member("g1", "u1", T0, odd));
      await s.register(member("g2", "u1", T0 + 1, []));
      assert.deepEqual(await s.members("u1"), [member("g1", "u1", T0, odd), member("g2", "u1", T0 + 1, [])]);
    });

    it("replaces the domains of a re-registered golem and keeps its place", async () => {
      const s = await make();
      await s.register(member("g1", "u1", T0, ["dex"]));
      await s.register(member("g2", "u1", T0 + 1, ["lend"]));
      await s.register(member("g1", "u1", T0 + 5, ["perps", "dex"]));
      const got = await s.members("u1");
      assert.deepEqual(
        got.map((m) => [m.golemId, m.domains]),
        [
          ["g1", ["perps", "dex"]],
          ["g2", ["lend"]],
        ],
      );
      assert.equal(got.length, 2, "one membership per golem");
    });

    it("hands out a recipient's deltas in enqueue order, each once, exactly as enqueued", async () => {
      const s = await make();
      const payload = { entries: [{ text: "höld ✓", n: [1, 2.5, null] }] };
      await s.enqueue(["g1"], delta(1, payload), LATER, 100);
      for (let i = 2; i <= 5; i++) await s.enqueue(["g1"], delta(i), LATER, 100);
      const first = await s.take("g1", T0, 3);
      assert.deepEqual(seqs(first), [1, 2, 3], "oldest first, at most the limit");
      assert.deepEqual(first[0], delta(1, payload));
      assert.deepEqual(seqs(await s.take("g1", T0, 10)), [4, 5], "the rest, not what was handed out");
      assert.deepEqual(await s.take("g1", T0, 10), []);
    });

    it("holds one copy per recipient: one taking leaves the others' copies", async () => {
      const s = await make();
      assert.equal(await s.enqueue(["g1", "g2", "g3"], delta(1), LATER, 100), 0);
      assert.deepEqual(seqs(await s.take("g2", T0, 10)), [1]);
      assert.deepEqual(seqs(await s.take("g1", T0, 10)), [1]);
      assert.deepEqual(seqs(await s.take("g3", T0, 10)), [1]);
      assert.deepEqual(await s.take("g4", T0, 10), [], "never a recipient");
      assert.equal(await s.enqueue([], delta(2), LATER, 100), 0, "no recipient, nothing held");
    });

    it("holds one copy for a recipient named twice, and counts its drops once", async () => {
      const s = await make();
      await s.enqueue(["g1"], delta(1), LATER, 2);
      assert.equal(await s.enqueue(["g1", "g2", "g1"], delta(2), LATER, 2), 0, "g1 holds 2 of 2: nothing dropped");
      assert.equal(await s.enqueue(["g1", "g1"], delta(3), LATER, 2), 1);
      assert.deepEqual(seqs(await s.take("g1", T0, 10)), [2, 3]);
      assert.deepEqual(seqs(await s.take("g2", T0, 10)), [2]);
    });

    it("takes nothing with a limit of 0 and keeps the deltas for later", async () => {
      const s = await make();
      await s.enqueue(["g1"], delta(1), LATER, 100);
      assert.deepEqual(await s.take("g1", T0, 0), []);
      assert.deepEqual(seqs(await s.take("g1", T0, 1)), [1]);
    });

    it("never returns a delta at or after its expiry, and purge forgets exactly the expired ones", async () => {
      const s = await make();
      await s.enqueue(["g1", "g2"], delta(1), T0 + 10, 100);
      await s.enqueue(["g1", "g2"], delta(2), T0 + 20, 100);
      await s.enqueue(["g1"], delta(3), T0 + 30, 100);
      assert.deepEqual(seqs(await s.take("g1", T0 + 10, 1)), [2], "expired at its expiry time; the limit counts live ones");
      assert.equal(await s.purgeExpired(T0 + 9), 0);
      assert.equal(await s.purgeExpired(T0 + 20), 3, "g1's first, g2's first and second");
      assert.equal(await s.purgeExpired(T0 + 20), 0, "nothing twice");
      assert.deepEqual(await s.take("g2", T0, 10), []);
      assert.deepEqual(seqs(await s.take("g1", T0 + 29, 10)), [3]);
    });

    it("keeps the newest `max` deltas per recipient and counts those dropped", async () => {
      const s = await make();
      const drops: number[] = [];
      for (let i = 1; i <= 5; i++) drops.push(await s.enqueue(["g1"], delta(i), LATER, 3));
      assert.deepEqual(drops, [0, 0, 0, 1, 1]);
      await s.enqueue(["g2"], delta(9), LATER, 3);
      assert.equal(await s.enqueue(["g1", "g2"], delta(6), LATER, 3), 1, "only g1 was full");
      assert.deepEqual(seqs(await s.take("g1", T0, 10)), [4, 5, 6]);
      assert.deepEqual(seqs(await s.take("g2", T0, 10)), [9, 6]);
    });

    it("hands each delta out once to concurrent takers and loses none", async () => {
      const s = await make();
      for (let i = 1; i <= 60; i++) await s.enqueue(["g1"], delta(i), LATER, 1000);
      const seen: number[] = [];
      const drain = async (): Promise<void> => {
        for (;;) {
          const got = seqs(await s.take("g1", T0, 4));
          if (got.length === 0) return;
          assert.deepEqual(
            got,
            [...got].sort((a, b) => a - b),
            "each batch in enqueue order",
          );
          seen.push(...got);
        }
      };
      await Promise.all([drain(), drain(), drain()]);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        Array.from({ length: 60 }, (_, i) => i + 1),
      );
    });
  });
}
