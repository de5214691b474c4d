import type { CausalEdge, CausalStore } from "../coordination/causal.js";
import type { Pheromone } from "../coordination/pheromone.js";
import type { PheromoneStore } from "../coordination/pheromone-store.js";
import type { EntryStore } from "../knowledge/entry-store.js";
import type { LetheEntry } from "../knowledge/types.js";
import type { Clock } from "../platform/clock.js";
import type { SecretKey } from "../platform/secret-key.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../privacy/public-pipeline.js";
import type { RecordKind } from "./flows.js";
import { type FederationRecord, outboundSource, sourceOrigin } from "./records.js";

/** Rows read per page of a snapshot. */
export const SNAPSHOT_PAGE = 200;

/** Where a snapshot reads a domain's facts: each store a page at a time. */
export interface SnapshotDeps {
  readonly instanceId: string;
  readonly key: SecretKey;
  readonly pheromones: Pick<PheromoneStore, "pageLive">;
  readonly entries: Pick<EntryStore, "pageLethe">;
  readonly causal: Pick<CausalStore, "pageEdges">;
  readonly clock: Clock;
  readonly pageSize?: number;
}

/**
 * The facts of a domain as records (SPEC §17.2 snapshot): live pheromones, lethe entries, causal
 * edges, a page at a time (never the domain in memory at once). A row from another instance
 * keeps its origin and source (`origin:source` split again); a local row is this Styx's record,
 * its source re-hashed (`outboundSource`). The id is the row's (a replay of the same snapshot is
 * a duplicate; a row also received as a stream record counts again only as its source, which
 * the facts' own rules count once). Rows whose source came from `exclude` (the asking
 * instance) are skipped: nothing returns home.
 */
export class FederationSnapshot {
  readonly #d: SnapshotDeps;

  constructor(deps: SnapshotDeps) {
    this.#d = deps;
  }

  /** Pages of records of `domain` of the kinds `takes` allows, leaving out those from `exclude`. */
  async *pages(domain: string, exclude: string, takes: (kind: RecordKind) => boolean): AsyncGenerator<FederationRecord[]> {
    const d = this.#d;
    const size = d.pageSize ?? SNAPSHOT_PAGE;
    const keep = (r: FederationRecord | undefined): r is FederationRecord => r !== undefined && r.origin !== exclude;
    if (takes("pheromone")) {
      for (let after = ""; ; ) {
        const rows = await d.pheromones.pageLive(domain, after, size, d.clock.now());
        if (rows.length > 0) yield rows.map((p) => this.#pheromone(p)).filter(keep);
        if (rows.length < size) break;
        after = (rows[rows.length - 1] as Pheromone).id;
      }
    }
    if (takes("lethe")) {
      for (let after = 0; ; ) {
        const rows = await d.entries.pageLethe(domain, after, size);
        if (rows.length > 0) yield rows.map((e) => this.#lethe(e)).filter(keep);
        if (rows.length < size) break;
        after = (rows[rows.length - 1] as LetheEntry).seq;
      }
    }
    if (takes("causal")) {
      for (let after = ""; ; ) {
        const rows = await d.causal.pageEdges(domain, after, size);
        if (rows.length > 0) yield rows.map((e) => this.#causal(e)).filter(keep);
        if (rows.length < size) break;
        after = (rows[rows.length - 1] as CausalEdge).id;
      }
    }
  }

  /** The origin and outgoing source of a stored source: another instance's as it came, else this Styx's, re-hashed. */
  #from(source: string): { origin: string; source: string } {
    const origin = sourceOrigin(source);
    if (origin !== undefined) return { origin, source: source.slice(origin.length + 1) };
    return { origin: this.#d.instanceId, source: outboundSource(this.#d.key, source) };
  }

  #pheromone(p: Pheromone): FederationRecord {
    const { origin, source } = this.#from(p.sourceHash);
    const at = publicTime(p.depositedAt, PUBLIC_TIME_RESOLUTION_MS.field);
    const pheromone = { layer: p.layer, class: p.class, intensity: p.intensity, regime: p.regime, source, hv: p.hv };
    return { kind: "pheromone", origin, id: p.id, domain: p.domain, at, pheromone };
  }

  #lethe(e: LetheEntry): FederationRecord | undefined {
    const first = e.sources[0];
    if (first === undefined) return undefined;
    const { origin, source } = this.#from(first);
    const lethe = {
      category: e.category,
      content: e.content,
      regime: e.regime,
      confidence: e.confidence,
      isBloodstain: e.isBloodstain,
      source,
      embedding: e.embedding,
    };
    return { kind: "lethe", origin, id: e.id, domain: e.domain, at: e.createdAt, lethe };
  }

  #causal(e: CausalEdge): FederationRecord {
    const { origin, source } = this.#from(e.publisherHash);
    const causal = {
      fromVariable: e.fromVariable,
      toVariable: e.toVariable,
      direction: e.direction,
      strength: e.strength,
      lagTicks: e.lagTicks,
      evidenceCount: e.evidenceCount,
      confidence: e.confidence,
      regime: e.regime,
      source,
    };
    return { kind: "causal", origin, id: e.id, domain: e.domain, at: publicTime(e.createdAt, PUBLIC_TIME_RESOLUTION_MS.field), causal };
  }
}
