/**
 * Federation records (SPEC §17.3): what travels between two Styx instances, one public-layer
 * fact each. A record names its maker (`origin`, a `STYX_INSTANCE_ID`) and its own id; the pair
 * is applied once per Styx. No record carries a user, golem, key, wallet, vault or clade id:
 * sources are keyed hashes of keyed hashes. Pure.
 */
import type { Direction, StrengthBucket } from "../coordination/causal.js";
import type { PheromoneLayer } from "../coordination/pheromone.js";
import type { Category } from "../knowledge/types.js";
import { keyedHash, rememberedKeyedHash, type SecretKey } from "../platform/secret-key.js";
import type { RecordKind } from "./flows.js";

/** Most records one `POST /v1/styx/federation/records` carries. */
export const MAX_RECORDS_PER_PUSH = 500;

/** How long an outbox record is retried before it is dropped (and counted): 7 days. */
export const OUTBOX_TTL_MS = 7 * 86_400_000;

/** A pheromone deposit as a record: the deposit's own fields, its source re-hashed. */
export interface PheromoneFacts {
  readonly layer: PheromoneLayer;
  readonly class: string;
  readonly intensity: number;
  readonly regime: string;
  readonly source: string;
  /** The deposit's hypervector, when it had one. */
  readonly hv: Uint8Array | null;
}

/** A published (or reinforcing) lethe row as a record: §4.2's public form, its time to the hour. */
export interface LetheFacts {
  readonly category: Category;
  readonly content: string;
  readonly regime: string | null;
  readonly confidence: number;
  readonly isBloodstain: boolean;
  readonly source: string;
  /** Sent only when both sides embed in the same dimension. */
  readonly embedding: Float32Array | null;
}

/** A causal publication as a record: the edge's facts with its strength bucket, the publisher re-hashed. */
export interface CausalFacts {
  readonly fromVariable: string;
  readonly toVariable: string;
  readonly direction: Direction;
  readonly strength: StrengthBucket;
  readonly lagTicks: number;
  readonly evidenceCount: number;
  readonly confidence: number;
  readonly regime: string;
  readonly source: string;
}

interface RecordHead {
  /** The maker's instance id (`sx_` + 16 hex). */
  readonly origin: string;
  /** The record's id at its maker (the deposit, lethe candidate or causal publication id). */
  readonly id: string;
  readonly domain: string;
  /** When it happened at its maker (epoch ms; pheromones decay from it). Lethe: to the hour; others: to the minute. */
  readonly at: number;
}

/** One federation record, by kind. */
export type FederationRecord =
  | (RecordHead & { readonly kind: "pheromone"; readonly pheromone: PheromoneFacts })
  | (RecordHead & { readonly kind: "lethe"; readonly lethe: LetheFacts })
  | (RecordHead & { readonly kind: "causal"; readonly causal: CausalFacts });

/** The kind of a record (narrowing helper for maps keyed by kind). */
export function recordKind(r: FederationRecord): RecordKind {
  return r.kind;
}

/** The source a record carries, whatever its kind. */
export function recordSource(r: FederationRecord): string {
  return r.kind === "pheromone" ? r.pheromone.source : r.kind === "lethe" ? r.lethe.source : r.causal.source;
}

/**
 * The source a record's fact counts under where it is applied: `origin:source`, so one
 * instance's source never collides with a local one nor with another instance's, and quorum
 * and confirmations count distinct (origin, source) pairs (SPEC §17.3).
 */
export function federatedSource(r: Pick<FederationRecord, "origin"> & { readonly source: string }): string {
  return `${r.origin}:${r.source}`;
}

/**
 * Whether a stored source hash came from another instance (`sx_…:…`): federated sources are
 * never pushed up again, so nothing returns home.
 */
export function isFederatedSource(source: string): boolean {
  return source.startsWith("sx_") && source.includes(":");
}

/** The instance a federated source came from, else undefined. */
export function sourceOrigin(source: string): string | undefined {
  if (!isFederatedSource(source)) return undefined;
  return source.slice(0, source.indexOf(":"));
}

/** Labels of the keyed hashes federation adds (SPEC §3's scheme, separate domains). */
const LABELS = { source: "federation:", buyer: "buyer:" } as const;

/**
 * The source a local fact leaves under: the keyed hash of its local source hash, so an
 * upstream (or anyone reading it) cannot match it with what this Styx shows locally.
 */
export function outboundSource(key: SecretKey, localSource: string): string {
  return rememberedKeyedHash(key, LABELS.source + localSource);
}

/** `X-Styx-Buyer` (SPEC §17.2): the keyed hash of the local user id, the buyer as the upstream knows it. */
export function buyerReference(key: SecretKey, userId: string): string {
  return keyedHash(key, LABELS.buyer + userId);
}

/** The (origin, id) pair under which a record is applied once. */
export function recordKey(r: Pick<FederationRecord, "origin" | "id">): string {
  return `${r.origin}\u0000${r.id}`;
}

/** What applying one record did: applied, already applied before, or refused with an error code (nothing applied). */
export type ApplyOutcome =
  | { readonly outcome: "accepted" }
  | { readonly outcome: "duplicate" }
  | { readonly outcome: "rejected"; readonly code: string };

/**
 * Applies records of other instances like local facts (SPEC §17.3): each (origin, id) once,
 * never one of this Styx's own origin. Implemented by the federation service; the down-link
 * and the push route both call it.
 */
export interface RecordApplier {
  apply(record: FederationRecord): Promise<ApplyOutcome>;
}
