import type { EventBus } from "../fabric/event-bus.js";
import { domainStream } from "../fabric/streams.js";
import type { FederationOutlet } from "../federation/outlet.js";
import { type FederationRecord, federatedSource } from "../federation/records.js";
import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { golemSourceHash, type SecretKey } from "../platform/secret-key.js";
import { PUBLIC_TIME_RESOLUTION_MS, type PublicPipeline, publicTime } from "../privacy/public-pipeline.js";
import {
  type CausalEdge,
  type CausalPublication,
  type CausalStore,
  type Direction,
  type DiscoverFilter,
  type PublishOutcome,
  strengthBucket,
} from "./causal.js";

/** A publication as the API hands it over (evidence and confidence floors checked by the schema). */
export interface PublishInput {
  readonly fromVariable: string;
  readonly toVariable: string;
  readonly direction: Direction;
  readonly strength: number;
  readonly lagTicks: number;
  readonly evidenceCount: number;
  readonly confidence: number;
  readonly domain: string;
  readonly regime: string;
}

/** Called after a publication with the publishing golem and the edge's first publisher hash. */
export type PublishListener = (golem: Golem, edge: CausalEdge, outcome: PublishOutcome) => void | Promise<void>;

/**
 * Publish and discover anonymized causal edges; publishers are kept only as source hashes.
 * A publication that changes an edge (created, validated, contradicted) is announced as
 * `styx:causal:published` on its domain's stream (SPEC §9), without any publisher. With
 * federation (SPEC §17) each publication is also a record of this Styx (queued for the upstream
 * in the publication's transaction, relayed to downstreams), and records of other instances are
 * published like local ones (`applyFederated`).
 */
export class CausalService {
  readonly #store: CausalStore;
  readonly #bus: Pick<EventBus, "publish">;
  readonly #clock: Clock;
  readonly #key: SecretKey;
  readonly #pipeline: PublicPipeline;
  readonly #listeners: PublishListener[] = [];
  readonly #federation: FederationOutlet | undefined;

  /** `federation`: where publications become records (SPEC §17); none: nothing federates. */
  constructor(deps: {
    store: CausalStore;
    bus: Pick<EventBus, "publish">;
    clock: Clock;
    key: SecretKey;
    pipeline: PublicPipeline;
    federation?: FederationOutlet | undefined;
  }) {
    this.#federation = deps.federation;
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#key = deps.key;
    this.#pipeline = deps.pipeline;
  }

  onPublish(listener: PublishListener): void {
    this.#listeners.push(listener);
  }

  /** Publishes an edge; its variables, domain and regime must be publishable (else `400 STYX_NOT_PUBLISHABLE`). */
  async publish(golem: Golem, input: PublishInput): Promise<{ edge: CausalEdge; outcome: PublishOutcome }> {
    const pub = this.#pipeline;
    const writer = { userId: golem.userId };
    pub.rememberGolem(golem);
    const p: CausalPublication = {
      id: newId("cau"),
      fromVariable: pub.required(input.fromVariable, writer, "/from_variable"),
      toVariable: pub.required(input.toVariable, writer, "/to_variable"),
      domain: pub.required(input.domain, writer, "/domain"),
      regime: pub.required(input.regime, writer, "/regime"),
      direction: input.direction,
      strength: strengthBucket(input.strength),
      lagTicks: input.lagTicks,
      evidenceCount: input.evidenceCount,
      confidence: input.confidence,
      publisherHash: golemSourceHash(this.#key, golem.id),
    };
    const now = this.#clock.now();
    const own = await this.#federation?.own({
      kind: "causal",
      id: p.id,
      domain: p.domain,
      at: now,
      causal: {
        fromVariable: p.fromVariable,
        toVariable: p.toVariable,
        direction: p.direction,
        strength: p.strength,
        lagTicks: p.lagTicks,
        evidenceCount: p.evidenceCount,
        confidence: p.confidence,
        regime: p.regime,
        source: p.publisherHash,
      },
    });
    const r = await this.#store.publish(p, now, own?.outbox);
    await this.#announce(r, false);
    // An unchanged edge (the publisher had voted) wrote no record: nothing to relay.
    if (r.outcome !== "unchanged") this.#federation?.written(own);
    for (const l of this.#listeners) await l(golem, r.edge, r.outcome);
    return r;
  }

  /**
   * Publishes another instance's causal record like a local publication (SPEC §17.3): the
   * publisher is `origin:source` (it votes once, as any publisher), the id a fresh local one,
   * the variables, domain and regime through the public pipeline. Announced with
   * `"federated": true`; never queued for an upstream.
   */
  async applyFederated(record: FederationRecord & { kind: "causal" }): Promise<{ edge: CausalEdge; outcome: PublishOutcome }> {
    const pub = this.#pipeline;
    const writer = { userId: null };
    const c = record.causal;
    const r = await this.#store.publish(
      {
        id: newId("cau"),
        fromVariable: pub.required(c.fromVariable, writer, "/causal/from_variable"),
        toVariable: pub.required(c.toVariable, writer, "/causal/to_variable"),
        domain: pub.required(record.domain, writer, "/domain"),
        regime: pub.required(c.regime, writer, "/causal/regime"),
        direction: c.direction,
        strength: c.strength,
        lagTicks: c.lagTicks,
        evidenceCount: c.evidenceCount,
        confidence: c.confidence,
        publisherHash: federatedSource({ origin: record.origin, source: c.source }),
      },
      this.#clock.now(),
    );
    await this.#announce(r, true);
    return r;
  }

  /** Announces a publication that changed its edge; the same publisher again changes nothing, so it announces nothing. */
  async #announce(r: { edge: CausalEdge; outcome: PublishOutcome }, federated: boolean): Promise<void> {
    if (r.outcome === "unchanged") return;
    await this.#bus.publish({
      stream: domainStream(r.edge.domain),
      channel: "styx:causal:published",
      payload: { ...causalEventPayload(r.edge, r.outcome), ...(federated ? { federated: true } : {}) },
    });
  }

  discover(filter: DiscoverFilter): Promise<CausalEdge[]> {
    return this.#store.discover(filter);
  }
}

/** The `styx:causal:published` payload: the edge as discover shows it (no publisher hash; time to the minute) and what changed. */
export function causalEventPayload(e: CausalEdge, outcome: PublishOutcome): Record<string, unknown> {
  return { ...publicEdge(e), outcome };
}

/** A causal edge in its public form (SPEC §4.2): no publisher hash, its time to the minute. The one shape of answers and events. */
export function publicEdge(e: CausalEdge) {
  return {
    id: e.id,
    from_variable: e.fromVariable,
    to_variable: e.toVariable,
    direction: e.direction,
    strength: e.strength,
    lag_ticks: e.lagTicks,
    evidence_count: e.evidenceCount,
    confidence: e.confidence,
    validations: e.validations,
    contradictions: e.contradictions,
    domain: e.domain,
    regime: e.regime,
    created_at: new Date(publicTime(e.createdAt, PUBLIC_TIME_RESOLUTION_MS.field)).toISOString(),
  };
}
