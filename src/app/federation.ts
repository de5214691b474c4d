import { MemoryFederationStore } from "../adapters/memory/memory-federation-store.js";
import type { Config } from "../config/load.js";
import type { CausalService } from "../core/coordination/causal-service.js";
import type { PheromoneService } from "../core/coordination/pheromone-service.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { FederationApplier } from "../core/federation/applier.js";
import type { FederationStore } from "../core/federation/federation-store.js";
import { FederationEmitter } from "../core/federation/outlet.js";
import { FederationSnapshot } from "../core/federation/snapshot.js";
import type { LetheService } from "../core/knowledge/lethe-service.js";
import type { Clock } from "../core/platform/clock.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import { recordToWire } from "../protocol/federation-codec.js";
import type { FederationRouteDeps } from "../server/routes/federation/federation.routes.js";
import type { Storage } from "./storage.js";
import { VERSION } from "./version.js";

/** The federation store of a process (SPEC §17): claims, cursors, links and the outbox. */
export function federationStore(_storage: Storage): FederationStore {
  // Until the SQLite/PostgreSQL FederationStore lands in the storage bundle (helper `fedstore`): links and claims in memory.
  return new MemoryFederationStore();
}

/**
 * The outlet the fact services hand their facts to (SPEC §17): built before them, since each
 * local deposit, lethe publication and causal publication becomes a record as it is written.
 */
export function buildFederationOutlet(opts: {
  config: Config;
  instanceId: string;
  key: SecretKey;
  store: FederationStore;
  bus: EventBus;
  clock: Clock;
}): FederationEmitter {
  const f = opts.config.federation;
  return new FederationEmitter({
    instanceId: opts.instanceId,
    key: opts.key,
    flows: f.flows,
    domains: f.domains,
    upstream: f.upstream !== undefined,
    store: opts.store,
    bus: opts.bus,
    clock: opts.clock,
    wire: (r) => recordToWire(r) as unknown as Record<string, unknown>,
  });
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
  warn: (msg: string, err: unknown) => void;
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
    warn: opts.warn,
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
