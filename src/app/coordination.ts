import { AesSealedBox } from "../adapters/crypto/aes-sealed-box.js";
import { AchievementService } from "../core/coordination/achievements.js";
import { BloodstainService } from "../core/coordination/bloodstain-service.js";
import type { BloodstainBinding } from "../core/coordination/bloodstain-signature.js";
import { CausalService } from "../core/coordination/causal-service.js";
import { announceMilestone } from "../core/coordination/lineage-milestones.js";
import { PheromoneService } from "../core/coordination/pheromone-service.js";
import { PulseService } from "../core/coordination/pulse-service.js";
import type { PulseStore } from "../core/coordination/pulse-store.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import type { FabricService } from "../core/fabric/fabric-service.js";
import type { FederationOutlet } from "../core/federation/outlet.js";
import type { IdentityService } from "../core/identity/identity-service.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { SignatureVerifier } from "../core/identity/signature-verifier.js";
import type { KnowledgeService } from "../core/knowledge/knowledge-service.js";
import type { Clock } from "../core/platform/clock.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import type { PublicPipeline } from "../core/privacy/public-pipeline.js";
import type { DepositQuota } from "../core/quota/quota-service.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { CoordinationStores } from "./storage.js";

/** The coordination services as wired for one process. */
export interface CoordinationStack {
  readonly pheromones: PheromoneService;
  readonly causal: CausalService;
  readonly bloodstains: BloodstainService;
  readonly achievements: AchievementService;
  readonly pulse: PulseService;
}

/** SealedBox purpose of the source directory (HKDF info). */
export const SOURCE_DIRECTORY = "source-directory";

/** Names of the coordination background tasks. */
export const COORDINATION_TASKS = { evaporation: "pheromone-evaporation", pulse: "pulse" } as const;

/**
 * Builds the pheromone field, causal federation, bloodstains, achievements and pulse; hooks
 * the achievement rules to the events that can unlock them; registers evaporation and pulse
 * (every 60 s each). Source hashes are keyed hashes under `key` (STYX_SECRET_KEY), and the
 * directory from a hash back to its golem holds the golem sealed under a key derived from it.
 */
export async function buildCoordination(opts: {
  stores: CoordinationStores;
  /** Where the pulse is kept for every process (micronode: memory; macronode: Redis). */
  pulseStore: PulseStore;
  /** How often the pulse task runs (STYX_PULSE_INTERVAL; default 60 s). */
  pulseIntervalMs?: number;
  identityStore: Pick<IdentityStore, "getGolem">;
  identity: IdentityService;
  knowledge: KnowledgeService;
  fabric: FabricService;
  bus: EventBus;
  clock: Clock;
  key: SecretKey;
  pipeline: PublicPipeline;
  scheduler: Scheduler;
  /** The deposits-per-minute quota. */
  quota?: DepositQuota | undefined;
  /** Bloodstain signatures: the offline verifier and the chain and instance they are bound to. */
  signing: { verifier: SignatureVerifier; binding: BloodstainBinding };
  warn: (msg: string, err: unknown) => void;
  /** Federation (SPEC §17): where deposits and causal publications become records. */
  federation?: FederationOutlet | undefined;
}): Promise<CoordinationStack> {
  const { stores, bus, clock, key, pipeline, federation } = opts;
  const pheromones = new PheromoneService({ store: stores.pheromones, bus, clock, key, pipeline, quota: opts.quota, federation });
  const causal = new CausalService({ store: stores.causal, bus, clock, key, pipeline, federation });
  const box = AesSealedBox.open(key, SOURCE_DIRECTORY);
  const achievements = new AchievementService({ store: stores.achievements, bus, clock, box });
  const bloodstains = new BloodstainService({
    deaths: stores.deaths,
    knowledge: opts.knowledge,
    pheromones,
    achievements,
    verifier: opts.signing.verifier,
    binding: opts.signing.binding,
    pipeline,
    bus,
    clock,
    lastHeartbeat: (golemId) => opts.fabric.snapshot(golemId),
  });
  const pulse = new PulseService({
    presence: () => opts.fabric.active(),
    deaths: stores.deaths,
    pheromones: stores.pheromones,
    store: opts.pulseStore,
    // A stored pulse the task left alone for two and a half runs is recomputed by its reader.
    staleAfterMs: 2.5 * (opts.pulseIntervalMs ?? 60_000),
    bus,
    clock,
    pipeline,
    warn: opts.warn,
  });

  /** Credits the golem behind a source hash (the first depositor or publisher). */
  const credit = async (sourceHash: string, facts: Parameters<AchievementService["evaluate"]>[1]) => {
    const golemId = await achievements.golemOfSource(sourceHash);
    const golem = golemId ? await opts.identityStore.getGolem(golemId) : undefined;
    if (golem) await achievements.evaluate(golem, facts);
  };
  const quietly = (what: string, p: Promise<unknown>) =>
    void p.catch((err) => opts.warn(`achievement evaluation after ${what} failed`, err));
  opts.identity.onGolemRegistered((golem) => quietly("a registration", achievements.evaluate(golem, { generation: golem.generation })));
  // Awaited, so the milestone is in the streams' history when the registration answers; a failure never fails it.
  opts.identity.onGolemRegistered((golem) =>
    announceMilestone(bus, golem).then(
      () => {},
      (err) => opts.warn("announcing a lineage milestone failed", err),
    ),
  );
  opts.knowledge.onStored((entry) => {
    if (entry.isBloodstain) return;
    quietly(
      "a write",
      opts.identityStore.getGolem(entry.golemId).then((g) => g && achievements.evaluate(g, { entriesWritten: 1 })),
    );
  });
  opts.fabric.onHeartbeat((golem, beat) => {
    if (beat.tick !== null && beat.tick >= 10_000) quietly("a heartbeat", achievements.evaluate(golem, { ticksLived: beat.tick }));
  });
  pheromones.onDeposit(async (golem, o) => {
    await achievements.remember(pheromones.sourceOf(golem.id), golem.id);
    if (o.confirmed) quietly("a deposit", credit(o.pheromone.sourceHash, { depositConfirmations: o.pheromone.confirmations }));
  });
  causal.onPublish(async (golem, edge, outcome) => {
    await achievements.remember(pheromones.sourceOf(golem.id), golem.id);
    if (outcome === "validated") quietly("a validation", credit(edge.publisherHash, { edgeValidations: edge.validations }));
  });

  opts.scheduler.add({ name: COORDINATION_TASKS.evaporation, everyMs: 60_000, run: () => pheromones.evaporate() });
  opts.scheduler.add({ name: COORDINATION_TASKS.pulse, everyMs: opts.pulseIntervalMs ?? 60_000, run: () => pulse.refresh() });
  return { pheromones, causal, bloodstains, achievements, pulse };
}
