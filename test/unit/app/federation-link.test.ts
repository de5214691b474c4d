import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryFederationStore } from "../../../src/adapters/memory/memory-federation-store.js";
import { buildUpstreamLink } from "../../../src/app/federation-link.js";
import { DeferredLog } from "../../../src/app/log.js";
import type { FederationConfig } from "../../../src/config/load.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import type { FederationRecord } from "../../../src/core/federation/records.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { Metrics } from "../../../src/server/metrics.js";
import { Scheduler } from "../../../src/tasks/scheduler.js";
import { FakeUpstream, SetApplier } from "../../../src/testing/fake-upstream.js";
import { HandedLeadership } from "../../../src/testing/handed-leadership.js";

const UP = "sx_00000000000000aa";
const config: FederationConfig = {
  upstream: { url: "http://upstream.invalid", key: "styx_k" },
  flows: parseFlows("pheromone"),
  domains: parseFederatedDomains("defi"),
  nats: false,
  maxRecords: { rate: 10, burst: 600 },
};

function deposit(id: string, at: number): FederationRecord {
  const pheromone = {
    layer: "threat",
    class: "rug",
    intensity: 0.9,
    regime: "bull",
    source: "0123456789abcdef01234567",
    hv: null,
  } as const;
  return { origin: "sx_00000000000000bb", id, domain: "defi", at, kind: "pheromone", pheromone };
}

/** One gateway of a macronode: its scheduler, leadership, upstream socket and link, over the cluster's shared store. */
function gateway(store: MemoryFederationStore, clock: ManualClock) {
  const leadership = new HandedLeadership();
  const scheduler = new Scheduler({ leadership });
  const upstream = new FakeUpstream(UP);
  const metrics = new Metrics();
  const stack = buildUpstreamLink({
    config,
    store,
    applier: new SetApplier(),
    instanceId: "sx_00000000000000d0",
    version: "test",
    embedDim: 8,
    clock,
    scheduler,
    metrics,
    log: new DeferredLog(),
    transport: upstream,
  });
  scheduler.start();
  return { leadership, scheduler, upstream, metrics, stack, link: stack.link as NonNullable<typeof stack.link> };
}

/** Lets the scheduler's at-lead run start the link, then waits for its work. */
async function settle(link: { idle(): Promise<void> }): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await link.idle();
}

describe("buildUpstreamLink", () => {
  it("runs the link on the leader only; a new leader resumes from the stored cursors", async () => {
    const clock = new ManualClock();
    const store = new MemoryFederationStore();
    await store.saveCursor("federation:defi", { epoch: "e1", seq: 0 });
    const a = gateway(store, clock);
    const b = gateway(store, clock);
    a.leadership.set(true);
    await settle(a.link);
    assert.equal(a.link.state, "connected");
    assert.equal(b.link.running, false);
    assert.equal(b.upstream.hellos.length, 0, "a follower says nothing to the upstream");
    a.upstream.emit("federation:defi", 7, deposit("r7", clock.now()));
    await a.link.idle();

    a.leadership.set(false);
    await settle(a.link);
    assert.equal(a.link.running, false);
    assert.equal(a.upstream.connected, false, "the old leader's socket is closed");
    b.leadership.set(true);
    await settle(b.link);
    assert.equal(b.link.state, "connected");
    assert.deepEqual([...(b.upstream.resumes[0] ?? [])], [["federation:defi", { epoch: "e1", seq: 7 }]]);
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    assert.equal(b.upstream.connected, false, "stopped with the process");
  });

  it("shows the link in the admin view, health's upstream and the metrics", async () => {
    const clock = new ManualClock();
    const store = new MemoryFederationStore();
    store.enqueue({
      record: { ...deposit("mine", clock.now()), origin: "sx_00000000000000d0" },
      enqueuedAt: clock.now(),
      up: true,
      down: false,
    });
    const g = gateway(store, clock);
    g.upstream.pushed = () => {
      throw new Error("not yet");
    };
    const down = await g.stack.check?.check();
    assert.equal(down?.status, "down");
    assert.match(down?.detail ?? "", /leader/);
    g.leadership.set(true);
    await settle(g.link);
    const view = await g.stack.view();
    assert.equal(view.upstream?.state, "connected");
    assert.equal(view.upstream?.instance_id, UP);
    assert.equal(view.upstream?.url, "http://upstream.invalid");
    assert.equal(view.upstream?.outbox_depth, 1);
    assert.deepEqual({ ...view.upstream?.cursors }, { "federation:defi": { epoch: "e1", seq: 0 } });
    assert.equal((await g.stack.check?.check())?.status, "up");
    const text = await g.metrics.registry.metrics();
    assert.match(text, /styx_federation_connected 1/);
    assert.match(text, /styx_federation_outbox_depth 1/);
    await g.scheduler.stop();
  });

  it("builds no link, no task and no health entry without an upstream", async () => {
    const scheduler = new Scheduler();
    const stack = buildUpstreamLink({
      config: { ...config, upstream: undefined, flows: new Map(), domains: { all: false, names: new Set() } },
      store: new MemoryFederationStore(),
      applier: new SetApplier(),
      instanceId: "sx_00000000000000d0",
      version: "test",
      embedDim: 8,
      clock: new ManualClock(),
      scheduler,
      metrics: new Metrics(),
      log: new DeferredLog(),
    });
    assert.equal(stack.link, undefined);
    assert.equal(stack.check, undefined);
    assert.equal((await stack.view()).upstream, null);
    await assert.rejects(scheduler.runNow("federation-link"), /no task/);
  });
});
