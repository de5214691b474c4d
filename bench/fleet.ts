/**
 * Fleet views from the presence map, SPEC §8: "`GET /v1/styx/fleet/:user_id`,
 * `/fleet/:user_id/aggregate`, `/golem/:golem_id/snapshot` answer from the presence map
 * (< 5 ms at 100 golems)". This goal was once a timed test (a median of 50 aggregates in
 * test/integration/fabric-fleet.test.ts); it is measured here instead.
 *
 *   npm run build && node --import tsx bench/fleet.ts          # updates docs/benchmarks.md
 *   FLEET_REQUESTS=200 node --import tsx bench/fleet.ts         # quick run: stdout only
 *
 * Styx runs as `node dist/cli/main.js serve` on a temp data dir (SQLite, WAL), its own process.
 * One user per fleet size (SIZES: 100 and 1,000 golems), each with one read+write key. Every
 * golem gets its own socket (the user's key) and sends a first heartbeat, acked before anything
 * is measured; then every golem heartbeats every 20 s (the SPEC's beat; offsets spread evenly
 * over all golems of both users) for as long as the measurement runs, so the presence map is
 * being written while it is read. The HTTP client is a forked keep-alive load generator
 * (bench/lib/load-client.ts), one request at a time over one socket; per fleet size the requests
 * cycle through: baseline `GET /v1/styx/health` (public: the framework floor), baseline
 * `GET /v1/styx/me` (authenticated: the floor of a user route, key lookup included), the
 * aggregate, the fleet, and one golem's snapshot (golems in turn), FLEET_REQUESTS (2,000) of each
 * measured after 50 warm-up of each. Interleaving puts every route under the same machine load.
 * In process (no HTTP, no server): `MemoryPresence.ofUser` + `aggregateFleet` over the same
 * number of presences — what the aggregate handler computes.
 */
import { loadavg } from "node:os";
import WebSocket from "ws";
import { MemoryPresence } from "../src/adapters/memory/memory-presence.js";
import { aggregateFleet, type GolemPresence } from "../src/core/fabric/presence.js";
import { int, machine, ms, nowMs, pct, publishReport, table } from "./lib/common.js";
import { call, createGolems, createUser, FABRIC_SECTION, procCpuMs, startStyx, tempDataDir } from "./lib/fabric.js";
import { runLoad } from "./lib/load-client.js";

const REQUESTS = Number(process.env.FLEET_REQUESTS ?? 2_000);
const FULL = REQUESTS === 2_000;
const WARMUP = 50;
const SIZES = [100, 1_000] as const;
const BEAT_MS = 20_000;
const GOAL_MS = 5;
const GOAL_SIZE = 100;
const PHASES = ["explore", "exploit", "rest", "dream"] as const;
const REGIMES = ["bull", "bear", "chop"] as const;
const DOMAINS = ["defi", "nft", "perps", "lending", "bridges", "mev", "oracles", "dao", "l2", "stables", "gaming", "social"];
const log = (m: string) => console.error(m);

/** Heartbeat `n` of golem `i`: every field set, varying per golem; tick stays far below 10,000 (no `elder`). */
function beat(golemId: string, i: number, n: number, id: number) {
  return {
    type: "heartbeat",
    golem_id: golemId,
    phase: PHASES[i % 4],
    vitality: ((i * 37) % 100) / 100,
    pad: { pleasure: ((i % 21) - 10) / 10, arousal: ((i % 11) - 5) / 5, dominance: ((i % 9) - 4) / 4 },
    emotion: "calm",
    regime: REGIMES[i % 3],
    tick: 1_000 + n,
    domains: [DOMAINS[i % 12], DOMAINS[(i * 5) % 12]],
    dreaming: i % 4 === 3,
    nav: 100 + i,
    id,
  };
}

/** One golem's socket: sends heartbeats, counts their acks. */
interface GolemSocket {
  readonly ws: WebSocket;
  readonly golemId: string;
  readonly index: number;
  beats: number;
}

let acked = 0;
let refused = 0;
const waiting = new Map<number, () => void>();
let nextId = 0;

function openSocket(wsUrl: string, key: string, golemId: string, index: number): Promise<GolemSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
    const sock: GolemSocket = { ws, golemId, index, beats: 0 };
    ws.on("message", (data: Buffer) => {
      const f = JSON.parse(data.toString());
      if (f.type === "welcome") resolve(sock);
      else if (f.type === "ack") {
        acked++;
        waiting.get(f.id)?.();
        waiting.delete(f.id);
      } else if (f.type === "error") refused++;
    });
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}

function sendBeat(s: GolemSocket): Promise<void> {
  const id = nextId++;
  const done = new Promise<void>((r) => waiting.set(id, r));
  s.ws.send(JSON.stringify(beat(s.golemId, s.index, s.beats++, id)));
  return done;
}

const data = tempDataDir("styx-bench-fleet-");
const server = await startStyx({ dataDir: data.dir });
const sockets: GolemSocket[] = [];
try {
  const fleets: { size: number; user: { id: string; key: string }; golems: string[] }[] = [];
  for (const size of SIZES) {
    log(`fleet: user with ${int(size)} golems…`);
    const user = await createUser(server.url, `fleet${size}`);
    const golems = await createGolems(server.url, user.key, size);
    fleets.push({ size, user, golems });
  }
  log("fleet: one socket per golem, first heartbeats…");
  const t0 = nowMs();
  for (const f of fleets) {
    for (let i = 0; i < f.golems.length; i += 50) {
      const batch = f.golems.slice(i, i + 50);
      sockets.push(...(await Promise.all(batch.map((g, j) => openSocket(server.wsUrl, f.user.key, g, i + j)))));
    }
  }
  await Promise.all(sockets.map(sendBeat));
  const setupS = (nowMs() - t0) / 1000;
  for (const f of fleets) {
    const a = await call(server.url, "GET", `/v1/styx/fleet/${f.user.id}/aggregate`, f.user.key);
    if (a.status !== 200 || a.json.golems !== f.size || a.json.online !== f.size) {
      throw new Error(`aggregate of ${f.size} golems before the run: ${a.status} ${JSON.stringify(a.json)}`);
    }
  }

  // Steady heartbeats during the measurement: every golem every BEAT_MS, spread evenly.
  let turn = 0;
  const beatsAtStart = acked;
  const pacer = setInterval(() => {
    const s = sockets[turn++ % sockets.length] as GolemSocket;
    void sendBeat(s);
  }, BEAT_MS / sockets.length);
  const beatsStartedAt = nowMs();

  const routes = (f: (typeof fleets)[number]) =>
    [
      { name: "baseline: GET /v1/styx/health (public, no auth)", path: () => "/v1/styx/health" },
      { name: "baseline: GET /v1/styx/me (key lookup, a user route)", path: () => "/v1/styx/me" },
      { name: "GET /v1/styx/fleet/:user_id/aggregate", path: () => `/v1/styx/fleet/${f.user.id}/aggregate` },
      { name: "GET /v1/styx/fleet/:user_id", path: () => `/v1/styx/fleet/${f.user.id}` },
      { name: "GET /v1/styx/golem/:golem_id/snapshot", path: (k: number) => `/v1/styx/golem/${f.golems[k % f.golems.length]}/snapshot` },
    ] as const;

  const results: { size: number; name: string; lat: number[]; bytes: number }[] = [];
  let serverCpuMs = 0;
  let measuredMs = 0;
  for (const f of fleets) {
    const rs = routes(f);
    const paths: string[] = [];
    for (let k = 0; k < WARMUP + REQUESTS; k++) for (const r of rs) paths.push(r.path(k));
    log(`fleet: ${int(f.size)} golems, ${int(paths.length)} requests one at a time…`);
    const cpu0 = procCpuMs(server.pid);
    const run = await runLoad({
      url: server.url,
      token: f.user.key,
      method: "GET",
      path: paths[0] as string,
      paths,
      concurrency: 1,
      max: paths.length,
      durationMs: 600_000,
    });
    serverCpuMs += procCpuMs(server.pid) - cpu0;
    measuredMs += run.elapsedMs;
    const bad = Object.keys(run.statuses).filter((s) => s !== "200");
    if (bad.length) throw new Error(`${f.size} golems: statuses ${JSON.stringify(run.statuses)}`);
    for (const [j, r] of rs.entries()) {
      const lat = run.lat.filter((_, i) => i % rs.length === j).slice(WARMUP);
      const body = await fetch(server.url + r.path(0), { headers: { authorization: `Bearer ${f.user.key}` } }).then((x) => x.text());
      results.push({ size: f.size, name: r.name, lat, bytes: Buffer.byteLength(body) });
    }
  }
  clearInterval(pacer);
  const beatSeconds = (nowMs() - beatsStartedAt) / 1000;
  await new Promise((r) => setTimeout(r, 200));
  const beatsDuring = acked - beatsAtStart;

  const after: string[] = [];
  for (const f of fleets) {
    const a = await call(server.url, "GET", `/v1/styx/fleet/${f.user.id}/aggregate`, f.user.key);
    const fleet = await call(server.url, "GET", `/v1/styx/fleet/${f.user.id}`, f.user.key);
    after.push(
      `${int(f.size)}-golem user: aggregate golems ${a.json.golems}, online ${a.json.online}, max_tick ${a.json.max_tick}; fleet view lists ${fleet.json.golems.length}`,
    );
    if (a.json.online !== f.size) throw new Error(`after the run: ${JSON.stringify(a.json)}`);
  }

  log("fleet: in process…");
  const inproc = await inProcess();

  const goal = (size: number, name: string, lat: number[]) => {
    if (size !== GOAL_SIZE || name.startsWith("baseline")) return "";
    const p50 = pct(lat, 0.5);
    const p99 = pct(lat, 0.99);
    const say = (label: string, x: number) => (x < GOAL_MS ? `${label} met` : `${label} missed by ${ms(x - GOAL_MS, 2)} ms`);
    return `${say("p50", p50)}; ${say("p99", p99)}`;
  };
  const rows = [
    ...results.map((r) => [
      r.name,
      int(r.size),
      int(r.lat.length),
      int(r.bytes),
      ms(pct(r.lat, 0.5), 3),
      ms(pct(r.lat, 0.99), 3),
      ms(Math.max(...r.lat), 1),
      goal(r.size, r.name, r.lat),
    ]),
    ...inproc.map((r) => [
      "in process: MemoryPresence.ofUser + aggregateFleet",
      int(r.size),
      int(r.lat.length),
      "",
      ms(pct(r.lat, 0.5), 4),
      ms(pct(r.lat, 0.99), 4),
      ms(Math.max(...r.lat), 2),
      "",
    ]),
  ];
  const floor = (size: number) => pct(results.find((r) => r.size === size && r.name.includes("/me"))?.lat ?? [], 0.5);
  const own = (size: number) =>
    results
      .filter((r) => r.size === size && !r.name.startsWith("baseline"))
      .map((r) => `${r.name.replace("GET /v1/styx/", "")} ${ms(pct(r.lat, 0.5) - floor(size), 3)} ms`)
      .join(", ");
  const at = (size: number, part: string) => results.filter((r) => r.size === size && r.name.includes(part));
  const fleetRoutes = at(GOAL_SIZE, "GET /v1/styx/f").concat(at(GOAL_SIZE, "GET /v1/styx/golem"));
  const worst99 = Math.max(...fleetRoutes.map((r) => pct(r.lat, 0.99)));
  const verdict =
    `**SPEC goal (< ${GOAL_MS} ms at ${GOAL_SIZE} golems): ${worst99 < GOAL_MS ? "met" : "missed"}** (judged on each route's p99): ` +
    fleetRoutes
      .map((r) => `${r.name.replace("GET /v1/styx/", "")} p50 ${ms(pct(r.lat, 0.5), 2)} / p99 ${ms(pct(r.lat, 0.99), 2)} ms`)
      .join(", ") +
    `, against the framework floor (\`/v1/styx/health\`) p50 ${ms(pct(at(GOAL_SIZE, "/health")[0]?.lat ?? [], 0.5), 2)} / p99 ${ms(pct(at(GOAL_SIZE, "/health")[0]?.lat ?? [], 0.99), 2)} ms in the same run.`;
  const out = [
    "Command: `npm run build && node --import tsx bench/fleet.ts`",
    "",
    `${machine()} 1-min load average at the end: ${loadavg()[0]?.toFixed(2)} (other work shares this machine; the baselines ran interleaved with the fleet routes).`,
    "",
    `Styx: \`node dist/cli/main.js serve --host 127.0.0.1\` on a temp data dir (SQLite, WAL; the micronode's presence map is in memory), its own process, STYX_LOG_LEVEL=silent, rate limits out of the way. One user per fleet size (${SIZES.map(int).join(" and ")} golems), one read+write key each. Every golem has its own socket (${int(sockets.length)} in all, opened and given a first acked heartbeat in ${setupS.toFixed(1)} s; every field of the heartbeat set, varying per golem); then, during the whole measurement, every golem heartbeats every ${BEAT_MS / 1000} s, offsets spread evenly: ${int(beatsDuring)} heartbeats acked over ${beatSeconds.toFixed(1)} s (${(beatsDuring / beatSeconds).toFixed(0)}/s), ${refused} refused. Client: a forked keep-alive load generator, one request at a time over one socket; per fleet size the requests cycle through the five routes below (the snapshot through the golems in turn), ${int(REQUESTS)} of each measured after ${WARMUP} warm-up of each, so the baselines run under the same load as the fleet routes. Baselines in the same run against the same server: \`GET /v1/styx/health\` (public: Fastify, hooks, no key lookup — the framework floor) and \`GET /v1/styx/me\` (the floor of a user route: key lookup in SQLite, scope). Latency: request start → last byte, in the client. In process: \`MemoryPresence.ofUser\` + \`aggregateFleet\` (what the aggregate handler computes, no HTTP) over the same number of presences, ${int(REQUESTS)} calls after ${WARMUP} warm-up.`,
    "",
    table(
      [
        "Request (one at a time)",
        "Golems",
        "Count",
        "Response bytes",
        "p50 (ms)",
        "p99 (ms)",
        "max (ms)",
        `SPEC goal (< ${GOAL_MS} ms at ${GOAL_SIZE} golems)`,
      ],
      rows,
    ),
    "",
    `- ${verdict}`,
    `- Above the authenticated floor (p50 minus \`/me\` p50): at ${int(SIZES[0])} golems ${own(SIZES[0])}; at ${int(SIZES[1])} golems ${own(SIZES[1])}.`,
    "- The in-process rows are a lower bound: a hot loop over one fixed set of presence objects; in the server the same objects are replaced by heartbeats and read between other requests.",
    `- Server CPU during the measured runs: ${ms((serverCpuMs / measuredMs) * 100, 0)} % of a core over ${(measuredMs / 1000).toFixed(1)} s.`,
    `- After the run: ${after.join("; ")} (every golem online: the heartbeats were recorded throughout).`,
  ].join("\n");
  publishReport("Fleet views (bench/fleet.ts)", out, { full: FULL, overrides: "FLEET_REQUESTS", section: FABRIC_SECTION });
} finally {
  for (const s of sockets) s.ws.terminate();
  await server.stop();
  data.remove();
}

async function inProcess(): Promise<{ size: number; lat: number[] }[]> {
  const out: { size: number; lat: number[] }[] = [];
  for (const size of SIZES) {
    const presence = new MemoryPresence();
    const now = Date.now();
    for (let i = 0; i < size; i++) {
      const b = beat(`g${i}`, i, 0, 0);
      const p: GolemPresence = {
        golemId: b.golem_id,
        userId: "u",
        phase: b.phase ?? null,
        vitality: b.vitality,
        pad: b.pad,
        emotion: b.emotion,
        regime: b.regime ?? null,
        tick: b.tick,
        domains: b.domains as string[],
        dreaming: b.dreaming,
        nav: b.nav,
        lastSeen: now,
        archetype: null,
        generation: i % 4,
        bornAt: now - 3_600_000,
      };
      await presence.beat(p);
    }
    const lat: number[] = [];
    for (let k = 0; k < WARMUP + REQUESTS; k++) {
      const t = nowMs();
      const a = aggregateFleet(await presence.ofUser("u"), now);
      const dt = nowMs() - t;
      if (a.online !== size) throw new Error("in-process aggregate: not all online");
      if (k >= WARMUP) lat.push(dt);
    }
    out.push({ size, lat });
  }
  return out;
}
