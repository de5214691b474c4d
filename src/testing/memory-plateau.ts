/**
 * The plateau criterion of the soak proof (test/chaos/soak.test.ts): does a process's memory
 * level off under a steady load, or grow steadily? Pure, so that it is tested on made-up series
 * (test/unit/testing/memory-plateau.test.ts) as well as on a real server.
 *
 * V8's heap-used is a sawtooth: it climbs between collections and drops at each. What a leak
 * raises is the floor, the live set left after a collection, so the heap is judged on troughs:
 * the span after the warm-up is cut into windows and each window contributes its minimum. RSS
 * moves in steps (the allocator keeps pages it got) and is judged on window medians.
 *
 * Criterion (all must hold):
 * - warm-up (JIT, caches, the hot ring and SQLite's page cache filling): the first `warmup`
 *   fraction of the run is ignored;
 * - heap slope: the least-squares slope of the window troughs is at most `heapSlopeMbPerMin`;
 * - heap growth: the median trough of the last quarter of the run is at most that of the second
 *   quarter × (1 + `growth`) + `heapSlackMb`;
 * - RSS growth: the median RSS of the last quarter is at most that of the second quarter ×
 *   (1 + `growth`) + `rssSlackMb`;
 * - RSS slope: the least-squares slope of the windows' median RSS after `rssSettleS` seconds and
 *   over the second half of the run is at most `rssSlopeMbPerMin`. Native memory (SQLite, the
 *   allocator's arenas, worker threads) settles more slowly than the heap: measured on this
 *   server, RSS rose ~20 MB over the first 5 minutes of the soak (8 MB/min in the second minute)
 *   and then stayed level. A run too short to leave a quarter of itself after that is not judged
 *   on the RSS slope (`rssSlopeMbPerMin` NaN): on a short run only a JS-heap leak is caught.
 * The heap slope catches a leak of JS objects at any rate over the whole span; the quarter
 * comparisons catch growth that a slope's noise hides on a short run, and tolerate a level that
 * steps once and stays; the RSS bounds catch memory outside the JS heap.
 */

/** One reading of the server's memory: `t` seconds since the load started, sizes in bytes. */
export interface MemorySample {
  readonly t: number;
  readonly rss: number;
  readonly heapUsed: number;
}

/** The bounds of the criterion. */
export interface PlateauBounds {
  /** Fraction of the run ignored at the start. */
  readonly warmup: number;
  /** Windows the span after the warm-up is cut into. */
  readonly windows: number;
  readonly heapSlopeMbPerMin: number;
  /** Relative growth allowed between the second and the last quarter. */
  readonly growth: number;
  readonly heapSlackMb: number;
  readonly rssSlackMb: number;
  readonly rssSlopeMbPerMin: number;
  /** Seconds native memory is given to settle before its slope is judged. */
  readonly rssSettleS: number;
}

export const DEFAULT_BOUNDS: PlateauBounds = {
  warmup: 0.2,
  windows: 16,
  heapSlopeMbPerMin: 0.5,
  growth: 0.1,
  heapSlackMb: 3,
  rssSlackMb: 16,
  rssSlopeMbPerMin: 2,
  rssSettleS: 300,
};

/** What the criterion found. */
export interface PlateauVerdict {
  readonly ok: boolean;
  /** Why not, one line per failed bound (empty when ok). */
  readonly failures: readonly string[];
  /** Least-squares slope of the heap troughs after the warm-up, MB per minute. */
  readonly heapSlopeMbPerMin: number;
  /** Median heap trough of the second and of the last quarter, MB. */
  readonly heapQ2Mb: number;
  readonly heapQ4Mb: number;
  /** Median RSS of the second and of the last quarter, MB. */
  readonly rssQ2Mb: number;
  readonly rssQ4Mb: number;
  /** Least-squares slope of the windows' median RSS late in the run, MB per minute (NaN: the run was too short to judge it). */
  readonly rssSlopeMbPerMin: number;
  /** The window troughs the slope was fitted on ([t s, heap MB]). */
  readonly troughs: readonly (readonly [number, number])[];
}

const MB = 1024 * 1024;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Least-squares slope of y over x. */
export function slope(points: readonly (readonly [number, number])[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Judges `samples` of a run of `durationS` seconds against `bounds`. */
export function judgePlateau(samples: readonly MemorySample[], durationS: number, bounds: PlateauBounds = DEFAULT_BOUNDS): PlateauVerdict {
  const from = durationS * bounds.warmup;
  const width = (durationS - from) / bounds.windows;
  const troughs: [number, number][] = [];
  const rssLevels: [number, number][] = [];
  for (let w = 0; w < bounds.windows; w++) {
    const lo = from + w * width;
    const inWindow = samples.filter((s) => s.t >= lo && (w === bounds.windows - 1 ? s.t <= durationS : s.t < lo + width));
    if (inWindow.length === 0) continue;
    troughs.push([lo + width / 2, Math.min(...inWindow.map((s) => s.heapUsed)) / MB]);
    rssLevels.push([lo + width / 2, median(inWindow.map((s) => s.rss / MB))]);
  }
  const inQuarter = (q: number) => (t: number) => t >= (durationS * (q - 1)) / 4 && t <= (durationS * q) / 4;
  const heapQ2Mb = median(troughs.filter(([t]) => inQuarter(2)(t)).map(([, h]) => h));
  const heapQ4Mb = median(troughs.filter(([t]) => inQuarter(4)(t)).map(([, h]) => h));
  const rssQ2Mb = median(samples.filter((s) => inQuarter(2)(s.t)).map((s) => s.rss / MB));
  const rssQ4Mb = median(samples.filter((s) => inQuarter(4)(s.t)).map((s) => s.rss / MB));
  const heapSlopeMbPerMin = slope(troughs) * 60;
  const rssFrom = Math.max(durationS / 2, bounds.rssSettleS);
  const late = rssLevels.filter(([t]) => t >= rssFrom);
  const rssSlopeMbPerMin = durationS - rssFrom >= durationS / 4 && late.length >= 3 ? slope(late) * 60 : Number.NaN;

  const failures: string[] = [];
  if (troughs.length < Math.max(4, bounds.windows / 2))
    failures.push(`too few samples: ${troughs.length} windows of ${bounds.windows} had any`);
  if (!(heapSlopeMbPerMin <= bounds.heapSlopeMbPerMin)) {
    failures.push(`heap troughs grow ${heapSlopeMbPerMin.toFixed(2)} MB/min (bound ${bounds.heapSlopeMbPerMin})`);
  }
  const heapLimit = heapQ2Mb * (1 + bounds.growth) + bounds.heapSlackMb;
  if (!(heapQ4Mb <= heapLimit)) {
    failures.push(
      `heap trough ${heapQ2Mb.toFixed(1)} → ${heapQ4Mb.toFixed(1)} MB from the 2nd to the last quarter (bound ${heapLimit.toFixed(1)})`,
    );
  }
  const rssLimit = rssQ2Mb * (1 + bounds.growth) + bounds.rssSlackMb;
  if (!(rssQ4Mb <= rssLimit)) {
    failures.push(`RSS ${rssQ2Mb.toFixed(1)} → ${rssQ4Mb.toFixed(1)} MB from the 2nd to the last quarter (bound ${rssLimit.toFixed(1)})`);
  }
  if (rssSlopeMbPerMin > bounds.rssSlopeMbPerMin) {
    failures.push(`RSS grows ${rssSlopeMbPerMin.toFixed(2)} MB/min after ${Math.round(rssFrom)} s (bound ${bounds.rssSlopeMbPerMin})`);
  }
  return { ok: failures.length === 0, failures, heapSlopeMbPerMin, heapQ2Mb, heapQ4Mb, rssQ2Mb, rssQ4Mb, rssSlopeMbPerMin, troughs };
}
