import type { FederationRecord } from "../core/federation/records.js";
import type { FederationRecordWire } from "./federation.js";

/** Federation records between their domain form (core) and the wire (snake_case JSON, ISO times, base64 hypervectors). */

/** A record as it travels (pushes, stream events, snapshot lines). */
export function recordToWire(r: FederationRecord): FederationRecordWire {
  const head = { origin: r.origin, id: r.id, domain: r.domain, at: new Date(r.at).toISOString() };
  switch (r.kind) {
    case "pheromone": {
      const p = r.pheromone;
      return {
        ...head,
        kind: "pheromone",
        pheromone: {
          layer: p.layer,
          class: p.class,
          intensity: p.intensity,
          regime: p.regime,
          source: p.source,
          ...(p.hv ? { content_hv: Buffer.from(p.hv).toString("base64") } : {}),
        },
      };
    }
    case "lethe": {
      const l = r.lethe;
      return {
        ...head,
        kind: "lethe",
        lethe: {
          category: l.category,
          content: l.content,
          regime: l.regime,
          confidence: l.confidence,
          is_bloodstain: l.isBloodstain,
          source: l.source,
          ...(l.embedding ? { embedding: Array.from(l.embedding) } : {}),
        },
      };
    }
    case "causal": {
      const c = r.causal;
      return {
        ...head,
        kind: "causal",
        causal: {
          from_variable: c.fromVariable,
          to_variable: c.toVariable,
          direction: c.direction,
          strength: c.strength,
          lag_ticks: c.lagTicks,
          evidence_count: c.evidenceCount,
          confidence: c.confidence,
          regime: c.regime,
          source: c.source,
        },
      };
    }
  }
}

/** A wire record (already checked against FederationRecordWire) in its domain form. */
export function recordFromWire(w: FederationRecordWire): FederationRecord {
  const head = { origin: w.origin, id: w.id, domain: w.domain, at: Date.parse(w.at) };
  switch (w.kind) {
    case "pheromone": {
      const p = w.pheromone;
      return {
        ...head,
        kind: "pheromone",
        pheromone: {
          layer: p.layer,
          class: p.class,
          intensity: p.intensity,
          regime: p.regime,
          source: p.source,
          hv: p.content_hv ? Uint8Array.from(Buffer.from(p.content_hv, "base64")) : null,
        },
      };
    }
    case "lethe": {
      const l = w.lethe;
      return {
        ...head,
        kind: "lethe",
        lethe: {
          category: l.category,
          content: l.content,
          regime: l.regime,
          confidence: l.confidence,
          isBloodstain: l.is_bloodstain,
          source: l.source,
          embedding: l.embedding ? Float32Array.from(l.embedding) : null,
        },
      };
    }
    case "causal": {
      const c = w.causal;
      return {
        ...head,
        kind: "causal",
        causal: {
          fromVariable: c.from_variable,
          toVariable: c.to_variable,
          direction: c.direction,
          strength: c.strength,
          lagTicks: c.lag_ticks,
          evidenceCount: c.evidence_count,
          confidence: c.confidence,
          regime: c.regime,
          source: c.source,
        },
      };
    }
  }
}
