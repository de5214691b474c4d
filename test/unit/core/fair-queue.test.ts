import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { CONTENDED_MS, FairQueue, type FairQueueLimits, type Ticket } from "../../../src/core/platform/fair-queue.js";

/** A queue and a log of which user's piece started, in order; `end(label)` finishes a piece. */
function harness(limits: Partial<FairQueueLimits> = {}, loop = { busy: false }) {
  const clock = new ManualClock();
  const q = new FairQueue({ concurrency: 2, perUser: 1, queuePerUser: 100, queueTotal: 1000, ...limits }, clock, () => loop.busy);
  const started: string[] = [];
  const waited = new Map<string, number>();
  const tickets = new Map<string, Ticket>();
  const add = (user: string, label: string) => {
    const a = q.enter(user, (ms) => {
      started.push(label);
      waited.set(label, ms);
    });
    if (a.kind === "admitted") tickets.set(label, a.ticket);
    return a;
  };
  const end = (label: string) => (tickets.get(label) as Ticket).end();
  return { q, clock, started, waited, tickets, add, end };
}

describe("FairQueue", () => {
  it("starts work at once while slots are free", () => {
    const h = harness();
    h.add("a", "a1");
    h.add("b", "b1");
    assert.deepEqual(h.started, ["a1", "b1"]);
    assert.deepEqual(h.q.stats(), { running: 2, waiting: 0, users: 2 });
  });

  it("holds a user to its own limit even when global slots are free", () => {
    const h = harness({ concurrency: 4, perUser: 2 });
    for (let i = 1; i <= 5; i++) h.add("a", `a${i}`);
    assert.deepEqual(h.started, ["a1", "a2"]);
    assert.equal(h.q.stats().waiting, 3);
    h.add("b", "b1");
    assert.deepEqual(h.started, ["a1", "a2", "b1"], "b starts at once: a's backlog does not hold it");
  });

  it("gives turns alternately to a user with 1,000 waiting and a user with one", () => {
    const h = harness({ concurrency: 1, perUser: 1, queuePerUser: 1000, queueTotal: 2000 });
    for (let i = 0; i <= 1000; i++) h.add("a", `a${i}`);
    h.add("b", "b0");
    h.add("b", "b1");
    for (let i = 0; i < 4; i++) h.end(h.started[i] as string);
    assert.deepEqual(h.started, ["a0", "b0", "a1", "b1", "a2"]);
  });

  it("serves three users round-robin, each in its own order", () => {
    const h = harness({ concurrency: 1 });
    for (let i = 0; i < 4; i++) h.add("hog", `h${i}`);
    for (let i = 0; i < 2; i++) h.add("x", `x${i}`);
    for (let i = 0; i < 2; i++) h.add("y", `y${i}`);
    for (let i = 0; i < 7; i++) h.end(h.started[i] as string);
    assert.deepEqual(h.started, ["h0", "x0", "y0", "h1", "x1", "y1", "h2", "h3"]);
  });

  it("reports how long a piece waited, by the clock", () => {
    const h = harness({ concurrency: 1 });
    h.add("a", "a0");
    h.add("b", "b0");
    h.clock.advance(250);
    h.end("a0");
    assert.equal(h.waited.get("a0"), 0);
    assert.equal(h.waited.get("b0"), 250);
  });

  it("refuses past a user's queue bound with user_queue, and others still queue", () => {
    const h = harness({ concurrency: 1, perUser: 1, queuePerUser: 2 });
    h.add("a", "a0");
    h.add("a", "a1");
    h.add("a", "a2");
    const r = h.add("a", "a3");
    assert.equal(r.kind, "refused");
    assert.equal(r.kind === "refused" && r.reason, "user_queue");
    assert.ok(r.kind === "refused" && r.retryAfterMs >= 50);
    assert.equal(h.add("b", "b0").kind, "admitted");
  });

  it("refuses past the total queue bound with queue_full", () => {
    const h = harness({ concurrency: 1, perUser: 1, queuePerUser: 5, queueTotal: 2 });
    h.add("a", "a0");
    h.add("b", "b0");
    h.add("c", "c0");
    const r = h.add("d", "d0");
    assert.equal(r.kind === "refused" && r.reason, "queue_full");
    assert.equal(h.q.stats().waiting, 2);
  });

  it("bases the retry hint on the mean run time", () => {
    const h = harness({ concurrency: 1, perUser: 1, queuePerUser: 1 });
    for (let i = 0; i < 20; i++) {
      h.add("warm", `w${i}`);
      h.clock.advance(1000);
      h.end(`w${i}`);
    }
    h.add("a", "a0");
    h.add("a", "a1");
    const r = h.add("a", "a2");
    // The mean moved from 100 ms toward 1,000 ms: one waiting piece over one slot.
    assert.ok(r.kind === "refused" && r.retryAfterMs > 900 && r.retryAfterMs <= 1000, JSON.stringify(r));
  });

  it("drops waiting work whose client left: it never starts and frees its place", () => {
    const h = harness({ concurrency: 1, queuePerUser: 1 });
    h.add("a", "a0");
    h.add("b", "b0");
    h.end("b0");
    assert.equal(h.tickets.get("b0")?.started, false);
    assert.deepEqual(h.q.stats(), { running: 1, waiting: 0, users: 1 });
    h.add("c", "c0");
    h.end("a0");
    assert.deepEqual(h.started, ["a0", "c0"]);
  });

  it("ignores a second end and forgets idle users", () => {
    const h = harness({ concurrency: 1 });
    h.add("a", "a0");
    h.add("b", "b0");
    h.end("a0");
    h.end("a0");
    assert.deepEqual(h.q.stats(), { running: 1, waiting: 0, users: 1 });
    h.end("b0");
    assert.deepEqual(h.q.stats(), { running: 0, waiting: 0, users: 0 });
  });

  it("keeps user ids that name Object.prototype members apart", () => {
    const h = harness({ concurrency: 1 });
    h.add("__proto__", "p0");
    h.add("constructor", "c0");
    h.add("__proto__", "p1");
    h.end("p0");
    h.end("c0");
    assert.deepEqual(h.started, ["p0", "c0", "p1"]);
  });

  it("runs one piece per user while users contend for a busy loop, perUser again once it is not busy", () => {
    const loop = { busy: true };
    const h = harness({ concurrency: 8, perUser: 3 }, loop);
    h.add("b", "b1");
    h.end("b1");
    for (const l of ["a1", "a2", "a3", "a4"]) h.add("a", l);
    assert.deepEqual(h.started, ["b1", "a1"], "busy, b asked 0 ms ago: a's second piece waits though slots are free");
    h.add("b", "b1");
    h.started.shift();
    assert.deepEqual(h.started, ["a1", "b1"], "another user's first piece starts at once");
    h.add("b", "b2");
    h.end("a1");
    assert.deepEqual(h.started, ["a1", "b1", "a2"], "a's end lets a's next in; b2 waits for b1");
    loop.busy = false;
    h.end("b1");
    assert.deepEqual(h.started, ["a1", "b1", "a2", "a3", "b2", "a4"], "not busy: perUser (3) again, in turn");
    assert.deepEqual(h.q.stats(), { running: 4, waiting: 0, users: 2 });
  });

  it("keeps perUser for a user alone on a busy loop, and for all once the other user is quiet for CONTENDED_MS", () => {
    const loop = { busy: true };
    const h = harness({ concurrency: 8, perUser: 2 }, loop);
    for (const l of ["a1", "a2", "a3"]) h.add("a", l);
    assert.deepEqual(h.started, ["a1", "a2"], "alone: its second piece overlaps the first's waits off the loop");
    h.add("b", "b1");
    h.end("a1");
    assert.deepEqual(h.started, ["a1", "a2", "b1"], "contended and busy: a3 waits for a2");
    h.end("b1");
    h.clock.advance(CONTENDED_MS);
    h.add("a", "a4");
    h.end("a2");
    assert.deepEqual(h.started, ["a1", "a2", "b1", "a3", "a4"], "b quiet for CONTENDED_MS: a runs 2 again");
  });

  it("never leaves a waiter behind when the loop turns busy and its user's pieces end", () => {
    const loop = { busy: false };
    const h = harness({ concurrency: 4, perUser: 2 }, loop);
    h.add("b", "b0");
    h.end("b0");
    for (const l of ["a1", "a2", "a3", "a4", "a5"]) h.add("a", l);
    h.started.shift();
    assert.deepEqual(h.started, ["a1", "a2"]);
    loop.busy = true;
    h.end("a1");
    assert.deepEqual(h.started, ["a1", "a2"], "busy, a2 still runs: a3 waits");
    h.end("a2");
    assert.deepEqual(h.started, ["a1", "a2", "a3"]);
    h.end("a3");
    h.end("a4");
    h.end("a5");
    assert.deepEqual(h.started, ["a1", "a2", "a3", "a4", "a5"]);
    assert.deepEqual(h.q.stats(), { running: 0, waiting: 0, users: 0 });
  });

  it("refuses limits that are not positive integers", () => {
    assert.throws(() => new FairQueue({ concurrency: 0, perUser: 1, queuePerUser: 1, queueTotal: 1 }, new ManualClock()), /concurrency/);
  });
});
