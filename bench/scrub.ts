/**
 * Public-layer scrubbing (issue 14 item 1; SPEC §14: "public-layer scrubbing: worst case at the
 * content cap measured; /health p99 during worst-case writes within 2× idle").
 *
 *   npm run build && node --import tsx bench/scrub.ts                        # updates docs/benchmarks.md
 *   SCRUB_USERS=1000 SCRUB_PHASE_SECONDS=4 node --import tsx bench/scrub.ts  # quick run: stdout only
 *   SCRUB_KINDS=worst-rated,ordinary-rated SCRUB_ROUNDS=3 SCRUB_PROFILE=0 SCRUB_LEGACY_CAP=1 …  # A/B of two builds: stdout only
 *
 * One run, two parts.
 * 1. In process: a directory of SCRUB_USERS (10,000) users, 5 golems and 2 keys each (strong
 *    generated ids `glm_<22 base64url>`; 1 user in 20 and 1 golem in 50 caller-chosen), its build
 *    time, heap and the cost of adding one identifier; then `scrubNow` on ordinary prose of 1, 8
 *    and 64 KiB and on adversarial 64 KiB texts (the shapes of linear-cost.test.ts and the
 *    issue's reproducer); for each, the longest hold of the event loop under `runPaced` (the time
 *    between two of its actual pauses: its slice, SLICE_MS, plus the step that crosses it) and the
 *    longest single step between two yields of `scrubSteps`. Baseline: the old regex scrubber (commit e4a7b1b,
 *    bench/lib/legacy-scrub.ts) on the same inputs, in a child killed after SCRUB_LEGACY_CAP
 *    (30) seconds.
 * 2. Over HTTP: a persistent micronode in this process (its directory given the same
 *    identifiers), STYX_LETHE_DELAY=0s-0s and STYX_LETHE_K=1 (copies publish at once), rate limits raised to
 *    1,000,000/s (STYX_RATE_LIMIT, STYX_IP_RATE_LIMIT). GET /v1/styx/health at 200/s from a
 *    forked prober, idle and while SCRUB_WRITERS (6) forked writer loops send 64 KiB lethe
 *    entries (the slowest ASCII adversarial shape of part 1, or ordinary prose), phases
 *    interleaved idle / worst / idle / ordinary, twice. Then one more worst-case and one
 *    ordinary phase under the CPU profiler, to say where the server's time goes.
 */

import { writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { KnownIdentifier } from "../src/core/privacy/directory.js";
import { QUOTAS_OUT_OF_THE_WAY } from "../src/testing/limits.js";
import { int, machine, ms, nowMs, pct, publishReport, table } from "./lib/common.js";
import { type ProfileSummary, profiled } from "./lib/cpu-profile.js";
import { legacyTimes } from "./lib/legacy-runner.js";
import { adversarial, directoryInputs, prose } from "./lib/scrub-inputs.js";
import { type LoadReport, scrubLoadClient } from "./lib/scrub-load.js";

/**
 * The compiled build (`npm run build`) is what is measured, server and scrubber alike: run from
 * sources, tsx wraps every named closure in `__name(…)`, which cost the scrubber about a quarter
 * of its time in profiles of an earlier run.
 */
const dist = <T>(path: string): Promise<T> => import(new URL(`../dist/${path}`, import.meta.url).href) as Promise<T>;
const { IdentifierDirectory } = await dist<typeof import("../src/core/privacy/directory.js")>("core/privacy/directory.js");
const { runPaced, runSync, SLICE_MS } = await dist<typeof import("../src/core/platform/paced.js")>("core/platform/paced.js");
const { foldedAlnum } = await dist<typeof import("../src/core/privacy/normalize.js")>("core/privacy/normalize.js");
const { PUBLIC_TEXT_MAX, scrubNow, scrubSteps } = await dist<typeof import("../src/core/privacy/scrub.js")>("core/privacy/scrub.js");
const { startTestServer } = await dist<typeof import("../src/testing/test-server.js")>("testing/test-server.js");

const USERS = Number(process.env.SCRUB_USERS ?? 10_000);
const PHASE_S = Number(process.env.SCRUB_PHASE_SECONDS ?? 15);
const CAP_S = Number(process.env.SCRUB_LEGACY_CAP ?? 30);
const WRITERS = Number(process.env.SCRUB_WRITERS ?? 6);
const RATE = 200;
/** Loaded phases of a round (comma-separated kinds; default all six) and rounds: for a quick A/B of two builds. */
const KINDS = process.env.SCRUB_KINDS?.split(",") ?? ["worst", "ordinary", "vault", "worst-rated", "ordinary-rated", "vault-rated"];
const ROUNDS = Number(process.env.SCRUB_ROUNDS ?? 2);
/** Skips the profiled phases (SCRUB_PROFILE=0). */
const PROFILE = process.env.SCRUB_PROFILE !== "0";
/** The kinds of the profiled phases (SCRUB_PROFILE_KINDS=worst-rated,…). */
const PROFILE_KINDS = (process.env.SCRUB_PROFILE_KINDS?.split(",") ?? ["worst", "ordinary"]) as Kind[];
/** A directory to write each profiled phase's raw profile to (`scrub-<kind>.cpuprofile`, for DevTools or speedscope). */
const PROFILE_DUMP = process.env.SCRUB_PROFILE_DUMP;
const FULL =
  USERS === 10_000 &&
  PHASE_S === 15 &&
  CAP_S === 30 &&
  WRITERS === 6 &&
  ROUNDS === 2 &&
  PROFILE &&
  process.env.SCRUB_KINDS === undefined &&
  process.env.SCRUB_PROFILE_KINDS === undefined &&
  process.env.SCRUB_WORST === undefined;
const SEED = 0x5c2b;
/** Largest content over HTTP: the 64 KiB (UTF-8) cap less room for the request counter the writers prepend. */
const HTTP_CONTENT = 64 * 1024 - 8;
const log = (m: string) => console.error(m);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const loadStart = loadavg()[0] ?? 0;
const benchStart = nowMs();

// ---- Part 1: in process -------------------------------------------------------------------
log(`scrub: directory of ${int(USERS)} users…`);
const inputs = directoryInputs(USERS, SEED);
const heap0 = heapMb();
let t = nowMs();
const directory = new IdentifierDirectory();
directory.add(inputs.ids);
const buildMs = nowMs() - t;
const dirHeap = heapMb() - heap0;
const size = directory.size;
const writer = { userId: inputs.writer };

const texts = [
  ...[1, 8, 64].map((k) => ({ name: `ordinary prose, ${k} KiB`, text: prose(SEED + k, k * 1024, inputs.golems) })),
  ...adversarial(PUBLIC_TEXT_MAX, inputs.golems),
];

interface Measured {
  readonly name: string;
  readonly length: number;
  readonly times: number[];
  /** Longest time between two pauses of runPaced (median of 3 runs), and how many pauses. */
  readonly hold: number;
  readonly pauses: number;
  /** Longest single `next()` of scrubSteps (median of 3 runs), and how many steps. */
  readonly step: number;
  readonly steps: number;
}

/** The longest hold between two pauses of `runPaced` over scrubSteps, and their count. */
async function pacedHold(text: string): Promise<{ hold: number; pauses: number }> {
  let last = nowMs();
  let hold = 0;
  let pauses = 0;
  const pause = () => {
    hold = Math.max(hold, nowMs() - last);
    pauses++;
    // Resolves before runPaced resumes: the next hold starts where runPaced's own clock restarts.
    return Promise.resolve().then(() => {
      last = nowMs();
    });
  };
  last = nowMs();
  await runPaced(scrubSteps(text, directory, writer), pause);
  return { hold: Math.max(hold, nowMs() - last), pauses };
}

/** scrubNow `runs` times (after one warm-up), the longest paced hold and the longest step (median of 3 runs each). */
async function measure(name: string, text: string, runs: number): Promise<Measured> {
  scrubNow(text, directory, writer);
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = nowMs();
    scrubNow(text, directory, writer);
    times.push(nowMs() - t0);
  }
  const holds: number[] = [];
  let pauses = 0;
  for (let r = 0; r < 3; r++) {
    const h = await pacedHold(text);
    holds.push(h.hold);
    pauses = h.pauses;
  }
  const longest: number[] = [];
  let steps = 0;
  for (let r = 0; r < 3; r++) {
    const gen = scrubSteps(text, directory, writer);
    let max = 0;
    steps = 0;
    for (;;) {
      const t0 = nowMs();
      const step = gen.next();
      max = Math.max(max, nowMs() - t0);
      steps++;
      if (step.done) break;
    }
    longest.push(max);
  }
  return { name, length: text.length, times, hold: pct(holds, 0.5), pauses, step: pct(longest, 0.5), steps };
}

log(`scrub: ${texts.length} inputs in process…`);
const measured: Measured[] = [];
for (const { name, text } of texts) measured.push(await measure(name, text, text.length > 10_000 ? 5 : 30));

log("scrub: the old regex scrubber on the same inputs (in a killable child)…");
const legacyIds = [inputs.writer, "carol", inputs.golems[1] as string];
const legacy = await legacyTimes(
  texts.map(({ text }) => ({ text, identifiers: legacyIds, repeat: text.length > 10_000 ? 2 : 20 })),
  CAP_S * 1000,
);

log("scrub: adding identifiers…");
/** Time of `add` (median and max of `runs`), the directory already holding what was added before. */
const addRows: string[][] = [];
const timeAdd = (label: string, batch: () => Iterable<KnownIdentifier>, runs: number) => {
  const times: number[] = [];
  for (let k = 0; k < runs; k++) {
    const ids = [...batch()];
    const t0 = nowMs();
    directory.add(ids);
    times.push(nowMs() - t0);
  }
  addRows.push([label, int(runs), ms(pct(times, 0.5), 3), ms(Math.max(...times), 3)]);
};
timeAdd(`one strong id (directory of ${int(directory.size.strong)})`, () => inputs.fresh(1), 101);
timeAdd("1,000 strong ids in one add", () => inputs.fresh(1_000), 3);
timeAdd("10,000 strong ids in one add", () => inputs.fresh(10_000), 1);
timeAdd(`one strong id (directory of ${int(directory.size.strong)})`, () => inputs.fresh(1), 101);
const weakTimes: number[] = [];
for (let k = 0; k < 11; k++) {
  const weakUser = [{ kind: "golem" as const, value: `zed${k}x`, userId: inputs.writer }];
  t = nowMs();
  directory.add(weakUser);
  runSync(directory.match(foldedAlnum("zed"), [inputs.writer]));
  weakTimes.push(nowMs() - t);
}
addRows.push([
  "one weak id of the writer, then a match of a 3-letter text",
  "11",
  ms(pct(weakTimes, 0.5), 3),
  ms(Math.max(...weakTimes), 3),
]);

log(
  table(
    ["Input", "p50 (ms)", "max (ms)", "hold (ms)", "step (ms)", "old"],
    measured.map((m, i) => [
      m.name,
      ms(pct(m.times, 0.5), 1),
      ms(Math.max(...m.times), 1),
      ms(m.hold, 2),
      ms(m.step, 2),
      String(legacy[i]?.times?.[0] ?? "killed"),
    ]),
  ),
);
log(`directory: built in ${ms(buildMs, 0)} ms, ${ms(dirHeap, 1)} MB; adds:\n${table(["Add", "runs", "p50", "max"], addRows)}`);

// ---- Part 2: over HTTP ---------------------------------------------------------------------
const ascii = measured.filter((m, i) => i >= 3 && Buffer.byteLength(texts[i]?.text ?? "") === m.length);
/** SCRUB_WORST: the shape's name (its start) instead of the slowest measured, so A/B runs of two builds write the same text. */
const forced = process.env.SCRUB_WORST === undefined ? undefined : ascii.find((m) => m.name.startsWith(process.env.SCRUB_WORST as string));
const worst = forced ?? ascii.reduce((a, b) => (pct(b.times, 0.5) > pct(a.times, 0.5) ? b : a));
const worstText = (texts.find((x) => x.name === worst.name)?.text ?? "").slice(0, HTTP_CONTENT);
const ordinaryText = prose(SEED + 99, HTTP_CONTENT, inputs.golems);
log(`scrub: HTTP phases (worst case over HTTP: ${worst.name})…`);

const s = await startTestServer({
  persistent: true,
  env: {
    STYX_LETHE_DELAY: "0s-0s",
    STYX_LETHE_K: "1",
    STYX_RATE_LIMIT: "1000000/s:1000000",
    STYX_IP_RATE_LIMIT: "1000000/s:1000000",
    STYX_QUOTAS: QUOTAS_OUT_OF_THE_WAY,
  },
});
const writers: { token: string; golemId: string }[] = [];
for (let w = 0; w < WRITERS; w++) {
  const u = await s.user(`writer${w}`);
  const g = await s.golem(u.key, { id: `writer${w}-golem-${w}x7` });
  writers.push({ token: u.key, golemId: g.id });
}
// Added at once, the directory blocks the event loop while it builds (see "Built in" above): let the load monitor calm down before the phases.
s.styx.privacy.directory.add(inputs.ids);
await new Promise((r) => setTimeout(r, 5_000));
const prober = scrubLoadClient();
const writer2 = scrubLoadClient();
const published = async () => Number((await s.sql("SELECT COUNT(*) AS n FROM lethe_entries"))[0].n);
const queued = async () => Number((await s.sql("SELECT COUNT(*) AS n FROM lethe_queue"))[0].n);
const sleep = (msDelay: number) => new Promise((r) => setTimeout(r, msDelay));

type Kind = "idle" | "worst" | "ordinary" | "vault" | "worst-rated" | "ordinary-rated" | "vault-rated";
/** Writes per second of the rated phases (over all writers): a load the server sustains, where the others saturate it. */
const RATED = Number(process.env.SCRUB_WRITE_RATE ?? 6);
interface Phase {
  readonly kind: Kind;
  readonly health: LoadReport;
  readonly writes?: LoadReport;
  readonly copies: number;
  /** Lethe candidates still queued at the phase's end (written, not yet published). */
  readonly backlog: number;
}

/**
 * Full-text rows written but not yet indexed (the store indexes them in the background, a chunk per turn): entries'
 * and, since SQLite migration 20, lethe entries' (an older build has no such table: A/B runs of this bench).
 */
const letheFtsDeferred = (await s.sql("SELECT name FROM sqlite_master WHERE name = 'lethe_fts_pending'")).length > 0;
const ftsPending = async () =>
  Number((await s.sql("SELECT COUNT(*) AS n FROM entries_fts_pending"))[0].n) +
  (letheFtsDeferred ? Number((await s.sql("SELECT COUNT(*) AS n FROM lethe_fts_pending"))[0].n) : 0);
/**
 * Waits (up to 120 s) until every queued lethe copy is published and every entry's full-text row
 * indexed, so an idle phase measures an idle server (a saturating vault phase leaves ~5,000
 * 64 KiB rows to index in the background: the idle phase after it measured that work, 54–56 ms
 * p99, before this waited for it).
 */
async function drained(): Promise<number> {
  const t0 = Date.now();
  while (((await queued()) > 0 || (await ftsPending()) > 0) && Date.now() - t0 < 120_000) {
    if ((await queued()) > 0) await s.styx.tasks.runNow("lethe-publish");
    await sleep(100);
  }
  return Date.now() - t0;
}
let drainMs = 0;

async function phase(kind: Kind, seconds: number): Promise<Phase> {
  if (kind === "idle") drainMs = Math.max(drainMs, await drained());
  const before = await published();
  const content = kind.startsWith("worst") ? worstText : ordinaryText;
  const layer = kind.startsWith("vault") ? ("vault" as const) : ("lethe" as const);
  const rate = kind.endsWith("-rated") ? { rate: RATED } : {};
  const writing =
    kind === "idle"
      ? undefined
      : writer2.run({ kind: "write", layer, url: s.url, writers, domain: "bench", content, durationMs: (seconds + 1.5) * 1000, ...rate });
  if (writing) await sleep(1000);
  const health = await prober.run({ kind: "probe", url: s.url, path: "/v1/styx/health", rate: RATE, durationMs: seconds * 1000 });
  const writes = await writing;
  await sleep(500);
  const copies = (await published()) - before;
  const backlog = await queued();
  log(
    `  ${kind}: health p50 ${ms(pct(health.lat, 0.5))} p99 ${ms(pct(health.lat, 0.99))} ms` +
      (writes ? `; ${writes.lat.length} writes, p99 ${ms(pct(writes.lat, 0.99), 0)} ms, ${copies} copies, ${backlog} queued` : ""),
  );
  return { kind, health, copies, backlog, ...(writes ? { writes } : {}) };
}

await phase("idle", 3); // warm-up, not reported
const phases: Phase[] = [];
for (let round = 0; round < ROUNDS; round++)
  for (const kind of KINDS as Kind[]) {
    phases.push(await phase("idle", PHASE_S));
    phases.push(await phase(kind, PHASE_S));
  }
log("scrub: profiled phases…");
const profiles: { kind: Kind; summary: ProfileSummary; p: Phase }[] = [];
for (const kind of PROFILE ? PROFILE_KINDS : []) {
  const { result, summary, profile } = await profiled(() => phase(kind, Math.min(10, PHASE_S)));
  profiles.push({ kind, summary, p: result });
  if (PROFILE_DUMP) writeFileSync(join(PROFILE_DUMP, `scrub-${kind}.cpuprofile`), JSON.stringify(profile));
}
prober.close();
writer2.close();
// The server's close can stay pending once nothing else is (seen in quick runs): it is not what this bench measures.
await Promise.race([s.close(), sleep(5_000)]);
const loadEnd = loadavg()[0] ?? 0;
const totalS = (nowMs() - benchStart) / 1000;

// ---- Report --------------------------------------------------------------------------------
const legacyCell = (i: number) => {
  const times = legacy[i]?.times;
  if (!times) return `> ${CAP_S} s (killed)`;
  const p50 = pct(times, 0.5);
  return p50 >= 1000 ? `${ms(p50 / 1000, 1)} s` : ms(p50, 1);
};
const scrubRows = measured.map((m, i) => [
  m.name,
  int(m.length),
  ms(pct(m.times, 0.5), 1),
  ms(Math.max(...m.times), 1),
  `${ms(m.hold, 2)} (${int(m.pauses)})`,
  `${ms(m.step, 2)} (${int(m.steps)})`,
  legacyCell(i),
]);

const all = (kind: Kind) => phases.filter((p) => p.kind === kind);
const lat = (kind: Kind) => all(kind).flatMap((p) => p.health.lat);
const idleP99 = pct(lat("idle"), 0.99);
const httpRows = (["idle", "worst", "ordinary", "vault", "worst-rated", "ordinary-rated", "vault-rated"] as const)
  .filter((kind) => all(kind).length > 0)
  .map((kind) => {
    const ps = all(kind);
    const h = lat(kind);
    const writes = ps.flatMap((p) => p.writes?.lat ?? []);
    const seconds = ps.reduce((a, p) => a + (p.writes?.elapsedMs ?? 0) / 1000, 0);
    const statuses: Record<string, number> = {};
    for (const p of ps) {
      for (const [k, v] of Object.entries(p.health.statuses)) statuses[`health ${k}`] = (statuses[`health ${k}`] ?? 0) + v;
      for (const [k, v] of Object.entries(p.writes?.statuses ?? {})) statuses[`write ${k}`] = (statuses[`write ${k}`] ?? 0) + v;
    }
    const r = pct(h, 0.99) / idleP99;
    const label =
      kind === "idle"
        ? "idle (lethe queue drained first)"
        : kind === "worst"
          ? `during worst-case lethe writes (${worst.name})`
          : kind === "ordinary"
            ? "during ordinary 64 KiB prose lethe writes"
            : kind === "vault"
              ? "control: the same prose as vault writes (no public copy, nothing scrubbed)"
              : `at ${RATED} writes/s: ${kind === "worst-rated" ? `worst-case lethe (${worst.name})` : kind === "ordinary-rated" ? "prose lethe" : "prose vault (control)"}`;
    return [
      label,
      int(h.length),
      ms(pct(h, 0.5)),
      ms(pct(h, 0.99)),
      ms(Math.max(...h), 1),
      kind === "idle" ? "—" : `${ms(r)}× (${r <= 2 ? "met" : "missed"})`,
      writes.length ? `${ms(writes.length / seconds, 1)}/s` : "—",
      writes.length ? `${ms(pct(writes, 0.5), 0)} / ${ms(pct(writes, 0.99), 0)}` : "—",
      kind === "idle" || kind === "vault"
        ? "—"
        : `${int(ps.reduce((a, p) => a + p.copies, 0))} (${int(Math.max(...ps.map((p) => p.backlog)))})`,
      Object.entries(statuses)
        .map(([k, v]) => `${k}: ${int(v)}`)
        .join(", "),
    ];
  });
const perPhase = phases.map((p) => `${p.kind} ${ms(pct(p.health.lat, 0.99))}`).join(", ");
const lagMax = Math.max(...phases.map((p) => p.health.maxStartLagMs));

const pctOf = (x: number, total: number) => `${((100 * x) / total).toFixed(1)} %`;
const profileBlock = profiles.map(({ kind, summary, p }) => {
  const writes = p.writes?.lat.length ?? 0;
  const areas = summary.areas
    .slice(0, 8)
    .map(([a, v]) => `${a} ${pctOf(v, summary.totalMs)}`)
    .join(", ");
  const fns = summary.functions
    .filter(([f]) => !f.startsWith("("))
    .slice(0, 8)
    .map(([f, v]) => `\`${f}\` ${pctOf(v, summary.totalMs)}`)
    .join(", ");
  return (
    `- **${kind === "worst" ? "Worst case" : "Ordinary prose"}** (${int(writes)} writes in ${ms(Math.min(10, PHASE_S), 0)} s, ` +
    `/health p99 ${ms(pct(p.health.lat, 0.99))} ms under the profiler). Self time by area: ${areas}. Top functions: ${fns}.`
  );
});

const body = [
  "Command: `npm run build && node --import tsx bench/scrub.ts`",
  "",
  `${machine()} 1-min load average at the end: ${loadEnd.toFixed(2)}. Whole run: ${ms(totalS, 0)} s.`,
  "",
  `Directory: ${int(USERS)} users, 5 golems and 2 keys each (strong generated ids \`glm_<22 base64url>\`; 1 user in 20 and 1 golem in 50 ` +
    `caller-chosen: \`alice-20\`, \`carol\`, \`trader-bot-35\`): ${int(size.strong)} strong and ${int(size.weak)} weak folded identifiers. ` +
    `Built in ${ms(buildMs, 0)} ms; ${ms(dirHeap, 1)} MB of heap (after a forced GC, before vs after). The scrubbed text is written by a ` +
    "user with caller-chosen ids (its weak ids match too).",
  "",
  "**In process** (`scrubNow`, one call at a time after a warm-up: 5 calls for 64 KiB inputs, 30 for 1 and 8 KiB; " +
    `the longest hold is the longest time between two actual pauses of \`runPaced\` (slices of ${SLICE_MS} ms: what holds the event loop), ` +
    "with the number of pauses; the longest step is the longest single `next()` of the paced generator `scrubSteps` (what a slice " +
    "can overrun by), with the number of steps; both median of 3 runs; the baseline is the old regex scrubber of commit e4a7b1b " +
    "(`bench/lib/legacy-scrub.ts`) given the writer's 3 identifiers, as it was, p50 of up to 3 calls, in a child killed after " +
    `${CAP_S} s):`,
  "",
  table(
    [
      "Input",
      "Length (code units)",
      "p50 (ms)",
      "max (ms)",
      "Longest hold, ms (pauses)",
      "Longest step, ms (steps)",
      "Old regex scrubber, p50 (ms)",
    ],
    scrubRows,
  ),
  "",
  "Adding identifiers (strong ids go into one pattern trie, weak ones into a trie per user; an add costs the id's length, " +
    "nothing is rebuilt):",
  "",
  table(["Add", "Runs", "p50 (ms)", "max (ms)"], addRows),
  "",
  `**Over HTTP** (a persistent micronode in the bench process, its directory given the same ${int(size.strong + size.weak)} identifiers; ` +
    `STYX_LETHE_DELAY=0s-0s and STYX_LETHE_K=1 (no k-anonymity quorum: every copy publishes at once, as before STYX_LETHE_K existed); ` +
    `rate limits raised to 1,000,000/s through STYX_RATE_LIMIT and STYX_IP_RATE_LIMIT, quotas out of the way through STYX_QUOTAS). GET /v1/styx/health at ${RATE}/s (open loop) from a forked prober for ${PHASE_S} s per ` +
    `phase; writes: ${WRITERS} writer loops (one user and golem each, one request in flight each) in another forked process, ` +
    `POST /v1/styx/entries {layer lethe, confidence 0.9, domain} with ${int(HTTP_CONTENT)} bytes of content behind a request counter. ` +
    `Phases interleaved idle / worst / idle / ordinary / idle / vault, twice (a 3 s warm-up first); before each idle phase the lethe ` +
    `queue is published to the end and every entry's full-text row indexed (the longest wait: ${ms(drainMs / 1000, 1)} s), so idle means idle; the vault phase writes the same ` +
    `prose with layer vault, the control for everything a 64 KiB write costs but the scrub. The rows pool both rounds. Worst case over ` +
    `HTTP: the slowest ASCII shape of the table above (fullwidth and zero-width shapes are 3 bytes per character, so only a third ` +
    `of them fits 64 KiB of UTF-8). Copies = lethe copies published during the phase (publication re-matches every copy).`,
  "",
  table(
    [
      "/health",
      "Requests",
      "p50 (ms)",
      "p99 (ms)",
      "max (ms)",
      "p99 vs idle (goal ≤ 2×)",
      "Lethe writes",
      "Write p50 / p99 (ms)",
      "Copies (queued at a phase's end, most)",
      "Statuses",
    ],
    httpRows,
  ),
  "",
  `/health p99 per phase in order (ms): ${perPhase}. The prober started a request at most ${ms(lagMax, 1)} ms late against its schedule.`,
  "",
  "Where the server's time goes (one more phase of each kind, 10 s, under V8's sampling profiler through node:inspector, the " +
    "same profile as `node --cpu-prof`; self time, the whole bench process — the server is in it, the clients are not):",
  "",
  ...profileBlock,
].join("\n");
publishReport("Public-layer scrubbing (bench/scrub.ts)", body, {
  full: FULL,
  overrides:
    "SCRUB_USERS/SCRUB_PHASE_SECONDS/SCRUB_LEGACY_CAP/SCRUB_WRITERS/SCRUB_KINDS/SCRUB_ROUNDS/SCRUB_PROFILE/SCRUB_PROFILE_KINDS/SCRUB_WORST",
  section: "## Public layers",
});
log(`scrub: load average ${loadStart.toFixed(2)} → ${loadEnd.toFixed(2)}`);
process.exit(0);
