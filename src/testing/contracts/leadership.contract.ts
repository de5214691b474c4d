import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Leadership } from "../../core/platform/leadership.js";

/** A candidate under test, with every `onChange` call it made. */
interface Candidate {
  readonly leadership: Leadership;
  readonly changes: boolean[];
}

/** Options of the leadership suite. */
export interface LeadershipContractOptions {
  /** True when candidates of one lease exclude each other (a shared lease); false when each process leads alone. */
  readonly exclusive: boolean;
  /** How long a candidate may take to win a free lease, ms. */
  readonly withinMs: number;
}

function candidate(make: () => Leadership): Candidate {
  return { leadership: make(), changes: [] };
}

function start(c: Candidate): void {
  c.leadership.start((leader) => c.changes.push(leader));
}

/** Polls `cond` every 10 ms until it holds; fails after `ms`. */
async function until(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** onChange alternates, starting with true (a candidate starts as a follower). */
function assertAlternates(c: Candidate): void {
  for (const [i, v] of c.changes.entries()) assert.equal(v, i % 2 === 0, `onChange(${v}) twice in a row: ${JSON.stringify(c.changes)}`);
}

/**
 * The behaviour every Leadership must show. `newLease` returns a fresh lease (nobody else
 * campaigns for it) as a maker of candidates for it.
 */
export function describeLeadershipContract(name: string, newLease: () => () => Leadership, opts: LeadershipContractOptions): void {
  describe(`Leadership contract: ${name}`, () => {
    it("leads only after start, telling onChange(true) once, and isLeader agrees", async () => {
      const c = candidate(newLease());
      assert.equal(c.leadership.isLeader, false, "not before start");
      start(c);
      await until(() => c.leadership.isLeader, "leadership of a free lease", opts.withinMs);
      assert.deepEqual(c.changes, [true]);
      await new Promise((r) => setTimeout(r, Math.min(300, opts.withinMs)));
      assert.deepEqual(c.changes, [true], "no repeated onChange(true) while it keeps leading");
      await c.leadership.stop();
    });

    it("gives leadership up on stop: onChange(false) at once, and a second stop changes nothing", async () => {
      const c = candidate(newLease());
      start(c);
      await until(() => c.leadership.isLeader, "leadership", opts.withinMs);
      await c.leadership.stop();
      assert.equal(c.leadership.isLeader, false);
      assert.deepEqual(c.changes, [true, false], "told before stop resolved");
      await c.leadership.stop();
      assert.deepEqual(c.changes, [true, false]);
    });

    it("tells nothing when stopped without ever leading", async () => {
      const c = candidate(newLease());
      await c.leadership.stop();
      assert.equal(c.leadership.isLeader, false);
      assert.deepEqual(c.changes, []);
    });

    if (opts.exclusive) {
      it("lets one of several candidates of a lease lead at a time, and another take over when it stops", async () => {
        const make = newLease();
        const cs = [candidate(make), candidate(make), candidate(make)];
        try {
          for (const c of cs) start(c);
          await until(() => cs.some((c) => c.leadership.isLeader), "a leader", opts.withinMs);
          // Give the followers several campaigns to (wrongly) win too.
          await new Promise((r) => setTimeout(r, Math.min(1000, opts.withinMs)));
          const leaders = cs.filter((c) => c.leadership.isLeader);
          assert.equal(leaders.length, 1, "exactly one leader");
          const first = leaders[0] as Candidate;
          for (const c of cs) if (c !== first) assert.deepEqual(c.changes, [], "a follower was never told it leads");
          await first.leadership.stop();
          const rest = cs.filter((c) => c !== first);
          await until(() => rest.some((c) => c.leadership.isLeader), "a takeover", opts.withinMs);
          await new Promise((r) => setTimeout(r, Math.min(500, opts.withinMs)));
          assert.equal(rest.filter((c) => c.leadership.isLeader).length, 1, "one leader after the takeover");
          for (const c of cs) assertAlternates(c);
        } finally {
          for (const c of cs) await c.leadership.stop();
        }
      });
    }
  });
}
