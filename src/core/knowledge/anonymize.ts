import { sha256Hex } from "../platform/crypto.js";
import type { Entry, LetheCandidate } from "./types.js";

/** Metadata fields that survive into lethe (strings and string lists only, scrubbed). */
export const LETHE_METADATA_ALLOW = ["tags", "asset", "market", "timeframe", "horizon", "method", "source_kind"] as const;

const HOUR = 3_600_000;

/** The public stand-in for a golem: first 12 bytes of SHA-256(golem_id + salt), hex. */
export function sourceHash(golemId: string, salt: string): string {
  return sha256Hex(golemId + salt).slice(0, 24);
}

/**
 * The hidden source of a lethe copy: a keyed hash of the writing USER, so golems of one user
 * count once for k-anonymity, quorum and "established" (SPEC §4.2 step 5). The one place that
 * computes it (the STYX_SECRET_KEY HMAC replaces `sourceHash` here).
 */
export function letheSourceOf(userId: string, salt: string): string {
  return sourceHash(`user:${userId}`, salt);
}

/**
 * The id of an entry's queued lethe copy (and of the public entry it becomes), derived from the
 * entry id by the keyed hash: a DELETE finds the queued copy again, and no column links them.
 */
export function letheCandidateIdOf(entryId: string, salt: string): string {
  return `lth_${sourceHash(`lethe:${entryId}`, salt)}`;
}

/** Rounds a time down to the hour. */
export function roundToHour(ms: number): number {
  return Math.floor(ms / HOUR) * HOUR;
}

/** An order-of-magnitude bucket for an amount: 1234.5 → `1e3-1e4`, 0.05 → `1e-2-1e-1`. */
export function amountBucket(value: number): string {
  const k = Math.floor(Math.log10(Math.abs(value)));
  return `1e${k}-1e${k + 1}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

const PATTERNS: readonly [RegExp, string][] = [
  [/\bstyx_[A-Za-z0-9_-]{16,}/g, "[secret]"],
  [/\b(?:sk|pk|ghp|xox[abp])[-_][A-Za-z0-9_-]{16,}/g, "[secret]"],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/gi, "Bearer [secret]"],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s/@]+:[^\s/@]+@\S+/gi, "[url]"],
  [/\bhttps?:\/\/[^\s?#]+\?\S*/gi, "[url]"],
  [/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, "[email]"],
  [/\b0x[0-9a-fA-F]{64}\b/g, "[tx]"],
  [/\b0x[0-9a-fA-F]{40}\b/g, "[address]"],
  [/\b0x[0-9a-fA-F]{16,}\b/g, "[hex]"],
  [/\b[0-9a-fA-F]{32,}\b/g, "[hex]"],
];

/** Money-like or exact numbers: `$1,234.56`, `1234`, `0.057`; small whole numbers (< 10) are kept. */
const AMOUNT = /(?<![\w.])([$€£]?)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![\w])/g;

/**
 * Scrubs free text for lethe: the given identifiers (user id, golem id, wallets), API keys and
 * bearer tokens, URLs with query strings or credentials, emails, tx hashes, EVM addresses, long
 * hex, then exact amounts → order-of-magnitude buckets.
 */
export function scrubText(text: string, identifiers: readonly string[]): string {
  let out = text;
  for (const id of identifiers) {
    if (id.length === 0) continue;
    out = out.replace(new RegExp(`(?<![A-Za-z0-9_])${escapeRegExp(id)}(?![A-Za-z0-9_])`, "gi"), "[redacted]");
  }
  for (const [re, sub] of PATTERNS) out = out.replace(re, sub);
  return out.replace(AMOUNT, (whole, _cur: string, num: string) => {
    const value = Number(num.replace(/,/g, ""));
    if (!Number.isFinite(value) || value === 0) return whole;
    if (Number.isInteger(value) && value < 10 && !num.includes(".")) return whole;
    return amountBucket(value);
  });
}

/** Keeps only allow-listed metadata fields, as scrubbed strings or string lists. */
export function scrubMetadata(meta: Record<string, unknown>, identifiers: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of LETHE_METADATA_ALLOW) {
    const v = meta[key];
    if (typeof v === "string") out[key] = scrubText(v, identifiers).slice(0, 200);
    else if (Array.isArray(v)) {
      const items = v.filter((x): x is string => typeof x === "string").slice(0, 16);
      out[key] = items.map((x) => scrubText(x, identifiers).slice(0, 100));
    }
  }
  return out;
}

/**
 * The anonymized lethe candidate of an entry (SPEC §4.2): no user or golem id, scrubbed text
 * and metadata, the hour instead of the time, confidence halved, the writing user as a keyed hash.
 */
export function anonymizeEntry(
  entry: Entry,
  ctx: { salt: string; identifiers: readonly string[]; id: string; dueAt: number },
): Omit<LetheCandidate, "k" | "delayMs"> {
  const identifiers = [entry.userId, entry.golemId, ...ctx.identifiers];
  return {
    id: ctx.id,
    dueAt: ctx.dueAt,
    domain: entry.domain ?? "",
    category: entry.category,
    content: scrubText(entry.content, identifiers),
    embedding: entry.embedding,
    regime: entry.regime === null ? null : scrubText(entry.regime, identifiers),
    confidence: entry.confidence * 0.5,
    isBloodstain: entry.isBloodstain,
    metadata: scrubMetadata(entry.metadata, identifiers),
    source: letheSourceOf(entry.userId, ctx.salt),
    createdAt: roundToHour(entry.createdAt),
  };
}
