/**
 * Lethe query latency against the number of lethe domains (issue 14 item 10: "a query's latency
 * with 3,000 lethe domains stays within 2× of one domain").
 *
 *   npm run build && node --import tsx bench/lethe-domains.ts                 # updates docs/benchmarks.md
 *   LETHE_DOMAINS=300 QUERIES=100 node --import tsx bench/lethe-domains.ts    # quick run: stdout only
 *
 * Two micronodes in this process, built the same way and measured in the same run: "one domain"
 * (the baseline) and "many domains" (LETHE_DOMAINS, default 3,000). Each gets the same
 * LETHE_ENTRIES (default 9,000) lethe entries — the same contents, vectors and writers, only the
 * domain differs: entry i goes to domain ⌊i/3⌋ mod D, written by user i mod 3 (so every domain has
 * 3 distinct writers, however many publication waits for). Writes go over HTTP
 * (`POST /v1/styx/entries/batch`, layer lethe, confidence 0.9, 384-d clustered embeddings as in
 * bench/query.ts), then a controllable clock passes the publication delay and the publisher runs.
 * A fourth user, who wrote nothing, queries (no `layers`: its own empty vault, and lethe) over
 * HTTP, one request at a time from a forked keep-alive client; every query is sent to both
 * servers back to back (order alternating), so both see the same machine load. Rate limits are
 * raised to 1,000,000/s (STYX_RATE_LIMIT, STYX_IP_RATE_LIMIT) so the client measures queries,
 * not 429s.
 */

import { ManualClock } from "../src/core/platform/clock.js";
import { QUOTAS_OUT_OF_THE_WAY } from "../src/testing/limits.js";
import { startTestServer, type TestServer } from "../src/testing/test-server.js";
import { clusteredSource, DIM, int, machine, ms, nowMs, pct, publishReport, rng, table, words } from "./lib/common.js";
import { loadClient } from "./lib/load-client.js";

const DOMAINS = Number(process.env.LETHE_DOMAINS ?? 3_000);
const ENTRIES = Number(process.env.LETHE_ENTRIES ?? 9_000);
const Q = Number(process.env.QUERIES ?? 1_000);
const FULL = DOMAINS === 3_000 && ENTRIES === 9_000 && Q === 1_000;
const WARMUP = 50;
const WRITERS = 3;
const SEED = 0x1e7e;
const log = (m: string) => console.error(m);

const vectors = clusteredSource(SEED).draw(ENTRIES + Q + WARMUP);
const rand = rng(SEED + 1);
const contents = Array.from({ length: ENTRIES }, () => words(rand, 12));
const domainOf = (i: number, d: number) => `d${Math.floor(i / WRITERS) % d}`;
const row = (i: number) => Array.from(vectors.subarray(i * DIM, (i + 1) * DIM), (x) => Number(x.toPrecision(7)));

interface Setup {
  readonly name: string;
  readonly domains: number;
  readonly s: TestServer;
  readonly reader: string;
  readonly published: number;
  readonly seconds: number;
}

async function setup(name: string, domains: number): Promise<Setup> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const s = await startTestServer({
    persistent: true,
    clock,
    env: {
      STYX_EMBED_DIM: String(DIM),
      STYX_LETHE_DELAY: "0s-1s",
      STYX_RATE_LIMIT: "1000000/s:1000000",
      STYX_IP_RATE_LIMIT: "1000000/s:1000000",
      STYX_QUOTAS: QUOTAS_OUT_OF_THE_WAY,
    },
  });
  const t = nowMs();
  const writers = [];
  for (let w = 0; w < WRITERS; w++) {
    const u = await s.user(`writer${w}`);
    await s.golem(u.key, { id: `writer${w}-g` });
    writers.push(u.key);
  }
  for (let from = 0; from < ENTRIES; from += 64 * WRITERS) {
    for (let w = 0; w < WRITERS; w++) {
      const mine = Array.from({ length: 64 * WRITERS }, (_, j) => from + j).filter((i) => i < ENTRIES && i % WRITERS === w);
      const entries = mine.map((i) => ({
        golem_id: `writer${w}-g`,
        layer: "lethe",
        domain: domainOf(i, domains),
        category: "insight",
        confidence: 0.9,
        content: contents[i],
        embedding: row(i),
      }));
      const r = await s.request("POST", "/v1/styx/entries/batch", { token: writers[w], body: { entries } });
      if (r.status !== 201) throw new Error(`${name}: batch write ${r.status} ${r.text.slice(0, 200)}`);
    }
  }
  clock.advance(2_000);
  await s.styx.tasks.runNow("lethe-publish");
  await s.styx.knowledge.vectors.flush();
  const published = Number((await s.sql("SELECT COUNT(*) AS n FROM lethe_entries"))[0].n);
  const distinct = Number((await s.sql("SELECT COUNT(DISTINCT domain) AS n FROM lethe_entries"))[0].n);
  if (distinct !== domains) throw new Error(`${name}: ${distinct} domains published, ${domains} expected`);
  const reader = await s.user("reader");
  const seconds = (nowMs() - t) / 1000;
  log(`  ${name}: ${int(published)} lethe entries in ${int(distinct)} domains, ready in ${seconds.toFixed(1)} s`);
  return { name, domains, s, reader: reader.key, published, seconds };
}

// Forked first: once this process holds thousands of vector indexes it can no longer fork.
const client = loadClient();
log(`lethe-domains: building 1 domain and ${int(DOMAINS)} domains, ${int(ENTRIES)} lethe entries each…`);
const one = await setup("one domain", 1);
const many = await setup(`${int(DOMAINS)} domains`, DOMAINS);
const setups = [one, many] as const;
const at = (setup: number): Setup => (setup === 0 ? one : many);

const qrand = rng(SEED + 2);
const texts = Array.from({ length: Q + WARMUP }, () => words(qrand, 3));
const named = Array.from({ length: Q + WARMUP }, () => Math.floor(qrand() * ENTRIES));
const kinds = [
  { name: "vector-only (embedding, limit 10)", body: (i: number) => ({ embedding: row(ENTRIES + i), limit: 10 }) },
  { name: "lexical-only (3 words)", body: (i: number) => ({ query: texts[i], limit: 10 }) },
  { name: "fused (3 words + embedding)", body: (i: number) => ({ query: texts[i], embedding: row(ENTRIES + i), limit: 10 }) },
  {
    name: "vector, one named domain",
    body: (i: number, s: Setup) => ({ embedding: row(ENTRIES + i), domains: [domainOf(named[i] as number, s.domains)], limit: 10 }),
  },
] as const;

/** Every request of `kinds` × queries, each sent to both setups back to back (which one first alternates). */
const order: { kind: number; setup: number; i: number }[] = [];
for (let i = 0; i < Q + WARMUP; i++) {
  for (let kind = 0; kind < kinds.length; kind++) {
    const first = (i + kind) % 2;
    order.push({ kind, setup: first, i }, { kind, setup: 1 - first, i });
  }
}
log(`lethe-domains: ${int(order.length)} queries over HTTP…`);
const load = await client.run({
  url: one.s.url,
  method: "POST",
  path: "/v1/styx/query",
  concurrency: 1,
  max: order.length,
  durationMs: 1_800_000,
  paths: order.map((o) => `${at(o.setup).s.url}/v1/styx/query`),
  tokens: order.map((o) => at(o.setup).reader),
  bodies: order.map((o) => JSON.stringify(kinds[o.kind]?.body(o.i, at(o.setup)))),
  keep: true,
});
const bad = Object.keys(load.statuses).filter((k) => k !== "200");
if (bad.length) throw new Error(`queries: statuses ${JSON.stringify(load.statuses)}`);
const health = await client.run({
  url: one.s.url,
  method: "GET",
  path: "/v1/styx/health",
  concurrency: 1,
  max: 2 * (Q + WARMUP),
  durationMs: 600_000,
  paths: Array.from({ length: 2 * (Q + WARMUP) }, (_, i) => `${at(i % 2).s.url}/v1/styx/health`),
});

/** Latencies and hit counts of one kind on one setup, warm-up left out. */
function measured(kind: number, setup: number): { lat: number[]; lethe: number; hits: number } {
  const lat: number[] = [];
  let lethe = 0;
  let hits = 0;
  order.forEach((o, j) => {
    if (o.kind !== kind || o.setup !== setup || o.i < WARMUP) return;
    lat.push(load.lat[j] as number);
    const got = JSON.parse(load.bodies?.[j] ?? "{}").hits as { layer: string }[];
    hits += got.length;
    lethe += got.filter((h) => h.layer === "lethe").length;
  });
  return { lat, lethe, hits };
}
const healthOf = (setup: number) => health.lat.filter((_, i) => i % 2 === setup && i >= 2 * WARMUP);

log("lethe-domains: in-process KnowledgeService.query…");
const inProcess: [number[], number[]] = [[], []];
for (let i = 0; i < Q + WARMUP; i++) {
  for (const setup of i % 2 ? [1, 0] : [0, 1]) {
    const { s } = at(setup);
    const t = nowMs();
    await s.styx.knowledge.service.query({ userId: "reader", golemId: null }, { embedding: row(ENTRIES + i), limit: 10, explain: false });
    if (i >= WARMUP) (setup === 0 ? inProcess[0] : inProcess[1]).push(nowMs() - t);
  }
}
client.close();
for (const { s } of setups) await s.close();

const ratio = (a: number[], b: number[], p: number) => pct(b, p) / pct(a, p);
const goal = (a: number[], b: number[]) => {
  const r = ratio(a, b, 0.99);
  return `${r <= 2 ? "met" : "missed"} (p99 ${ms(r)}×, p50 ${ms(ratio(a, b, 0.5))}×)`;
};
const rows: string[][] = [];
const line = (name: string, setup: 0 | 1, lat: number[], extra: string[]) => [
  `${name} — ${at(setup).name}`,
  int(lat.length),
  ms(pct(lat, 0.5), 3),
  ms(pct(lat, 0.99), 3),
  ms(Math.max(...lat), 1),
  ...extra,
];
for (const setup of [0, 1] as const) rows.push(line("baseline: GET /v1/styx/health", setup, healthOf(setup), ["", ""]));
kinds.forEach((k, kind) => {
  const [a, b] = [measured(kind, 0), measured(kind, 1)];
  rows.push(line(`POST /v1/styx/query, ${k.name}`, 0, a.lat, [`${ms(a.lethe / a.lat.length, 1)} / ${ms(a.hits / a.lat.length, 1)}`, ""]));
  rows.push(
    line(`POST /v1/styx/query, ${k.name}`, 1, b.lat, [
      `${ms(b.lethe / b.lat.length, 1)} / ${ms(b.hits / b.lat.length, 1)}`,
      kind < 3 ? goal(a.lat, b.lat) : "",
    ]),
  );
});
for (const setup of [0, 1] as const) {
  const extra = setup === 1 ? [goal(inProcess[0], inProcess[1])] : [""];
  rows.push(line("in-process: KnowledgeService.query, vector-only", setup, inProcess[setup], ["", ...extra]));
}

const body = [
  "Command: `npm run build && node --import tsx bench/lethe-domains.ts`",
  "",
  machine(),
  "",
  `Data: two micronodes in one process, measured in the same run. Each holds ${int(ENTRIES)} lethe entries with the same ` +
    `contents (12 words of a 2,000-word vocabulary), vectors (384-d, 1,000 clusters, as in bench/query.ts) and writers ` +
    `(${WRITERS} users, each domain written by all ${WRITERS}); only the domains differ: **baseline: one domain** ` +
    `(${int(one.published)} entries published) vs **${int(DOMAINS)} domains** of ${int(ENTRIES / DOMAINS)} entries ` +
    `(${int(many.published)} published). Written over HTTP in batches of 64, published by the lethe task ` +
    `(${ms(one.seconds, 1)} s and ${ms(many.seconds, 1)} s to build). A fourth user, with an empty vault, queries without ` +
    `\`layers\` (its vault and lethe are searched), ${int(Q)} queries of each kind after ${WARMUP} warm-up, one request at a ` +
    `time over keep-alive sockets from a forked client, every query sent to both servers back to back (order alternating). ` +
    `Rate limits raised to 1,000,000/s (STYX_RATE_LIMIT, STYX_IP_RATE_LIMIT), quotas out of the way (STYX_QUOTAS); lethe delay 0–1 s on a manual clock. ` +
    `"Hits" = lethe hits / all hits per answer. Goal (issue 14, item 10): p99 with ${int(DOMAINS)} domains ≤ 2× one domain.`,
  "",
  table(["Request (one at a time)", "Count", "p50 (ms)", "p99 (ms)", "max (ms)", "Hits (lethe / all)", "Goal: ≤ 2× one domain"], rows),
].join("\n");
publishReport("Lethe across many domains (bench/lethe-domains.ts)", body, { full: FULL, overrides: "LETHE_DOMAINS/LETHE_ENTRIES/QUERIES" });
