import { HV_BYTES } from "../../core/coordination/pheromone.js";
import type { FederationLink } from "../../core/federation/federation-store.js";
import type { FederationRecord } from "../../core/federation/records.js";

/** A time the federation fixtures start from (whole minutes, as records carry them). */
export const FED_T0 = 1_800_000_000_000;
/** The origin of the fixtures' records (`sx_` + 16 hex). */
export const FED_ORIGIN = "sx_0123456789abcdef";

/** What a fixture record may differ in. */
interface RecordOver {
  readonly domain?: string;
  readonly at?: number;
}

/** The head of a fixture record: the fixtures' origin, `id`, domain defi, FED_T0. */
function head(id: string, over: RecordOver) {
  return { origin: FED_ORIGIN, id, domain: over.domain ?? "defi", at: over.at ?? FED_T0 };
}

/** A pheromone record (with a hypervector unless `hv: null` is asked for). */
export function pheromoneRecord(id: string, over: RecordOver & { hv?: Uint8Array | null } = {}): FederationRecord {
  return {
    ...head(id, over),
    kind: "pheromone",
    pheromone: {
      layer: "threat",
      class: "rug",
      intensity: 0.75,
      regime: "bull",
      source: "f3a9",
      hv: over.hv === undefined ? Uint8Array.from({ length: HV_BYTES }, (_, i) => (i * 37) & 0xff) : over.hv,
    },
  };
}

/** A lethe record, with an embedding. */
export function letheRecord(id: string, over: RecordOver = {}): FederationRecord {
  return {
    ...head(id, over),
    kind: "lethe",
    lethe: {
      category: "insight",
      content: "slippage spikes before ünïcode rugs",
      regime: null,
      confidence: 0.625,
      isBloodstain: true,
      source: "b7c1",
      embedding: new Float32Array([0.5, -0.25, 1]),
    },
  };
}

/** A causal record. */
export function causalRecord(id: string, over: RecordOver = {}): FederationRecord {
  return {
    ...head(id, over),
    kind: "causal",
    causal: {
      fromVariable: "gas",
      toVariable: "slippage",
      direction: "positive",
      strength: "strong",
      lagTicks: 3,
      evidenceCount: 12,
      confidence: 0.75,
      regime: "bull",
      source: "c0de",
    },
  };
}

/** A downstream's link as an upstream records it at hello. */
export function linkFixture(keyId: string, over: Partial<FederationLink> = {}): FederationLink {
  return {
    keyId,
    userId: "u_fed",
    instanceId: "sx_fedcba9876543210",
    version: "1.0.0",
    flows: ["pheromone", "lethe:down"],
    domains: ["defi", "nft"],
    embedDim: 384,
    helloAt: FED_T0,
    lastSeenAt: FED_T0,
    ...over,
  };
}
