import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeferredLog } from "../../../src/app/log.js";
import { buildScheduler, WAKE_SIGNAL } from "../../../src/app/tasks.js";
import type { Leadership } from "../../../src/core/platform/leadership.js";
import { Metrics } from "../../../src/server/metrics.js";
import { signalChannel } from "./signals.js";

/** A leadership decided by the test. */
function fixedLeadership(leader: boolean): Leadership {
  return { start: (on) => on(leader), isLeader: leader, stop: async () => {} };
}

const collectLog = () => {
  const lines: string[] = [];
  const log = new DeferredLog();
  const at = (level: string) => (_f: object, msg: string) => void lines.push(`${level}: ${msg}`);
  log.attach({ debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") });
  return { log, lines };
};

describe("buildScheduler", () => {
  it("times every run into styx_task_duration_seconds and logs a failure as an error", async () => {
    const metrics = new Metrics();
    const { log, lines } = collectLog();
    const tasks = buildScheduler({ leadership: fixedLeadership(true), signals: undefined, metrics, log });
    tasks.add({ name: "ok", everyMs: 60_000, run: async () => {} });
    tasks.add({ name: "bad", everyMs: 60_000, run: async () => Promise.reject(new Error("no")) });
    await tasks.runNow("ok");
    await tasks.runNow("bad");
    const text = await metrics.registry.metrics();
    assert.match(text, /styx_task_duration_seconds_count\{task="ok",outcome="ok"\} 1/);
    assert.match(text, /styx_task_duration_seconds_count\{task="bad",outcome="error"\} 1/);
    assert.deepEqual(lines, ["debug: task ran", "error: task failed"]);
  });

  it("shows the leadership in styx_leader and the log", async () => {
    const metrics = new Metrics();
    const { log, lines } = collectLog();
    const tasks = buildScheduler({ leadership: fixedLeadership(true), signals: undefined, metrics, log });
    tasks.start();
    assert.match(await metrics.registry.metrics(), /^styx_leader 1$/m);
    assert.deepEqual(lines, ["info: this process now runs the background tasks"]);
    await tasks.stop();
  });

  it("sends a wake-up asked for on a follower to the leader, which runs the task", async () => {
    const channel = signalChannel();
    const ran: string[] = [];
    const follower = buildScheduler({
      leadership: fixedLeadership(false),
      signals: channel.gateway("f"),
      metrics: new Metrics(),
      log: new DeferredLog(),
    });
    const leader = buildScheduler({
      leadership: fixedLeadership(true),
      signals: channel.gateway("l"),
      metrics: new Metrics(),
      log: new DeferredLog(),
    });
    leader.add({ name: "lethe-publish", everyMs: 3_600_000, run: async () => void ran.push("leader") });
    follower.add({ name: "lethe-publish", everyMs: 3_600_000, run: async () => void ran.push("follower") });
    follower.start();
    leader.start();
    follower.wake("lethe-publish", 0);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ran, ["leader"]);
    await follower.stop();
    await leader.stop();
  });

  it("never forwards again a wake-up it heard: one wake-up on a follower is one signal, however many followers", async () => {
    const channel = signalChannel();
    const followers = ["f1", "f2", "f3"].map((origin) => {
      const signals = channel.gateway(origin);
      const tasks = buildScheduler({ leadership: fixedLeadership(false), signals, metrics: new Metrics(), log: new DeferredLog() });
      tasks.start();
      return { signals, tasks };
    });
    followers[0]?.tasks.wake("lethe-publish", 0);
    assert.deepEqual(
      followers.map((f) => f.signals.sent.length),
      [1, 0, 0],
    );
    for (const f of followers) await f.tasks.stop();
  });

  it("ignores a wake-up signal that does not name a task and a delay", () => {
    const channel = signalChannel();
    const tasks = buildScheduler({
      leadership: fixedLeadership(true),
      signals: channel.gateway("l"),
      metrics: new Metrics(),
      log: new DeferredLog(),
    });
    tasks.start();
    assert.doesNotThrow(() => channel.gateway("x").publish(WAKE_SIGNAL, { task: 1 }));
    void tasks.stop();
  });
});
