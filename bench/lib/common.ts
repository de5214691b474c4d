/**
 * Helpers shared by the knowledge benchmarks (bench/writes.ts, bench/query.ts, bench/startup.ts):
 * seeded data, percentiles, the machine line, and the "## Knowledge: writes, query, start-up"
 * section of docs/benchmarks.md (each bench replaces only its own ### subsection).
 */
import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { prng } from "../../src/testing/prng.js";

export const DIM = 384;
export const DOC = "docs/benchmarks.md";
const LOAD_AT_START = loadavg()[0] ?? 0;
/** The code measured: HEAD when the bench started (dist/ is built from the working tree). */
const CODE_AT_START = `commit ${execSync("git rev-parse --short HEAD").toString().trim()}${
  execSync("git status --porcelain src").toString().trim() ? " plus uncommitted changes in src/" : ""
}`;
export const SECTION = "## Knowledge: writes, query, start-up";

/** mulberry32: tiny, fast, seedable (the proof suite's PRNG, shared). */
export const rng = prng;

/** Standard normal draws from a uniform source (Box–Muller). */
export const gaussian = (rand: () => number) => () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

function normaliseRows(m: Float32Array, rows: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * DIM;
    let s = 0;
    for (let d = 0; d < DIM; d++) s += (m[o + d] as number) ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let d = 0; d < DIM; d++) m[o + d] = (m[o + d] as number) * inv;
  }
}

/**
 * Clustered unit vectors as in bench/ann.ts: 1,000 random unit centres + Gaussian noise
 * (σ = 0.04 per dimension, intra-cluster cosine ≈ 0.6), re-normalised. `draw(n)` gives n rows.
 */
export function clusteredSource(seed: number, clusters = 1_000, sigma = 0.04): { draw(rows: number): Float32Array } {
  const rand = rng(seed);
  const g = gaussian(rand);
  const centres = new Float32Array(clusters * DIM).map(g);
  normaliseRows(centres, clusters);
  return {
    draw(rows) {
      const m = new Float32Array(rows * DIM);
      for (let r = 0; r < rows; r++) {
        const c = Math.floor(rand() * clusters) * DIM;
        for (let d = 0; d < DIM; d++) m[r * DIM + d] = (centres[c + d] as number) + sigma * g();
      }
      normaliseRows(m, rows);
      return m;
    },
  };
}

/** Entry text: a few words of a 2,000-word synthetic vocabulary ("w0".."w1999"), uniform. */
export function words(rand: () => number, n: number): string {
  return Array.from({ length: n }, () => `w${Math.floor(rand() * 2000)}`).join(" ");
}

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** CPU time (user + system) of this process so far, all threads, in ms. */
export function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/**
 * CPU time (user + system) of this process's main thread so far, in ms (Linux: its own
 * /proc/self/task entry, 10 ms ticks): the event loop's share, without the worker threads.
 */
export function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Awaits `one(i)` for i = 0, 1, … until `max` calls or `durationMs`; the seconds taken and each call's latency in ms. */
export async function timedLoop(
  one: (i: number) => unknown,
  max: number,
  durationMs: number,
): Promise<{ n: number; s: number; lat: number[] }> {
  const lat: number[] = [];
  const start = nowMs();
  let i = 0;
  while (i < max && nowMs() - start < durationMs) {
    const t = nowMs();
    await one(i++);
    lat.push(nowMs() - t);
  }
  return { n: i, s: (nowMs() - start) / 1000, lat };
}

/** Nearest-rank percentile of `xs` (0 < p ≤ 1). */
export function pct(xs: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? Number.NaN;
}

export const ms = (x: number, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : "—");
export const int = (x: number) => Math.round(x).toLocaleString("en");

/** "Machine: …" line: CPU model, nproc, Node, date, load average. */
export function machine(): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model ?? "unknown";
  const nproc = execSync("nproc").toString().trim();
  const date = new Date().toISOString().slice(0, 10);
  return (
    `Machine: ${cpu}, ${nproc} cores (nproc), Node ${process.version}. Date: ${date}. ` +
    `1-min load average before the run: ${LOAD_AT_START.toFixed(2)}. Code: ${CODE_AT_START}.`
  );
}

/**
 * Replaces (or adds) `### <sub>` inside the `## title` section (default: the knowledge section) of
 * docs/benchmarks.md, leaving every other section and subsection as it is. The file and the
 * section are created if missing.
 */
export function writeSubsection(sub: string, body: string, title = SECTION): void {
  let doc = existsSync(DOC) ? readFileSync(DOC, "utf8") : "# Benchmarks\n";
  if (!doc.includes(`\n${title}\n`)) doc = `${doc.trimEnd()}\n\n${title}\n`;
  const start = doc.indexOf(`\n${title}\n`) + 1;
  const nextSection = doc.indexOf("\n## ", start + title.length);
  const end = nextSection === -1 ? doc.length : nextSection + 1;
  let section = doc.slice(start, end);
  const heading = `### ${sub}`;
  const block = `${heading}\n\n${body.trim()}\n\n`;
  const at = section.indexOf(`\n${heading}\n`);
  if (at !== -1) {
    const next = section.indexOf("\n### ", at + heading.length + 1);
    section = section.slice(0, at + 1) + block + (next === -1 ? "" : section.slice(next + 1));
  } else {
    // New subsections go before a hand-written "### Reading", if there is one.
    const reading = section.indexOf("\n### Reading");
    section = reading === -1 ? `${section.trimEnd()}\n\n${block}` : section.slice(0, reading + 1) + block + section.slice(reading + 1);
  }
  doc = doc.slice(0, start) + section.trimEnd() + (nextSection === -1 ? "\n" : "\n\n") + doc.slice(end);
  writeFileSync(DOC, doc);
}

/** A markdown table. */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const align = head.map((_, i) => (i === 0 ? "---" : "--:"));
  return [head, align, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

/**
 * Prints a benchmark's report and, on a full run, writes it as `### sub` of `section` in
 * docs/benchmarks.md; a run with `overrides` set (smaller sizes) leaves the file alone.
 */
export function publishReport(sub: string, body: string, opts: { full: boolean; overrides: string; section?: string }): void {
  console.log(`\n${body}\n`);
  if (opts.full) writeSubsection(sub, body, opts.section);
  else console.error(`${opts.overrides} override: docs/benchmarks.md not updated.`);
}
