/**
 * Start-up time with 100k entries, SPEC §14: "start-up with 100k entries: ready < 2 s".
 *
 *   npm run build && node --import tsx bench/startup.ts        # updates docs/benchmarks.md
 *   STARTUP_RUNS=1 node --import tsx bench/startup.ts           # quick run: stdout only
 *
 * Uses the data dir of bench/query.ts (BENCH_DATA_DIR, default $TMPDIR/styx-bench-100k; built
 * here if missing). Each run spawns `node dist/cli/main.js serve --data-dir DIR --host 127.0.0.1
 * --port 0` (STYX_ADMIN_TOKEN set, STYX_LOG_LEVEL=info) and measures, from the spawn: the
 * "listening" log line, the first 200 from GET /readyz, and — polling /metrics every 100 ms —
 * the moment the gauge styx_vector_backlog reads 0 (the ANN index holds every vector). Right
 * after ready one vector query is timed, and /readyz is polled with /metrics to count 503s.
 * Three data dirs, runs interleaved: baseline empty; 100k entries after a clean shutdown (the
 * saved vector cache under DIR/vectors is loaded); 100k entries without that cache (deleted
 * first, as on the first start of a version with the cache or when no clean shutdown ever saved
 * one: every vector is re-indexed; after a crash the last saved cache is loaded plus a delta).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI } from "../src/testing/spawn.js";
import { DIM, int, machine, ms, nowMs, pct, publishReport, table } from "./lib/common.js";
import { buildDataset, DATA_DIR, N, readMeta, vectors } from "./lib/dataset.js";

const RUNS = Number(process.env.STARTUP_RUNS ?? 3);
const FULL = RUNS === 3 && N === 100_000;
const LIMIT_S = 600;
const log = (m: string) => console.error(m);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

type Run = { listenS: number; readyS: number; firstQueryMs?: number; drainedS?: number; notReady: number; polls: number; logged: string };

let meta = readMeta();
if (!meta || meta.n !== N) {
  log(`startup: no ${int(N)}-entry data dir at ${DATA_DIR}; building it…`);
  const built = await buildDataset(vectors(N, 0).base, log);
  meta = built.meta;
  await built.s.close(); // a clean close also saves the vector cache
}
const key = meta.key;
const queryBody = JSON.stringify({ embedding: Array.from(vectors(N, 1).queries.subarray(0, DIM)), limit: 10 });

async function start(dir: string, withData: boolean): Promise<Run> {
  const t0 = nowMs();
  const since = () => (nowMs() - t0) / 1000;
  const proc = spawn(process.execPath, [CLI, "serve", "--data-dir", dir, "--host", "127.0.0.1", "--port", "0"], {
    env: { PATH: process.env.PATH ?? "", STYX_ADMIN_TOKEN: "bench-admin-token-0123456789", STYX_LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const reap = () => proc.kill("SIGKILL"); // never leave a server behind if this bench dies
  process.once("exit", reap);
  let out = "";
  proc.stderr.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.once("exit", r));
  const { url, listenS } = await new Promise<{ url: string; listenS: number }>((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      out += d;
      const u = /"url":"(http:\/\/[^"]+)"/.exec(out)?.[1];
      if (u) resolve({ url: u, listenS: since() });
    });
    void exited.then(() => reject(new Error(`server exited:\n${out}`)));
  });
  const status = (path: string, init?: RequestInit) =>
    fetch(url + path, init).then(
      async (r) => ({ code: r.status, text: await r.text() }),
      () => ({ code: 0, text: "" }),
    );
  while ((await status("/readyz")).code !== 200) await sleep(5);
  const run: Run = { listenS, readyS: since(), notReady: 0, polls: 0, logged: "" };
  if (withData) {
    const t = nowMs();
    const q = await status("/v1/styx/query", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: queryBody,
    });
    run.firstQueryMs = q.code === 200 ? nowMs() - t : Number.NaN;
    if (q.code !== 200) log(`  first query: ${q.code} ${q.text.slice(0, 200)}`);
  }
  while (since() < LIMIT_S) {
    const [m, r] = [await status("/metrics"), await status("/readyz")];
    run.polls++;
    if (r.code !== 200) run.notReady++;
    if (/^styx_vector_backlog 0$/m.test(m.text)) {
      run.drainedS = since();
      break;
    }
    await sleep(100);
  }
  run.logged = /"cached_indexes":(\d+),"vectors_to_index":(\d+)/.exec(out)?.slice(1).join("/") ?? "-";
  proc.kill("SIGTERM"); // clean shutdown: saves the vector cache for the next "cached" run
  await exited;
  process.off("exit", reap);
  return run;
}

const runs = { empty: [] as Run[], cached: [] as Run[], nocache: [] as Run[] };
for (let i = 0; i < RUNS; i++) {
  const dir = mkdtempSync(join(tmpdir(), "styx-empty-"));
  log(`startup: run ${i + 1}/${RUNS}: empty data dir…`);
  runs.empty.push(await start(dir, false));
  rmSync(dir, { recursive: true, force: true });
  log(`startup: run ${i + 1}/${RUNS}: ${int(N)} entries, vector cache present…`);
  runs.cached.push(await start(DATA_DIR, true));
  log(`  ${JSON.stringify(runs.cached.at(-1))}`);
  rmSync(join(DATA_DIR, "vectors"), { recursive: true, force: true });
  log(`startup: run ${i + 1}/${RUNS}: ${int(N)} entries, no vector cache…`);
  runs.nocache.push(await start(DATA_DIR, true));
  log(`  ${JSON.stringify(runs.nocache.at(-1))}`);
}

const all = (rs: Run[], f: (r: Run) => number | undefined, d = 2) =>
  rs.map((r) => (f(r) === undefined ? "—" : ms(f(r) as number, d))).join(" / ");
const goal = (rs: Run[]) => {
  const m = pct(
    rs.map((r) => r.readyS),
    0.5,
  );
  return `ready < 2 s: ${m < 2 ? "met" : `missed by ${ms(m - 2)} s`} (median ${ms(m)} s)`;
};
const line = (name: string, rs: Run[], g: string) => [
  name,
  all(rs, (r) => r.listenS),
  all(rs, (r) => r.readyS),
  all(rs, (r) => r.firstQueryMs, 1),
  all(rs, (r) => r.drainedS, 1),
  rs.map((r) => `${r.notReady}/${r.polls}`).join(" · "),
  rs.map((r) => r.logged).join(" · "),
  g,
];
const tbl = table(
  [
    "Data dir",
    "Spawn → listening (s)",
    "Spawn → first 200 /readyz (s)",
    "First vector query (ms)",
    "Spawn → backlog 0 (s)",
    "/readyz 503 during catch-up",
    "cached indexes / vectors to index (log)",
    "SPEC goal",
  ],
  [
    line("baseline: empty", runs.empty, ""),
    line(`${int(N)} entries, after a clean shutdown (vector cache)`, runs.cached, goal(runs.cached)),
    line(`${int(N)} entries, no vector cache (never saved)`, runs.nocache, goal(runs.nocache)),
  ],
);
const body = [
  "Command: `npm run build && node --import tsx bench/startup.ts`",
  "",
  machine(),
  "",
  `${RUNS} runs of each, interleaved; each cell lists the runs in order. Data: the ${int(N)}-entry data dir of bench/query.ts ` +
    "(one namespace, 384-d vectors). `node dist/cli/main.js serve --data-dir DIR --host 127.0.0.1 --port 0` with " +
    "STYX_ADMIN_TOKEN set and STYX_LOG_LEVEL=info (default load-shedding limits); times are from the spawn. " +
    '"Backlog 0" is the first /metrics poll (every 100 ms) with styx_vector_backlog 0; "/readyz 503" counts the polls ' +
    "made meanwhile that answered 503 (of all polls). The first vector query is sent right after the first 200 from /readyz.",
  "",
  tbl,
].join("\n");
publishReport("Start-up (bench/startup.ts)", body, { full: FULL, overrides: "STARTUP_RUNS/BENCH_N" });
