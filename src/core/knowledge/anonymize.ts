import { HASH_LABELS, keyedHash, type SecretKey, userSourceHash } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../privacy/public-pipeline.js";
import type { Entry, LetheCandidate } from "./types.js";

/**
 * The hidden source of a lethe copy: the keyed hash of the writing USER, so golems of one user
 * count once for k-anonymity, quorum and "established" (SPEC §4.2 step 5).
 */
export function letheSourceOf(userId: string, key: SecretKey): string {
  return userSourceHash(key, userId);
}

/**
 * The id of an entry's queued lethe copy (and of the public entry it becomes), derived from the
 * entry id by the keyed hash: a DELETE finds the queued copy again, and no column links them.
 */
export function letheCandidateIdOf(entryId: string, key: SecretKey): string {
  return `lth_${keyedHash(key, HASH_LABELS.letheCopy + entryId)}`;
}

/** Rounds a time down to the hour (the resolution of public lethe times). */
export function roundToHour(ms: number): number {
  return publicTime(ms, PUBLIC_TIME_RESOLUTION_MS.lethe);
}

/**
 * The anonymized lethe candidate of an entry (SPEC §4.2), made by the public pipeline: no user
 * or golem id, domain and regime in the closed grammar, scrubbed text and metadata, the hour
 * instead of the time, confidence halved, the writing user as a keyed hash (SPEC §3).
 * Undefined when a structural field may not be published (the entry keeps its private copies).
 */
export async function anonymizeEntry(
  entry: Entry,
  ctx: { pipeline: PublicPipeline; key: SecretKey; id: string; dueAt: number },
): Promise<Omit<LetheCandidate, "k" | "delayMs"> | undefined> {
  const writer = { userId: entry.userId };
  const domain = entry.domain === null ? undefined : ctx.pipeline.token(entry.domain, writer);
  const regime = entry.regime === null ? null : ctx.pipeline.token(entry.regime, writer);
  if (domain === undefined || regime === undefined) return undefined;
  return {
    id: ctx.id,
    dueAt: ctx.dueAt,
    domain,
    category: entry.category,
    content: await ctx.pipeline.text(entry.content, writer),
    embedding: entry.embedding,
    regime,
    confidence: entry.confidence * 0.5,
    isBloodstain: entry.isBloodstain,
    metadata: ctx.pipeline.metadata(entry.metadata, writer),
    source: letheSourceOf(entry.userId, ctx.key),
    createdAt: roundToHour(entry.createdAt),
  };
}
