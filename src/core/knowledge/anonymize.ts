import { golemSourceHash, type SecretKey } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../privacy/public-pipeline.js";
import type { Entry, LetheCandidate } from "./types.js";

/** Rounds a time down to the hour (the resolution of public lethe times). */
export function roundToHour(ms: number): number {
  return publicTime(ms, PUBLIC_TIME_RESOLUTION_MS.lethe);
}

/**
 * The anonymized lethe candidate of an entry (SPEC §4.2), made by the public pipeline: no user
 * or golem id, domain and regime in the closed grammar, scrubbed text and metadata, the hour
 * instead of the time, confidence halved, the golem as its keyed source hash (SPEC §3).
 * Undefined when a structural field may not be published (the entry keeps its private copies).
 */
export async function anonymizeEntry(
  entry: Entry,
  ctx: { pipeline: PublicPipeline; key: SecretKey; id: string; dueAt: number },
): Promise<LetheCandidate | undefined> {
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
    source: golemSourceHash(ctx.key, entry.golemId),
    createdAt: roundToHour(entry.createdAt),
  };
}
