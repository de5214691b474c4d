import type { EventBus } from "../fabric/event-bus.js";
import type { GolemPresence } from "../fabric/presence.js";
import { domainStream, userStream } from "../fabric/streams.js";
import { malformedSignature, type SignatureVerifier } from "../identity/signature-verifier.js";
import type { Golem } from "../identity/types.js";
import type { KnowledgeService } from "../knowledge/knowledge-service.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import type { AchievementService } from "./achievements.js";
import {
  type BloodstainBinding,
  bloodstainMessage,
  bloodstainTypedData,
  LEGACY_BLOODSTAIN_DOMAIN,
  LEGACY_BLOODSTAIN_TYPES,
  type SignedBloodstainFields,
} from "./bloodstain-signature.js";
import type { BloodstainResult, DeathRecord, DeathStore } from "./death.js";
import type { PheromoneService } from "./pheromone-service.js";
import type { PheromoneDeposit } from "./pheromone-store.js";

/** One warning of a dying golem. */
export interface DeathWarning {
  readonly domain: string;
  readonly regime: string;
  readonly class: string;
  readonly severity: number;
  readonly message: string;
}

/** One causal edge a dying golem leaves behind (becomes a wisdom pheromone). */
export interface DeathEdge {
  readonly from_variable: string;
  readonly to_variable: string;
  readonly direction: "positive" | "negative";
  readonly strength: number;
  readonly domain: string;
  readonly regime: string;
}

/** An upload as the API hands it over (wire names, since the signature covers them as sent). */
export interface BloodstainInput extends SignedBloodstainFields {
  readonly warnings: readonly DeathWarning[];
  readonly causal_edges?: readonly DeathEdge[] | undefined;
  readonly somatic_landscape_fragment?: Record<string, unknown> | undefined;
  readonly signature?: string | undefined;
}

/**
 * A golem's death (SPEC §6): one transaction marks it dead with its record, deposits a threat
 * pheromone per warning and a wisdom pheromone per causal edge, stores the warnings as clade
 * entries (`is_bloodstain`) and, when the owner opts in, queues their anonymized lethe copies.
 * Then `styx:bloodstain` is announced and achievements are evaluated. One death per golem: a
 * repeat returns the first answer.
 */
export class BloodstainService {
  readonly #d: BloodstainDeps;

  constructor(deps: BloodstainDeps) {
    this.#d = deps;
  }

  async upload(
    golem: Golem,
    given: BloodstainInput,
    identifiers: readonly string[],
  ): Promise<{ result: BloodstainResult; created: boolean }> {
    const d = this.#d;
    const first = await d.deaths.find(golem.id);
    if (first) return { result: first.result, created: false };
    if (golem.status === "dead") throw new StyxError("STYX_CONFLICT", "The golem is already dead.");
    if (given.generation !== golem.generation) {
      throw new StyxError("STYX_VALIDATION", `generation is ${golem.generation} for this golem.`, { details: [{ path: "/generation" }] });
    }
    const diedAt = Date.parse(given.timestamp);
    const signed = await this.#checkSignature(golem, given);
    // Checked after the signature, which covers the fields as the golem sent them.
    const input = this.#publicFields(golem, given);

    const entries = await d.knowledge.prepareEntries(
      input.warnings.map((w) => ({
        golem,
        layer: input.publish_to_lethe ? "lethe" : "clade",
        category: "warning",
        content: w.message,
        domain: w.domain,
        regime: w.regime,
        confidence: w.severity,
        metadata: { class: w.class },
        isBloodstain: true,
      })),
      identifiers,
      // A warning's text is its message (embedded when an embedder is configured); it has no embedding of its own.
      input.warnings.map((_, i) => ({ embedding: `/warnings/${i}`, text: `/warnings/${i}/message` })),
    );
    const source = d.pheromones.sourceOf(golem.id);
    const deposit = (
      layer: PheromoneDeposit["layer"],
      cls: string,
      intensity: number,
      domain: string,
      regime: string,
    ): PheromoneDeposit => ({
      id: newId("phe"),
      layer,
      class: cls,
      domain,
      regime,
      intensity,
      sourceHash: source,
      metadata: { bloodstain: true },
      hv: null,
    });
    const deposits = [
      ...input.warnings.map((w) => deposit("threat", w.class, w.severity, w.domain, w.regime)),
      ...(input.causal_edges ?? []).map((e) => deposit("wisdom", `${e.from_variable}->${e.to_variable}`, e.strength, e.domain, e.regime)),
    ];
    const now = d.clock.now();
    // Read before the death is recorded: the death's event makes every gateway forget the golem's presence.
    const last = await d.lastHeartbeat(golem.id);
    const death: Omit<DeathRecord, "result"> = {
      golemId: golem.id,
      userId: golem.userId,
      generation: golem.generation,
      deathCause: input.death_cause,
      diedAt,
      recordedAt: now,
      ticksLived: input.ticks_lived ?? golem.ticksLived,
      warnings: input.warnings.length,
      causalEdges: input.causal_edges?.length ?? 0,
      testamentExcerpt: input.death_testament_excerpt ?? null,
      somaticFragment: input.somatic_landscape_fragment ?? null,
      signed,
      bornAt: golem.createdAt,
      finalPhase: last?.phase ?? null,
      finalPad: last?.pad ?? null,
      finalNav: last?.nav ?? null,
      domains: [...new Set([...input.warnings.map((w) => w.domain), ...(input.causal_edges ?? []).map((e) => e.domain)])].sort(),
    };
    // Each deposit federates like any other (SPEC §17.1: a death travels as its pheromones): its outbox entry is written with it.
    const owns = await Promise.all(deposits.map((dep) => d.pheromones.recordOf(dep, now)));
    const outbox = new Map(owns.flatMap((o, i) => (o?.outbox ? [[deposits[i]?.id as string, o.outbox] as const] : [])));
    const r = await d.deaths.record(death, { entries, deposits, outbox }, now, (stored, outcomes) => ({
      golemId: golem.id,
      diedAt,
      entryIds: stored.map((e) => e.id),
      pheromoneIds: outcomes.map((o) => o.pheromone.id),
      letheQueued: stored.filter((e) => e.letheAt !== null || e.letheWaiting).length,
    }));
    if (!r.created) return { result: r.record.result, created: false };

    d.knowledge.afterStored(r.entries.map((entry) => ({ entry, created: true })));
    await d.achievements.remember(source, golem.id);
    // The records of its deposits are in the relay outbox with the death: the relay publishes them (SPEC §17.2).
    for (const own of owns) d.pheromones.written(own);
    // Every event of the death is published in this turn and awaited together: each stream keeps
    // the order they were made in (its appends queue in call order), none waits for another's ack.
    await Promise.all([
      ...r.deposits.map((o) => d.pheromones.announce(o)),
      d.bus.publish({
        stream: userStream(golem.userId),
        channel: "styx:bloodstain",
        payload: {
          golem_id: golem.id,
          generation: golem.generation,
          death_cause: input.death_cause,
          died_at: new Date(diedAt).toISOString(),
          warnings: death.warnings,
          causal_edges: death.causalEdges,
        },
      }),
      // Domain followers learn of the death without learning whose it was.
      ...[...new Set(input.warnings.map((w) => w.domain))].map((domain) =>
        d.bus.publish({
          stream: domainStream(domain),
          channel: "styx:bloodstain",
          payload: {
            domain,
            warnings: input.warnings
              .filter((w) => w.domain === domain)
              .map((w) => ({ class: w.class, regime: w.regime, severity: w.severity })),
          },
        }),
      ),
    ]);
    await d.achievements.evaluate(
      { ...golem, status: "dead" },
      {
        ticksLived: death.ticksLived,
        generation: golem.generation,
        firstBloodstainOfClade: (await d.deaths.firstOfUser(golem.userId)) === golem.id,
      },
    );
    return { result: r.record.result, created: true };
  }

  /**
   * The bloodstain with its public fields (warnings' domain, regime and class; edges'
   * variables, domain and regime: they become pheromones on the public field) in public form,
   * or `400 STYX_NOT_PUBLISHABLE` naming the first that may not be published (nothing stored).
   */
  #publicFields(golem: Golem, input: BloodstainInput): BloodstainInput {
    const pub = this.#d.pipeline;
    const writer = { userId: golem.userId };
    pub.rememberGolem(golem);
    return {
      ...input,
      warnings: input.warnings.map((w, i) => ({
        ...w,
        domain: pub.required(w.domain, writer, `/warnings/${i}/domain`),
        regime: pub.required(w.regime, writer, `/warnings/${i}/regime`),
        class: pub.required(w.class, writer, `/warnings/${i}/class`, "class"),
      })),
      ...(input.causal_edges
        ? {
            causal_edges: input.causal_edges.map((e, i) => ({
              ...e,
              from_variable: pub.required(e.from_variable, writer, `/causal_edges/${i}/from_variable`),
              to_variable: pub.required(e.to_variable, writer, `/causal_edges/${i}/to_variable`),
              domain: pub.required(e.domain, writer, `/causal_edges/${i}/domain`),
              regime: pub.required(e.regime, writer, `/causal_edges/${i}/regime`),
            })),
          }
        : {}),
    };
  }

  /** Which Styx bloodstain signatures must name: the chain id and instance of the typed data. */
  get binding(): BloodstainBinding {
    return this.#d.binding;
  }

  /**
   * A golem with a wallet must sign its bloodstain (EIP-712, bound to this chain and instance);
   * without one nothing can be verified.
   */
  async #checkSignature(golem: Golem, input: BloodstainInput): Promise<boolean> {
    if (!golem.walletAddress) return false;
    const { chainId, instanceId } = this.#d.binding;
    const how = `sign the typed data of GET /v1/styx/bloodstain/typed-data (EIP-712, domain Styx v2, chainId ${chainId}, instance ${instanceId})`;
    if (!input.signature) throw badSignature(`This golem has a wallet: ${how}.`);
    const verdict = await this.#d.verifier.verifyTypedData(
      golem.walletAddress,
      bloodstainTypedData(input, this.#d.binding),
      input.signature,
    );
    if (verdict === "valid") return true;
    if (verdict === "malformed") throw malformedSignature();
    throw badSignature(
      `The bloodstain signature is not the golem wallet's over this upload: ${await this.#whyNot(golem.walletAddress, input, how)}.`,
    );
  }

  /** What an old or misdirected client got wrong (checked only once a signature failed). */
  async #whyNot(wallet: string, input: BloodstainInput, how: string): Promise<string> {
    const { golemId, generation, deathCause, timestamp, contentHash } = bloodstainMessage(input, "");
    const legacy = {
      domain: LEGACY_BLOODSTAIN_DOMAIN,
      types: LEGACY_BLOODSTAIN_TYPES,
      primaryType: "Bloodstain",
      message: { golemId, generation, deathCause, timestamp, contentHash },
    };
    if ((await this.#d.verifier.verifyTypedData(wallet, legacy, input.signature as string)) === "valid") {
      return `it was made over the retired v1 typed data, which binds no chain or instance; ${how}`;
    }
    return how;
  }
}

function badSignature(message: string): StyxError {
  return new StyxError("STYX_AUTH_INVALID_SIGNATURE", message, { details: [{ path: "/signature" }] });
}

/** Dependencies of the bloodstain service. */
export interface BloodstainDeps {
  readonly deaths: DeathStore;
  readonly knowledge: Pick<KnowledgeService, "prepareEntries" | "afterStored">;
  readonly pheromones: Pick<PheromoneService, "sourceOf" | "announce" | "recordOf" | "written">;
  readonly achievements: Pick<AchievementService, "evaluate" | "remember">;
  readonly verifier: Pick<SignatureVerifier, "verifyTypedData">;
  /** STYX_CHAIN_ID and STYX_INSTANCE_ID, bound into the typed data. */
  readonly binding: BloodstainBinding;
  readonly pipeline: PublicPipeline;
  readonly bus: EventBus;
  readonly clock: Clock;
  /** The golem's last heartbeat, if any (its final phase, PAD and NAV go into the death record). */
  readonly lastHeartbeat: (golemId: string) => Promise<GolemPresence | undefined>;
}
