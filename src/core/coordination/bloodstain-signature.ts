import { blake3Hex } from "../platform/crypto.js";

/** The EIP-712 domain of Styx bloodstains (no chain id: verification is offline and chain-agnostic). */
export const BLOODSTAIN_DOMAIN = { name: "Styx", version: "1" } as const;

/** The EIP-712 types of a bloodstain: its identity fields plus a digest of everything else. */
export const BLOODSTAIN_TYPES = {
  Bloodstain: [
    { name: "golemId", type: "string" },
    { name: "generation", type: "uint256" },
    { name: "deathCause", type: "string" },
    { name: "timestamp", type: "string" },
    { name: "contentHash", type: "bytes32" },
  ],
} as const;

/** What a golem signs: the typed-data message for its bloodstain. */
export interface BloodstainMessage {
  readonly golemId: string;
  readonly generation: bigint;
  readonly deathCause: string;
  readonly timestamp: string;
  /** 0x + BLAKE3-256 of the canonical JSON of the rest of the upload. */
  readonly contentHash: `0x${string}`;
}

/** The signed fields of an upload as they arrive on the wire. */
export interface SignedBloodstainFields {
  readonly golem_id: string;
  readonly generation: number;
  readonly death_cause: string;
  readonly timestamp: string;
  readonly warnings: readonly unknown[];
  readonly causal_edges?: readonly unknown[] | undefined;
  readonly somatic_landscape_fragment?: unknown;
  readonly death_testament_excerpt?: string | undefined;
  readonly ticks_lived?: number | undefined;
  readonly publish_to_lethe?: boolean | undefined;
}

/** JSON with object keys sorted at every level (the form that is hashed). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The typed-data message a golem's wallet signs for an upload (EIP-712, domain `Styx` v1). */
export function bloodstainMessage(b: SignedBloodstainFields): BloodstainMessage {
  const rest = {
    warnings: b.warnings,
    causal_edges: b.causal_edges ?? [],
    somatic_landscape_fragment: b.somatic_landscape_fragment ?? null,
    death_testament_excerpt: b.death_testament_excerpt ?? null,
    ticks_lived: b.ticks_lived ?? null,
    publish_to_lethe: b.publish_to_lethe ?? false,
  };
  return {
    golemId: b.golem_id,
    generation: BigInt(b.generation),
    deathCause: b.death_cause,
    timestamp: b.timestamp,
    contentHash: `0x${blake3Hex(canonicalJson(rest))}`,
  };
}
