import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Lifecycle, type ServingParts, startServing, stopServing } from "../../../src/app/lifecycle.js";
import { DeferredLog } from "../../../src/app/log.js";

/** Parts that record each call made to them, in order. */
function recordingParts(calls: string[]): ServingParts {
  const step =
    (name: string) =>
    async (..._args: unknown[]) =>
      void calls.push(name);
  return {
    config: { host: "127.0.0.1", port: 0 },
    app: {
      ready: step("app.ready") as never,
      listen: (async () => (calls.push("app.listen"), "http://127.0.0.1:1")) as never,
      close: step("app.close") as never,
    },
    log: new DeferredLog(),
    load: { start: () => void calls.push("load.start"), stop: () => void calls.push("load.stop") },
    tasks: { start: () => void calls.push("tasks.start"), stop: step("tasks.stop") },
    knowledge: {
      rebuild: async () => (calls.push("knowledge.rebuild"), { loaded: 0, put: 0 }),
      wakeDue: async () => void calls.push("knowledge.wakeDue"),
      close: step("knowledge.close"),
    },
    privacy: { stop: step("privacy.stop") },
    fabric: { flush: step("fabric.flush"), close: step("fabric.close") },
    storage: { close: step("storage.close") },
  };
}

describe("startServing", () => {
  it("loads the vector indexes and compiles the routes before sampling load, then starts tasks and listens", async () => {
    const calls: string[] = [];
    assert.equal(await startServing(recordingParts(calls)), "http://127.0.0.1:1");
    assert.deepEqual(calls, ["knowledge.rebuild", "app.ready", "load.start", "tasks.start", "knowledge.wakeDue", "app.listen"]);
  });
});

describe("stopServing", () => {
  it("stops the server before the tasks, flushes events before closing the bus, and closes the stores last", async () => {
    const calls: string[] = [];
    await stopServing(recordingParts(calls));
    assert.deepEqual(calls, [
      "load.stop",
      "app.close",
      "tasks.stop",
      "privacy.stop",
      "fabric.flush",
      "fabric.close",
      "knowledge.close",
      "storage.close",
    ]);
  });
});

describe("Lifecycle", () => {
  it("drains, then closes once: later closes share the first stop", async () => {
    const life = new Lifecycle();
    assert.deepEqual([life.draining, life.closing], [false, false]);
    life.drain();
    assert.deepEqual([life.draining, life.closing], [true, false]);
    let stops = 0;
    const stop = async () => void stops++;
    const first = life.close(stop);
    assert.equal(life.closing, true, "closing from the first call on");
    assert.equal(life.close(stop), first);
    await first;
    assert.equal(stops, 1);
  });
});
