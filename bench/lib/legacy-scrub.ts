/**
 * THE OLD REGEX SCRUBBER, kept only as bench/scrub.ts's baseline: `scrubText` of
 * src/core/knowledge/anonymize.ts at commit e4a7b1b, before issue 14 replaced it with the public
 * pipeline (src/core/privacy/). Copied verbatim but for what the bench does not call (metadata,
 * anonymizeEntry, sourceHash, roundToHour). Its regexes backtrack on adversarial input (the
 * issue's reproducer took 5–9 s): never use it for anything but this measurement, and run it
 * in a child process that can be killed (bench/scrub.ts does).
 */

/** An order-of-magnitude bucket for an amount: 1234.5 → `1e3-1e4`, 0.05 → `1e-2-1e-1`. */
function amountBucket(value: number): string {
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
