import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { golemSourceHash, type SecretKey } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import { type CausalEdge, type CausalStore, type Direction, type DiscoverFilter, type PublishOutcome, strengthBucket } from "./causal.js";

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

/** Publish and discover anonymized causal edges; publishers are kept only as source hashes. */
export class CausalService {
  readonly #store: CausalStore;
  readonly #clock: Clock;
  readonly #key: SecretKey;
  readonly #pipeline: PublicPipeline;
  readonly #listeners: PublishListener[] = [];

  constructor(deps: { store: CausalStore; clock: Clock; key: SecretKey; pipeline: PublicPipeline }) {
    this.#store = deps.store;
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
    const r = await this.#store.publish(
      {
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
      },
      this.#clock.now(),
    );
    for (const l of this.#listeners) await l(golem, r.edge, r.outcome);
    return r;
  }

  discover(filter: DiscoverFilter): Promise<CausalEdge[]> {
    return this.#store.discover(filter);
  }
}
