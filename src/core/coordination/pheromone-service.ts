import type { EventBus } from "../fabric/event-bus.js";
import { domainStream } from "../fabric/streams.js";
import type { FederationOutlet, OwnRecord } from "../federation/outlet.js";
import { type FederationRecord, federatedSource } from "../federation/records.js";
import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { golemSourceHash, type SecretKey } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import type { DepositQuota } from "../quota/quota-service.js";
import {
  currentIntensity,
  type DomainLevels,
  EVAPORATION_THRESHOLD,
  effectiveHalfLifeMs,
  levelsOf,
  PHEROMONE_LAYERS,
  type Pheromone,
  type PheromoneLayer,
} from "./pheromone.js";
import type { DepositOutcome, PheromoneDeposit, PheromoneStore } from "./pheromone-store.js";

/** A deposit as the API hands it over (the golem already checked by tenancy). */
export interface DepositInput {
  readonly layer: PheromoneLayer;
  readonly class: string;
  readonly intensity: number;
  readonly domain: string;
  readonly regime: string;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly hv?: Uint8Array | undefined;
}

/** A live pheromone as `sense` reports it. */
export interface SensedPheromone {
  readonly pheromone: Pheromone;
  /** Intensity now. */
  readonly current: number;
  readonly halfLifeMs: number;
}

/** Strongest now first; ties by id. (Signs, not `b.current - a.current`: a double difference is a heap number per comparison.) */
const strongestFirst = (a: SensedPheromone, b: SensedPheromone) =>
  a.current > b.current ? -1 : a.current < b.current ? 1 : a.pheromone.id < b.pheromone.id ? -1 : 1;

/** The sense answer of one domain. */
export interface SensedDomain extends DomainLevels {
  readonly domain: string;
  /** The strongest live pheromones, strongest first (at most the requested limit). */
  readonly pheromones: readonly SensedPheromone[];
  /** How many live pheromones the domain has in all. */
  readonly live: number;
}

/** One domain × layer cell of the field (the admin dashboard's heat map). */
export interface FieldCell {
  readonly domain: string;
  readonly layer: PheromoneLayer;
  /** The strongest current intensity in the cell (0..1). */
  readonly level: number;
  /** Live pheromones in the cell. */
  readonly live: number;
}

/** How far ahead of this Styx's clock a federated record's time may be (clock skew), ms. */
export const FEDERATION_CLOCK_SKEW_MS = 60_000;

/** Called after a deposit, with the golem that made it (achievements). */
export type DepositListener = (golem: Golem, outcome: DepositOutcome) => void | Promise<void>;

/**
 * Deposits and senses on the pheromone field. Depositors are kept only as source hashes;
 * every deposit is announced on its domain stream (`styx:pheromone:deposit` for a new
 * pheromone, `styx:pheromone:reinforced` for a match), without any identity. With federation
 * (SPEC §17) a local deposit is also a record of this Styx (queued for the upstream in the
 * deposit's transaction, relayed to downstreams), and records of other instances are deposited
 * like local ones (`applyFederated`).
 */
export class PheromoneService {
  readonly #store: PheromoneStore;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #key: SecretKey;
  readonly #pipeline: PublicPipeline;
  readonly #listeners: DepositListener[] = [];
  readonly #quota: DepositQuota | undefined;
  readonly #federation: FederationOutlet | undefined;

  constructor(deps: {
    store: PheromoneStore;
    bus: EventBus;
    clock: Clock;
    key: SecretKey;
    pipeline: PublicPipeline;
    /** The per-user deposits-per-minute quota; none: unlimited. */
    quota?: DepositQuota | undefined;
    /** Federation (SPEC §17): where local deposits become records; none: nothing federates. */
    federation?: FederationOutlet | undefined;
  }) {
    this.#quota = deps.quota;
    this.#federation = deps.federation;
    this.#store = deps.store;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#key = deps.key;
    this.#pipeline = deps.pipeline;
  }

  /** Registers a listener called after every deposit. */
  onDeposit(listener: DepositListener): void {
    this.#listeners.push(listener);
  }

  /** The anonymous source hash of a golem (what the field stores instead of its id): its keyed hash (SPEC §3). */
  sourceOf(golemId: string): string {
    return golemSourceHash(this.#key, golemId);
  }

  /**
   * Deposits a pheromone. Its fields are public (SPEC §4.2): class, domain and regime must be
   * publishable (else `400 STYX_NOT_PUBLISHABLE`, nothing stored); metadata keeps only what
   * the public pipeline allows. A publishable deposit counts against its user's deposits per
   * minute (`429 STYX_QUOTA_EXCEEDED` past it, nothing stored).
   */
  async deposit(golem: Golem, input: DepositInput): Promise<DepositOutcome> {
    const pub = this.#pipeline;
    const writer = { userId: golem.userId };
    pub.rememberGolem(golem);
    const deposit = {
      id: newId("phe"),
      layer: input.layer,
      class: pub.required(input.class, writer, "/class", "class"),
      domain: pub.required(input.domain, writer, "/domain"),
      regime: pub.required(input.regime, writer, "/regime"),
      intensity: input.intensity,
      sourceHash: this.sourceOf(golem.id),
      metadata: pub.metadata(input.metadata ?? {}, writer),
      hv: input.hv ?? null,
    };
    await this.#quota?.chargeDeposit(golem.userId);
    const now = this.#clock.now();
    const own = await this.recordOf(deposit, now);
    const outcome = await this.#store.deposit(deposit, now, own?.outbox);
    await this.announce(outcome);
    // The record is in the relay outbox with the deposit: the relay publishes it (SPEC §17.2).
    this.#federation?.written(own);
    for (const l of this.#listeners) await l(golem, outcome);
    return outcome;
  }

  /**
   * The federation record of a local deposit made `now` (SPEC §17.3), with the outbox entry its
   * write carries when it goes up or down; undefined when this Styx federates nothing (a
   * bloodstain's deposits take theirs through the death store's transaction).
   */
  recordOf(deposit: PheromoneDeposit, now: number): Promise<OwnRecord | undefined> {
    return (
      this.#federation?.own({
        kind: "pheromone",
        id: deposit.id,
        domain: deposit.domain,
        at: now,
        pheromone: {
          layer: deposit.layer,
          class: deposit.class,
          intensity: deposit.intensity,
          regime: deposit.regime,
          source: deposit.sourceHash,
          hv: deposit.hv,
        },
      }) ?? Promise.resolve(undefined)
    );
  }

  /** A stored deposit's own record: the relay publishes it to this Styx's downstreams when it went into the relay outbox. */
  written(own: OwnRecord | undefined): void {
    this.#federation?.written(own);
  }

  /**
   * Deposits another instance's pheromone record like a local deposit (SPEC §17.3): from source
   * `origin:source` (one source: it confirms and reinforces as a local depositor would), with a
   * fresh local id (a record's id never names a row here), its intensity decayed from the record's
   * time by its layer's half-life; class, domain and regime pass the public pipeline. Refused with
   * `STYX_FEDERATION_STALE` when that intensity is under the evaporation threshold or the time is
   * more than a minute ahead. Announced with `"federated": true`; never queued for an upstream.
   */
  async applyFederated(record: FederationRecord & { kind: "pheromone" }): Promise<DepositOutcome> {
    const now = this.#clock.now();
    const f = record.pheromone;
    const intensity = currentIntensity({ layer: f.layer, intensity: f.intensity, confirmations: 0, depositedAt: record.at }, now);
    if (record.at > now + FEDERATION_CLOCK_SKEW_MS || intensity < EVAPORATION_THRESHOLD) throw new StyxError("STYX_FEDERATION_STALE");
    const pub = this.#pipeline;
    const writer = { userId: null };
    const outcome = await this.#store.deposit(
      {
        id: newId("phe"),
        layer: f.layer,
        class: pub.required(f.class, writer, "/pheromone/class", "class"),
        domain: pub.required(record.domain, writer, "/domain"),
        regime: pub.required(f.regime, writer, "/pheromone/regime"),
        intensity,
        sourceHash: federatedSource({ origin: record.origin, source: f.source }),
        metadata: {},
        hv: f.hv,
      },
      now,
    );
    await this.announce(outcome, true);
    return outcome;
  }

  /** Publishes a deposit's event on its domain stream (`federated`: it came from another instance). */
  async announce(outcome: DepositOutcome, federated = false): Promise<void> {
    const p = outcome.pheromone;
    await this.#bus.publish({
      stream: domainStream(p.domain),
      channel: outcome.reinforced ? "styx:pheromone:reinforced" : "styx:pheromone:deposit",
      payload: {
        id: p.id,
        layer: p.layer,
        class: p.class,
        domain: p.domain,
        regime: p.regime,
        intensity: p.intensity,
        confirmations: p.confirmations,
        ...(federated ? { federated: true } : {}),
      },
    });
  }

  /** Per domain: the live pheromones (strongest `limit`) and the level of each layer. */
  async sense(domains: readonly string[], regime: string | undefined, limit: number): Promise<SensedDomain[]> {
    const now = this.#clock.now();
    const live = await this.#store.live(domains, regime, now);
    // One pass over the live pheromones, each decayed once (a sense answer lists up to 32 × 100).
    const byDomain = new Map<string, SensedPheromone[]>(domains.map((d) => [d, []]));
    for (const p of live) {
      byDomain
        .get(p.domain)
        ?.push({ pheromone: p, current: currentIntensity(p, now), halfLifeMs: effectiveHalfLifeMs(p.layer, p.confirmations) });
    }
    return domains.map((domain) => {
      const mine = (byDomain.get(domain) ?? []).sort(strongestFirst);
      return { domain, ...levelsOf(mine), pheromones: mine.length > limit ? mine.slice(0, limit) : mine, live: mine.length };
    });
  }

  /**
   * The whole live field as domain × layer cells, for the `domains` domains with the strongest
   * pheromones (ties by name), cells of a domain in layer order.
   */
  async field(domains: number): Promise<FieldCell[]> {
    const now = this.#clock.now();
    const cells = new Map<string, { level: number; live: number }>();
    const peak = new Map<string, number>();
    for (const p of await this.#store.allLive(now)) {
      const current = currentIntensity(p, now);
      const key = `${p.domain}\u0000${p.layer}`;
      const c = cells.get(key) ?? { level: 0, live: 0 };
      cells.set(key, { level: Math.max(c.level, current), live: c.live + 1 });
      peak.set(p.domain, Math.max(peak.get(p.domain) ?? 0, current));
    }
    const top = [...peak].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, domains);
    return top.flatMap(([domain]) =>
      PHEROMONE_LAYERS.map((layer) => ({ domain, layer, ...(cells.get(`${domain}\u0000${layer}`) ?? { level: 0, live: 0 }) })),
    );
  }

  /** Deletes pheromones that decayed under the threshold (the evaporation task). */
  evaporate(): Promise<number> {
    return this.#store.evaporate(this.#clock.now());
  }

  /** Live pheromones now (the `styx_pheromones_active` gauge). */
  countActive(): Promise<number> {
    return this.#store.countLive(this.#clock.now());
  }
}
