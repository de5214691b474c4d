import type { Config } from "../config/load.js";
import type { CausalService } from "../core/coordination/causal-service.js";
import type { PheromoneService } from "../core/coordination/pheromone-service.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { FederationApplier } from "../core/federation/applier.js";
import type { FederationStore } from "../core/federation/federation-store.js";
import { FederationEmitter } from "../core/federation/outlet.js";
import type { FederationRecord } from "../core/federation/records.js";
import { coalesce, RecordRelay } from "../core/federation/relay.js";
import { FederationSnapshot } from "../core/federation/snapshot.js";
import type { LetheService } from "../core/knowledge/lethe-service.js";
import type { Clock } from "../core/platform/clock.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import { recordToWire } from "../protocol/federation-codec.js";
import type { FederationRouteDeps } from "../server/routes/federation/federation.routes.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { Storage } from "./storage.js";
import { VERSION } from "./version.js";

/** The task that publishes the relay outbox (own records for the downstreams) on federation:{domain}. */
export const FEDERATION_RELAY_TASK = "federation-relay";
/** How often the relay's task sweeps the relay outbox while some downstream is linked (a wake-up lost on its way to the leader). */
export const RELAY_SWEEP_MS = 1000;
/** Wake-ups of the relay a process sends at most once per this window (and once after the last fact). */
const RELAY_WAKE_WINDOW_MS = 10;

/**
 * The outlet the fact services hand their facts to (SPEC §17): built before them, since each
 * local deposit, lethe publication and causal publication becomes a record as it is written.
 * Its relay (SPEC §17.2 down) is a task of the leader: woken after each own record written for
 * the downstreams (on a macronode gateway that does not lead, by a signal to the leader), swept
 * every second while some downstream is linked, and run at once when this process comes to lead
 * (it publishes what a killed process, or the previous leader, left in the relay outbox).
 */
export function buildFederationOutlet(opts: {
  config: Config;
  instanceId: string;
  key: SecretKey;
  store: FederationStore;
  bus: EventBus;
  clock: Clock;
  scheduler: Pick<Scheduler, "add" | "wake">;
  warn: (msg: string, err: unknown) => void;
}): FederationEmitter {
  const f = opts.config.federation;
  const wire = (r: FederationRecord) => recordToWire(r) as unknown as Record<string, unknown>;
  const outlet = new FederationEmitter({
    instanceId: opts.instanceId,
    key: opts.key,
    flows: f.flows,
    domains: f.domains,
    upstream: f.upstream !== undefined,
    store: opts.store,
    bus: opts.bus,
    clock: opts.clock,
    wire,
    wake: coalesce(() => opts.scheduler.wake(FEDERATION_RELAY_TASK, 0), RELAY_WAKE_WINDOW_MS),
    warn: opts.warn,
  });
  const relay = new RecordRelay({ store: opts.store, bus: opts.bus, wire });
  // The first run since this process leads drains whatever waits; later runs only while a downstream is linked
  // (a standalone Styx reads its links at most every LINKS_CACHE_MS, and its relay outbox never).
  let leading = false;
  opts.scheduler.add({
    name: FEDERATION_RELAY_TASK,
    everyMs: RELAY_SWEEP_MS,
    atLead: true,
    run: async () => {
      if (leading && !(await outlet.hasDownstreams())) return;
      await relay.drain();
      leading = true;
    },
    atUnlead: async () => {
      leading = false;
    },
  });
  return outlet;
}

/**
 * The upstream side of federation (SPEC §17.2): the applier of records (shared with the
 * down-link), the domain snapshot, and what the routes need.
 */
export function buildFederation(opts: {
  config: Config;
  instanceId: string;
  key: SecretKey;
  store: FederationStore;
  outlet: FederationEmitter;
  storage: Pick<Storage, "entries" | "coordination">;
  pheromones: PheromoneService;
  lethe: LetheService;
  causal: CausalService;
  clock: Clock;
}): { applier: FederationApplier; routes: Omit<FederationRouteDeps, "history" | "limiter" | "clock"> } {
  const { instanceId, key, store, clock } = opts;
  const applier = new FederationApplier({
    instanceId,
    store,
    pheromones: opts.pheromones,
    lethe: opts.lethe,
    causal: opts.causal,
    outlet: opts.outlet,
    clock,
  });
  const snapshot = new FederationSnapshot({
    instanceId,
    key,
    pheromones: opts.storage.coordination.pheromones,
    entries: opts.storage.entries,
    causal: opts.storage.coordination.causal,
    clock,
  });
  return {
    applier,
    routes: {
      instanceId,
      version: VERSION,
      embedDim: opts.config.embedDim,
      store,
      applier,
      snapshot,
      maxRecords: opts.config.federation.maxRecords,
      linked: () => opts.outlet.linksChanged(),
    },
  };
}
