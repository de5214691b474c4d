import assert from "node:assert/strict";
import { afterEach, before, beforeEach, describe, it, mock } from "node:test";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { LocalEventBus } from "../../../src/adapters/memory/local-event-bus.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import type { SequencedEvent } from "../../../src/core/fabric/event-bus.js";
import { KnowledgeService } from "../../../src/core/knowledge/knowledge-service.js";
import { LetheService } from "../../../src/core/knowledge/lethe-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { blake3Hex, initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";
import { Scheduler, type TaskRun } from "../../../src/tasks/scheduler.js";
import { aliveGolem } from "../../../src/testing/core-kit.js";
import { HandedLeadership } from "../../../src/testing/handed-leadership.js";

const MINUTE = 60_000;
/** The scheduler's timers are node:test's mock timers: a test moves them with `tick`, never waits for them. */
const tick = (ms: number) => mock.timers.tick(ms);

/** A promise and its resolver: a run that ends when the test says. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Lets queued work (promise chains, I/O callbacks) go on for up to `turns` turns of the event loop, until `done`. */
async function settle(done: () => boolean, turns = 200): Promise<void> {
  for (let i = 0; i < turns && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("Scheduler.wake", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
  afterEach(() => mock.timers.reset());

  /** A scheduler with one task whose runs each wait for a gate the test opens. */
  function gated() {
    const runs: TaskRun[] = [];
    const gates: ReturnType<typeof gate>[] = [];
    const scheduler = new Scheduler({ onRun: (r) => runs.push(r) });
    scheduler.add({
      name: "t",
      everyMs: 5 * MINUTE,
      run: () => {
        const g = gate();
        gates.push(g);
        return g.promise;
      },
    });
    scheduler.start();
    return { scheduler, runs, gates };
  }

  it("runs the task when the wake-up's delay has passed", async () => {
    const { scheduler, runs, gates } = gated();
    scheduler.wake("t", 1000);
    tick(999);
    assert.equal(gates.length, 0);
    tick(1);
    assert.equal(gates.length, 1);
    gates[0]?.open();
    await settle(() => runs.length === 1);
    assert.equal(runs.length, 1);
    await scheduler.stop();
  });

  it("runs once more right after a run during which a wake-up arrived, never dropping it", async () => {
    const { scheduler, runs, gates } = gated();
    scheduler.wake("t", 0);
    tick(0);
    assert.equal(gates.length, 1, "the first run started");
    scheduler.wake("t", 10);
    tick(10);
    assert.equal(gates.length, 1, "no overlap: the wake-up waits for the run in progress");
    gates[0]?.open();
    await settle(() => gates.length === 2);
    assert.equal(gates.length, 2, "a second run followed the first at once");
    gates[1]?.open();
    await settle(() => runs.length === 2);
    assert.equal(runs.length, 2);
    await scheduler.stop();
  });

  it("coalesces the wake-ups of one run into one rerun", async () => {
    const { scheduler, runs, gates } = gated();
    scheduler.wake("t", 0);
    tick(0);
    for (let i = 1; i <= 5; i++) scheduler.wake("t", i);
    tick(5);
    gates[0]?.open();
    await settle(() => gates.length === 2);
    assert.equal(gates.length, 2, "the wake-ups were not dropped");
    gates[1]?.open();
    await settle(() => runs.length === 2);
    await settle(() => gates.length > 2, 20);
    assert.equal(gates.length, 2, "five wake-ups during one run: one more run, not five");
    await scheduler.stop();
  });

  it("runNow during a run promises a run that starts after the call, shared by every caller meanwhile", async () => {
    const { scheduler, runs, gates } = gated();
    const first = scheduler.runNow("t");
    let secondDone = false;
    const second = scheduler.runNow("t").then(() => (secondDone = true));
    const third = scheduler.runNow("t");
    assert.equal(gates.length, 1, "no overlap");
    gates[0]?.open();
    await first;
    await settle(() => gates.length === 2);
    assert.equal(gates.length, 2, "a run started after the first ended");
    assert.equal(secondDone, false, "the caller during the first run waits for the second");
    gates[1]?.open();
    await Promise.all([second, third]);
    assert.equal(runs.length, 2, "the callers during the first run shared one rerun");
    await scheduler.stop();
  });

  it("forgets pending wake-ups and reruns at stop", async () => {
    const { scheduler, runs, gates } = gated();
    scheduler.wake("t", 0);
    tick(0);
    scheduler.wake("t", 1);
    tick(1);
    scheduler.wake("t", 1000);
    const stopped = scheduler.stop();
    gates[0]?.open();
    await stopped;
    tick(1000);
    await settle(() => gates.length > 1, 20);
    assert.equal(gates.length, 1);
    assert.equal(runs.length, 1);
  });
});

describe("lethe publication woken during a run", () => {
  before(initCrypto);
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
  afterEach(() => mock.timers.reset());

  it("publishes a candidate written during a publication run right after it, without waiting for the 5-minute sweep", async () => {
    const clock = new ManualClock(Date.UTC(2026, 4, 1, 12));
    const store = new SqliteEntryStore(openDatabase(":memory:"));
    const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
    let seq = 0;
    const bus = new LocalEventBus({
      append: async (e): Promise<SequencedEvent> => ({
        stream: e.stream,
        channel: e.channel,
        epoch: "e",
        seq: ++seq,
        ts: clock.now(),
        payloadJson: JSON.stringify(e.payload),
      }),
    });
    const pipeline = new PublicPipeline({ directory: new IdentifierDirectory(), pause: async () => {} });
    const runs: TaskRun[] = [];
    const scheduler = new Scheduler({ onRun: (r) => runs.push(r) });
    const service = new KnowledgeService({
      store,
      vectors,
      clock,
      dimensions: 4,
      letheDelay: { minMs: MINUTE, maxMs: MINUTE },
      letheK: 1,
      key: SecretKey.fromBase64(Buffer.alloc(32, 5).toString("base64")),
      pipeline,
      // As app/knowledge.ts wires it: wake the publisher when the copy falls due.
      onLetheQueued: (dueAt) => scheduler.wake("lethe-publish", dueAt - clock.now() + 50),
    });
    // The first run stops inside its first publication until the test opens the gate.
    const hold = gate();
    const reached = gate();
    let held = false;
    const lethe = new LetheService({
      store,
      vectors,
      bus,
      clock,
      pipeline: {
        publishable: async (text) => {
          if (!held) {
            held = true;
            reached.open();
            await hold.promise;
          }
          return pipeline.publishable(text);
        },
        text: (text, writer) => pipeline.text(text, writer),
        token: (value, writer) => pipeline.token(value, writer),
      },
    });
    scheduler.add({ name: "lethe-publish", everyMs: 5 * MINUTE, run: () => lethe.publishDue() });
    scheduler.start();
    const write = (content: string) =>
      service.write({
        golem: aliveGolem("alice-g", "alice"),
        layer: "lethe",
        category: "warning",
        confidence: 0.9,
        domain: "perps",
        content,
      });
    const published = (content: string) => store.findLetheByHash("perps", blake3Hex(content));

    await write("the first squeeze");
    clock.advance(MINUTE + 50);
    tick(MINUTE + 50);
    await reached.promise; // the first run read the queue and is publishing the first copy

    await write("the second squeeze"); // queued during the run, due a minute later
    clock.advance(MINUTE + 50);
    tick(MINUTE + 50); // its wake-up fires while the first run is still in progress
    hold.open();

    await settle(() => runs.length >= 2);
    assert.ok(await published("the first squeeze"));
    assert.ok(await published("the second squeeze"), "published by the rerun, not left for the 5-minute sweep");
    assert.equal(runs.length, 2);
    assert.ok(runs.every((r) => r.error === undefined));
    await scheduler.stop();
  });
});

describe("Scheduler atLead tasks", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
  afterEach(() => mock.timers.reset());

  it("runs an atLead task as soon as the process leads (work a crash left), then on its period; others wait for theirs", async () => {
    const runs: string[] = [];
    const scheduler = new Scheduler();
    scheduler.add({ name: "resume", everyMs: MINUTE, atLead: true, run: async () => void runs.push("resume") });
    scheduler.add({ name: "timed", everyMs: MINUTE, run: async () => void runs.push("timed") });
    scheduler.start();
    await settle(() => runs.length > 0);
    assert.deepEqual(runs, ["resume"]);
    await settle(() => false, 20); // the run ends (a tick during a run joins it)
    tick(MINUTE);
    await settle(() => runs.length >= 3);
    assert.deepEqual(runs.sort(), ["resume", "resume", "timed"]);
    await scheduler.stop();
  });
});

describe("Scheduler atUnlead", () => {
  it("ends a task's open work when the leadership goes, once, and not for a process that never led", async () => {
    const calls: string[] = [];
    const leadership = new HandedLeadership();
    const scheduler = new Scheduler({ leadership });
    scheduler.add({
      name: "link",
      everyMs: 1000,
      atLead: true,
      run: async () => void calls.push("run"),
      atUnlead: async () => void calls.push("unlead"),
    });
    scheduler.start();
    await scheduler.stop();
    assert.deepEqual(calls, [], "never led: nothing to end");
    scheduler.start();
    leadership.set(true);
    await settle(() => calls.length > 0);
    leadership.set(false);
    await scheduler.stop();
    assert.deepEqual(calls, ["run", "unlead"]);
  });

  it("waits at stop for the open work to end", async () => {
    const g = gate();
    let ended = false;
    const scheduler = new Scheduler();
    scheduler.add({
      name: "link",
      everyMs: 1000,
      run: async () => {},
      atUnlead: async () => {
        await g.promise;
        ended = true;
      },
    });
    scheduler.start();
    const stopped = scheduler.stop();
    await settle(() => false, 5);
    assert.equal(ended, false);
    g.open();
    await stopped;
    assert.equal(ended, true);
  });
});
