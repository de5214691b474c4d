import type { OutboxEntry } from "../federation/federation-store.js";
import { bundle, type Pheromone, reinforce } from "./pheromone.js";

/**
 * A deposit as the store applies it: the fields of a new pheromone (the depositor only as its
 * source hash; `id` is used when no live pheromone matches).
 */
export type PheromoneDeposit = Pick<
  Pheromone,
  "id" | "layer" | "class" | "domain" | "regime" | "intensity" | "sourceHash" | "metadata" | "hv"
>;

/** What a deposit did: the pheromone as stored afterwards, and whether it matched one. */
export interface DepositOutcome {
  readonly pheromone: Pheromone;
  /** True when the deposit matched a live pheromone (same cell and class, or a similar hypervector). */
  readonly reinforced: boolean;
  /** True when a new source confirmed it (`confirmations` went up by one). */
  readonly confirmed: boolean;
}

/** The pheromone a deposit that matched nothing creates: its own fields, unconfirmed, deposited and created `now`. */
export function newPheromone(d: PheromoneDeposit, now: number): Pheromone {
  return {
    id: d.id,
    layer: d.layer,
    class: d.class,
    domain: d.domain,
    regime: d.regime,
    intensity: d.intensity,
    confirmations: 0,
    depositedAt: now,
    createdAt: now,
    sourceHash: d.sourceHash,
    metadata: d.metadata,
    hv: d.hv,
  };
}

/**
 * The vector a deposit adds to the members of the pheromone it matched: its hypervector when
 * both have one; null when the match keeps its hypervector (or lack of one) as it is.
 */
export function addedMember(match: Pheromone, d: PheromoneDeposit): Uint8Array | null {
  return d.hv && match.hv ? d.hv : null;
}

/**
 * What a deposit does to the live pheromone it matched (SPEC §5, see `reinforce`): `newSource`
 * when its source was not yet recorded; `members`, when it added one (`addedMember`), are the
 * newest HV_MAX_MEMBERS member vectors, oldest first, whose majority bundle becomes the
 * pheromone's hypervector.
 */
export function reinforcedBy(
  match: Pheromone,
  d: PheromoneDeposit,
  newSource: boolean,
  now: number,
  members: readonly Uint8Array[] | null,
): DepositOutcome {
  const r = reinforce(match, d.intensity, newSource, now);
  const hv = members ? bundle(members) : match.hv;
  return {
    pheromone: { ...match, intensity: r.intensity, confirmations: r.confirmations, depositedAt: now, hv },
    reinforced: true,
    confirmed: r.confirmed,
  };
}

/**
 * The pheromone field (micronode: SQLite; macronode: PostgreSQL with a Redis read cache).
 * Obligations: `deposit` is atomic — finding the match, reinforcing (SPEC §5 rules, see
 * pheromone.ts) and recording the source happen together, so concurrent deposits of one cell
 * never create twins or lose a confirmation. Only live pheromones (current intensity ≥ the
 * evaporation threshold at `now`) match or are returned; decay is computed, never written.
 * `outbox` (SPEC §17.2): the deposit's federation record, written to the outbox (up) and the
 * relay outbox (down) in the deposit's own transaction, so it is queued if and only if the
 * deposit is stored.
 */
export interface PheromoneStore {
  deposit(d: PheromoneDeposit, now: number, outbox?: OutboxEntry): Promise<DepositOutcome>;
  /** Live pheromones of the domains (of one regime when given), in no particular order. */
  live(domains: readonly string[], regime: string | undefined, now: number): Promise<Pheromone[]>;
  /** Every live pheromone (pulse); bounded by evaporation. */
  allLive(now: number): Promise<Pheromone[]>;
  /** How many pheromones are live at `now`. */
  countLive(now: number): Promise<number>;
  /** Deletes pheromones under the threshold at `now`; returns how many. */
  evaporate(now: number): Promise<number>;
  /** Live pheromones of one domain with id > `afterId`, by id, at most `limit` (the federation snapshot reads a domain in pages). */
  pageLive(domain: string, afterId: string, limit: number, now: number): Promise<Pheromone[]>;
}
