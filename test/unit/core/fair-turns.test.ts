import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FairTurns, TAU_MS } from "../../../src/core/platform/fair-turns.js";

/** A scheduler on a manual clock whose turns run only when the test says (`turn()`). */
function harness() {
  let now = 0;
  const deferred: (() => void)[] = [];
  const turns = new FairTurns(
    () => now,
    (run) => deferred.push(run),
  );
  /** Runs the turns deferred so far (one loop turn's check phase), then lets the resumed pieces continue. */
  const turn = async () => {
    for (const run of deferred.splice(0)) run();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { turns, turn, advance: (ms: number) => (now += ms), deferred };
}

/** A piece of `user`'s work: `slices` slices of `ms` each on the manual clock, a pause after each but the last; logs `label` as each slice runs. */
async function piece(h: ReturnType<typeof harness>, user: string, label: string, slices: number, ms: number, log: string[]) {
  const lane = h.turns.lane(user);
  for (let i = 0; i < slices; i++) {
    if (i > 0) await lane.pause();
    log.push(label);
    h.advance(ms);
  }
}

describe("FairTurns", () => {
  it("gives a light user's slices before a flooding user's, one piece per turn", async () => {
    const h = harness();
    const log: string[] = [];
    // A floods: 20 slices of 2 ms; it has the loop to itself for 10 turns.
    const a = piece(h, "a", "a", 20, 2, log);
    for (let i = 0; i < 10; i++) await h.turn();
    assert.equal(log.join(""), "a".repeat(11));
    // B comes with 3 slices: its pauses resume before A's (with plain turns they would alternate: b a b a b).
    const b = piece(h, "b", "b", 3, 2, log);
    await h.turn();
    assert.equal(log.join(""), `${"a".repeat(11)}bb`, "one piece per turn, B's");
    while (h.deferred.length > 0) await h.turn();
    await Promise.all([a, b]);
    assert.equal(log.join(""), `${"a".repeat(11)}bbb${"a".repeat(9)}`);
  });

  it("lets two users who flood alike alternate, so neither starves", async () => {
    const h = harness();
    const log: string[] = [];
    const a = piece(h, "a", "a", 10, 2, log);
    const b = piece(h, "b", "b", 10, 2, log);
    while (h.deferred.length > 0) await h.turn();
    await Promise.all([a, b]);
    assert.equal(log.length, 20);
    // Never more than two of one user in a row.
    assert.ok(!/aaa|bbb/.test(log.join("")), log.join(""));
  });

  it("serves a flooder first once the light user's recent time outweighs it, and forgets old time", async () => {
    const h = harness();
    const log: string[] = [];
    // B did a lot just now (100 ms in one slice); A a little (2 ms).
    const b = piece(h, "b", "b", 2, 100, log);
    const a = piece(h, "a", "a", 2, 2, log);
    await h.turn();
    assert.equal(log[2], "a", "A, with less recent time, resumes first");
    while (h.deferred.length > 0) await h.turn();
    await Promise.all([a, b]);
    // Recent time decays.
    const before = h.turns.usage("b");
    assert.ok(before > 80 && before < 100, `b's recent time ${before}`);
    h.advance(TAU_MS);
    assert.ok(Math.abs(h.turns.usage("b") - before / Math.E) < 1e-6);
    assert.equal(h.turns.waiting, 0);
  });

  it("resumes paused pieces in a later turn with the real setImmediate", async () => {
    const turns = new FairTurns();
    const lane = turns.lane("u");
    let ticked = false;
    setImmediate(() => {
      ticked = true;
    });
    await lane.pause();
    assert.ok(ticked, "a turn of the loop passed");
  });
});
