import type { TypedData } from "../identity/signature-verifier.js";
import { blake3Hex } from "../platform/crypto.js";

/**
 * Which Styx a bloodstain signature is for: STYX_CHAIN_ID (the EIP-712 domain's chainId) and
 * STYX_INSTANCE_ID (a field of the message), so a signature made for another chain or another
 * Styx is refused here.
 */
export interface BloodstainBinding {
  readonly chainId: number;
  readonly instanceId: string;
}

/** The EIP-712 domain of Styx bloodstains on `chainId` (version 2: chain id and instance bound). */
export function bloodstainDomain(chainId: number) {
  return { name: "Styx", version: "2", chainId } as const;
}

/** The EIP-712 types of a bloodstain: the instance, its identity fields and a digest of everything else. */
export const BLOODSTAIN_TYPES = {
  Bloodstain: [
    { name: "instance", type: "string" },
    { name: "golemId", type: "string" },
    { name: "generation", type: "uint256" },
    { name: "deathCause", type: "string" },
    { name: "timestamp", type: "string" },
    { name: "contentHash", type: "bytes32" },
  ],
} as const;

/**
 * The retired version 1 (no chain id, no instance): recognized only to tell an old client why
 * its signature is refused.
 */
export const LEGACY_BLOODSTAIN_DOMAIN = { name: "Styx", version: "1" } as const;

/** The types of the retired version 1. */
export const LEGACY_BLOODSTAIN_TYPES = {
  Bloodstain: BLOODSTAIN_TYPES.Bloodstain.filter((f) => f.name !== "instance"),
} as const;

/** What a golem signs: the typed-data message for its bloodstain. */
export interface BloodstainMessage {
  /** STYX_INSTANCE_ID of the Styx the bloodstain is uploaded to. */
  readonly instance: string;
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

/** The typed-data message a golem's wallet signs for an upload to the Styx `instanceId`. */
export function bloodstainMessage(b: SignedBloodstainFields, instanceId: string): BloodstainMessage {
  const rest = {
    warnings: b.warnings,
    causal_edges: b.causal_edges ?? [],
    somatic_landscape_fragment: b.somatic_landscape_fragment ?? null,
    death_testament_excerpt: b.death_testament_excerpt ?? null,
    ticks_lived: b.ticks_lived ?? null,
    publish_to_lethe: b.publish_to_lethe ?? false,
  };
  return {
    instance: instanceId,
    golemId: b.golem_id,
    generation: BigInt(b.generation),
    deathCause: b.death_cause,
    timestamp: b.timestamp,
    contentHash: `0x${blake3Hex(canonicalJson(rest))}`,
  };
}

/** The whole EIP-712 typed data a golem's wallet signs for an upload (`signTypedData` takes it as is). */
export function bloodstainTypedData(b: SignedBloodstainFields, binding: BloodstainBinding) {
  return {
    domain: bloodstainDomain(binding.chainId),
    types: BLOODSTAIN_TYPES,
    primaryType: "Bloodstain" as const,
    message: { ...bloodstainMessage(b, binding.instanceId) },
  } satisfies TypedData;
}
