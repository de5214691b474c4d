/**
 * 10,000 authenticated sockets with 667 heartbeats/s, SPEC §14: "connections: 10,000
 * authenticated sockets with 667 heartbeats/s (the 10k-golem load) at p99 < 20 ms, RSS < 1.5 GiB".
 *
 *   npm run build && node --import tsx bench/connections.ts            # updates docs/benchmarks.md
 *   CONN_SOCKETS=2000 CONN_MEASURE_SECONDS=10 node --import tsx bench/connections.ts   # quick run: stdout only
 *
 * Styx runs as `node dist/cli/main.js serve` on a temp data dir (its own process). Setup over
 * HTTP: 10 users, one read+write key each, 1,000 golems per user (10,000 golems). Two client
 * processes (forks of this file) each open half of the sockets, at most 50 connecting at a time
 * per process: socket i uses the key of user ⌊i / 1,000⌋ and heartbeats for its own golem i
 * (sockets alternate between the two processes). Every socket sends
 * `{"type":"heartbeat","golem_id","phase","vitality","pad","regime","tick","domains","id"}` every
 * 15 s, socket i at offset i × 15 s / 10,000, so the server sees 667 heartbeats/s spread evenly.
 * The first 15 s (each socket's first heartbeat: tenancy lookup of its golem, presence entry
 * created) are reported apart; then CONN_MEASURE_SECONDS (30) of steady state. Latency is
 * heartbeat sent → `ack` with its id received, in the client. Server RSS is VmRSS of its
 * process, sampled every second. Then the same clients against a baseline: a bare `ws` server
 * (forked) that parses each message and answers a heartbeat with `{"type":"ack","id"}`.
 */
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import {
  call,
  createGolems,
  createUser,
  FABRIC_SECTION,
  forkChild,
  mib,
  procCpuMs,
  procRss,
  serveParent,
  startStyx,
  tempDataDir,
  wallMs,
} from "./lib/fabric.js";

const SOCKETS = Number(process.env.CONN_SOCKETS ?? 10_000);
const PER_USER = 1_000;
const USERS = Math.ceil(SOCKETS / PER_USER);
const PERIOD_MS = 15_000;
const WARMUP_MS = PERIOD_MS;
const MEASURE_MS = Number(process.env.CONN_MEASURE_SECONDS ?? 30) * 1000;
const FULL = SOCKETS === 10_000 && MEASURE_MS === 30_000;
const CLIENTS = 2;
const CONNECT_CONCURRENCY = 50;
const GOAL_P99 = 20;
const GOAL_RSS = 1.5 * 1024 ** 3;
const FILE = fileURLToPath(import.meta.url);

interface Sock {
  readonly index: number;
  readonly key: string | undefined;
  readonly golemId: string;
}

interface Connected {
  readonly connectMs: number;
  /** Upgrade request → welcome (Styx) or open (baseline), per socket. */
  readonly lat: Float64Array;
  readonly failed: number;
  readonly firstError: string | undefined;
}

interface RunResult {
  readonly first: Float64Array;
  readonly steady: Float64Array;
  readonly sent: number;
  readonly acked: number;
  /** Heartbeats still unanswered when the socket's next one was due or the run ended. */
  readonly unanswered: number;
  /** Scheduled → actually sent, ms (the client keeping up). */
  readonly sendLagP99: number;
  readonly closes: Record<string, number>;
  readonly errors: string[];
  readonly clientCpuMs: number;
}

// ── the baseline server (child) ─────────────────────────────────────────────────────────────

async function baselineServer(): Promise<{ port: number; pid: number }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024, backlog: 4096 });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "heartbeat" && m.id !== undefined) ws.send(JSON.stringify({ type: "ack", id: m.id }));
    });
  });
  const a = wss.address();
  return { port: typeof a === "object" && a ? a.port : 0, pid: process.pid };
}

// ── the client (child) ──────────────────────────────────────────────────────────────────────

interface Live {
  readonly ws: WebSocket;
  readonly sock: Sock;
  /** id and send time of the heartbeat waiting for its ack (id -1: none). */
  pendingId: number;
  sentAt: number;
  /** Whether the pending heartbeat falls in the measured window. */
  measured: boolean;
}

const state = {
  live: [] as Live[],
  closes: {} as Record<string, number>,
  errors: [] as string[],
  first: [] as number[],
  steady: [] as number[],
  acked: 0,
  unanswered: 0,
};

function onAck(l: Live, data: Buffer): void {
  const f = JSON.parse(data.toString());
  if (f.type === "ack" && f.id === l.pendingId) {
    const lat = performance.now() - l.sentAt;
    (l.measured ? state.steady : state.first).push(lat);
    state.acked++;
    l.pendingId = -1;
  } else if (f.type === "error" && state.errors.length < 5) state.errors.push(JSON.stringify(f));
}

function openOne(url: string, sock: Sock): Promise<Live> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: sock.key ? { authorization: `Bearer ${sock.key}` } : {}, perMessageDeflate: false });
    const l: Live = { ws, sock, pendingId: -1, sentAt: 0, measured: false };
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
    ws.on("close", (code) => {
      state.closes[code] = (state.closes[code] ?? 0) + 1;
    });
    let ready = false;
    const done = () => {
      ready = true;
      resolve(l);
    };
    if (!sock.key) ws.once("open", done);
    ws.on("message", (data: Buffer) => {
      if (ready) return onAck(l, data);
      const f = JSON.parse(data.toString());
      if (f.type === "welcome") done();
      else reject(new Error(`before welcome: ${data.toString().slice(0, 300)}`));
    });
  });
}

async function connect(msg: { wsUrl: string; socks: Sock[] }): Promise<Connected> {
  const t0 = performance.now();
  const lat = new Float64Array(msg.socks.length);
  let next = 0;
  let failed = 0;
  let firstError: string | undefined;
  const worker = async () => {
    while (next < msg.socks.length) {
      const i = next++;
      const t = performance.now();
      try {
        state.live.push(await openOne(msg.wsUrl, msg.socks[i] as Sock));
        lat[i] = performance.now() - t;
      } catch (err) {
        failed++;
        firstError ??= String((err as Error).message ?? err);
        lat[i] = Number.NaN;
      }
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  state.live.sort((a, b) => a.sock.index - b.sock.index);
  return { connectMs: performance.now() - t0, lat: lat.filter((x) => !Number.isNaN(x)), failed, firstError };
}

async function run(msg: { startAt: number; total: number }): Promise<RunResult> {
  const { live } = state;
  const cpu0 = process.cpuUsage();
  const end = msg.startAt + WARMUP_MS + MEASURE_MS;
  const lag: number[] = [];
  let sent = 0;
  let j = 0;
  const due = (k: number) => {
    const l = live[k % live.length] as Live;
    return msg.startAt + (l.sock.index * PERIOD_MS) / msg.total + Math.floor(k / live.length) * PERIOD_MS;
  };
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = wallMs();
      for (let d = due(j); d <= now && d < end; d = due(j)) {
        const l = live[j % live.length] as Live;
        if (l.pendingId !== -1) state.unanswered++;
        const id = ++sent;
        l.pendingId = id;
        l.measured = d >= msg.startAt + WARMUP_MS;
        if (l.measured) lag.push(now - d);
        l.sentAt = performance.now();
        // The golem's own tick stays under 10,000: crossing it unlocks `elder`, an event to every
        // socket of the owner (1,000 here), which would turn this into a benchmark of that burst.
        l.ws.send(
          `{"type":"heartbeat","golem_id":"${l.sock.golemId}","phase":"explore","vitality":0.5,"pad":{"pleasure":0.1,"arousal":0.2,"dominance":0.3},"regime":"calm","tick":${1000 + Math.floor(j / live.length)},"domains":["markets"],"id":${id}}`,
        );
        j++;
      }
      if (due(j) >= end) {
        // Give the last acks a moment, then stop.
        setTimeout(resolve, 2000);
        return;
      }
      setTimeout(tick, Math.max(0, due(j) - wallMs()));
    };
    setTimeout(tick, Math.max(0, msg.startAt - wallMs()));
  });
  for (const l of live) if (l.pendingId !== -1) state.unanswered++;
  const cpu = process.cpuUsage(cpu0);
  return {
    first: Float64Array.from(state.first),
    steady: Float64Array.from(state.steady),
    sent,
    acked: state.acked,
    unanswered: state.unanswered,
    sendLagP99: pct(lag, 0.99),
    closes: { ...state.closes },
    errors: [...state.errors],
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

// ── the orchestrator ────────────────────────────────────────────────────────────────────────

interface Variant {
  readonly name: string;
  readonly rssIdle: number;
  readonly rssConnected: number;
  readonly rssPeak: number;
  readonly rssEnd: number;
  readonly serverCpuMs: number;
  readonly connected: Connected[];
  readonly results: RunResult[];
  readonly notes: string[];
}

const log = (m: string) => console.error(m);
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

async function measure(name: string, wsUrl: string, pid: number, socks: Sock[], afterRun?: () => Promise<string[]>): Promise<Variant> {
  const rssIdle = procRss(pid);
  const clients = Array.from({ length: CLIENTS }, () => forkChild(FILE));
  log(`connections: ${name}: opening ${int(socks.length)} sockets…`);
  const connected = await Promise.all(
    clients.map((c, k) => c.request<Connected>({ op: "connect", wsUrl, socks: socks.filter((s) => s.index % CLIENTS === k) })),
  );
  log(
    `  ${connected.map((c) => `${ms(c.connectMs / 1000, 1)} s, ${c.failed} failed${c.firstError ? ` (${c.firstError})` : ""}`).join("; ")}`,
  );
  await sleep(1000);
  const rssConnected = procRss(pid);
  let rssPeak = rssConnected;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, procRss(pid));
  }, 1000);
  const startAt = wallMs() + 500;
  log(`connections: ${name}: ${ms(WARMUP_MS / 1000, 0)} s first heartbeats, then ${ms(MEASURE_MS / 1000, 0)} s measured…`);
  let cpu0 = 0;
  const cpuStart = setTimeout(() => (cpu0 = procCpuMs(pid)), startAt + WARMUP_MS - wallMs());
  const results = await Promise.all(clients.map((c) => c.request<RunResult>({ op: "run", startAt, total: socks.length })));
  const serverCpuMs = procCpuMs(pid) - cpu0;
  clearTimeout(cpuStart);
  clearInterval(sampler);
  const rssEnd = procRss(pid);
  rssPeak = Math.max(rssPeak, rssEnd);
  const notes = afterRun ? await afterRun() : [];
  for (const c of clients) c.end();
  await Promise.all(clients.map((c) => new Promise((r) => c.proc.once("exit", r))));
  return { name, rssIdle, rssConnected, rssPeak, rssEnd, serverCpuMs, connected, results, notes };
}

async function main(): Promise<void> {
  const data = tempDataDir("styx-conn-");
  const styx = await startStyx({ dataDir: data.dir });
  log(`connections: creating ${USERS} users and ${int(SOCKETS)} golems…`);
  const g0 = performance.now();
  const users = await Promise.all(Array.from({ length: USERS }, (_, u) => createUser(styx.url, `conn-u${u}`)));
  const golems = await Promise.all(users.map((u, k) => createGolems(styx.url, u.key, Math.min(PER_USER, SOCKETS - k * PER_USER), 4)));
  const setupS = (performance.now() - g0) / 1000;
  log(`  ${ms(setupS, 1)} s`);
  const socks: Sock[] = Array.from({ length: SOCKETS }, (_, i) => ({
    index: i,
    key: users[Math.floor(i / PER_USER)]?.key,
    golemId: golems[Math.floor(i / PER_USER)]?.[i % PER_USER] as string,
  }));

  const styxRun = await measure("Styx", styx.wsUrl, styx.pid, socks, async () => {
    const metrics = await fetch(`${styx.url}/metrics`).then((r) => r.text());
    const open = /^styx_ws_connections (\d+)/m.exec(metrics)?.[1] ?? "?";
    const dropped = [...metrics.matchAll(/^styx_ws_dropped_total\{([^}]*)\} (\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    const agg = await call(styx.url, "GET", `/v1/styx/fleet/${users[0]?.id}/aggregate`, users[0]?.key as string);
    return [
      `/metrics after the run: styx_ws_connections ${open}; styx_ws_dropped_total ${dropped.length ? dropped.join(", ") : "none"}.`,
      `GET /v1/styx/fleet/${users[0]?.id}/aggregate after the run: ${agg.json?.online} of ${agg.json?.golems} golems online (heartbeats recorded).`,
    ];
  });
  const styxOut = styx.output().trim();
  await styx.stop();
  data.remove();

  const b = forkChild(FILE);
  const { port, pid } = await b.request<{ port: number; pid: number }>({ op: "baseline" });
  const baseRun = await measure(
    "baseline: bare `ws` server answering each heartbeat with an ack",
    `ws://127.0.0.1:${port}`,
    pid,
    socks.map((s) => ({ ...s, key: undefined })),
  );
  b.end();
  report(setupS, [baseRun, { ...styxRun, name: "Styx, temp data dir" }], styxOut);
}

function report(setupS: number, variants: readonly Variant[], styxOut: string): void {
  const cat = (f: (r: RunResult) => Float64Array, v: Variant) => {
    const parts = v.results.map(f);
    const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) out.set(p, o), (o += p.length);
    return out;
  };
  const sum = (v: Variant, f: (r: RunResult) => number) => v.results.reduce((n, r) => n + f(r), 0);
  const rows = variants.map((v, i) => {
    const steady = cat((r) => r.steady, v);
    const first = cat((r) => r.first, v);
    const open = v.connected.reduce((n, c) => n + c.lat.length, 0);
    const p99 = pct(steady, 0.99);
    const goal =
      i === 0
        ? ""
        : `p99 < 20 ms: ${p99 < GOAL_P99 ? "met" : `missed by ${ms(p99 - GOAL_P99)} ms`}; RSS < 1.5 GiB: ${v.rssPeak < GOAL_RSS ? "met" : "missed"}`;
    return [
      v.name,
      int(open),
      `${int(steady.length)} (${int((steady.length / MEASURE_MS) * 1000)}/s)`,
      ms(pct(steady, 0.5)),
      ms(pct(steady, 0.99)),
      ms(pct(steady, 1)),
      `${ms(pct(first, 0.5))} / ${ms(pct(first, 0.99))}`,
      `${mib(v.rssIdle)} / ${mib(v.rssConnected)} / ${mib(v.rssPeak)}`,
      `${Math.round((100 * v.serverCpuMs) / MEASURE_MS)} %`,
      goal,
    ];
  });
  const tbl = table(
    [
      "Server",
      "Sockets open",
      "Heartbeats measured",
      "p50 (ms)",
      "p99 (ms)",
      "max (ms)",
      "First heartbeat per socket p50 / p99 (ms)",
      "Server RSS idle / connected / peak (MiB)",
      "Server CPU (measured window)",
      "SPEC goal",
    ],
    rows,
  );
  const notes = variants.map((v) => {
    const connect = v.connected.map((c) => c.lat);
    const all = new Float64Array(connect.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of connect) all.set(p, o), (o += p.length);
    const failed = v.connected.reduce((n, c) => n + c.failed, 0);
    const errs = v.connected.map((c) => c.firstError).filter(Boolean);
    const closes: Record<string, number> = {};
    for (const r of v.results) for (const [c, n] of Object.entries(r.closes)) closes[c] = (closes[c] ?? 0) + n;
    const errors = v.results.flatMap((r) => r.errors);
    return (
      `${v.name}: connecting ${int(SOCKETS)} sockets took ${v.connected.map((c) => ms(c.connectMs / 1000, 1)).join(" s and ")} s in the two client processes ` +
      `(upgrade → ${v.name.startsWith("Styx") ? "welcome" : "open"} p50 ${ms(pct(all, 0.5))} ms, p99 ${ms(pct(all, 0.99))} ms; ${failed} failed${errs.length ? `: ${errs[0]}` : ""}); ` +
      `heartbeats sent ${int(sum(v, (r) => r.sent))}, acked ${int(sum(v, (r) => r.acked))}, unanswered ${int(sum(v, (r) => r.unanswered))}; ` +
      `client send lag p99 ${v.results.map((r) => ms(r.sendLagP99)).join(" / ")} ms; client CPU ${v.results.map((r) => `${Math.round((100 * r.clientCpuMs) / (WARMUP_MS + MEASURE_MS))} %`).join(" / ")}; ` +
      `RSS at the end ${mib(v.rssEnd)} MiB; sockets closed by the server: ${
        Object.keys(closes).length
          ? Object.entries(closes)
              .map(([c, n]) => `${n} × ${c}`)
              .join(", ")
          : "none"
      }` +
      (errors.length ? `; error frames: ${errors.join(" ")}` : "") +
      "." +
      (v.notes.length ? ` ${v.notes.join(" ")}` : "")
    );
  });
  const body = [
    "Command: `npm run build && node --import tsx bench/connections.ts`",
    "",
    machine(),
    "",
    "Styx: `node dist/cli/main.js serve --host 127.0.0.1` on a temp data dir (SQLite, WAL), its own process, STYX_LOG_LEVEL=silent, " +
      "STYX_RATE_LIMIT and STYX_IP_RATE_LIMIT 1000000/s:1000000, STYX_WS_MAX_CONNECTIONS=20000, every per-user quota (STYX_QUOTAS, socket caps included) and STYX_UNFINISHED_CONNECTIONS_PER_IP raised out of the way, default ping interval (20 s). " +
      `Setup over HTTP: ${USERS} users with one read+write key each and ${int(PER_USER)} golems per user (${int(SOCKETS)} golems, ${ms(setupS, 1)} s). ` +
      `Two client processes (forks of the bench) hold ${int(SOCKETS / CLIENTS)} sockets each, opened at most ${CONNECT_CONCURRENCY} at a time per process; ` +
      `socket i authenticates at upgrade with the key of user ⌊i / ${int(PER_USER)}⌋ and heartbeats for its own golem i ` +
      '(`{"type":"heartbeat","golem_id","phase","vitality","pad","regime","tick","domains","id"}`) every 15 s, at offset i × 15 s / ' +
      `${int(SOCKETS)}: ${int((SOCKETS / PERIOD_MS) * 1000)} heartbeats/s spread evenly; each golem's \`tick\` is 1,000 + its heartbeat count (under 10,000, where \`elder\` would unlock and announce itself to all 1,000 sockets of the owner). Latency: heartbeat sent → its \`ack\` received, in the client. ` +
      `The first 15 s (every socket's first heartbeat: the server resolves the golem's tenancy and creates its presence) are shown apart; ` +
      `then ${ms(MEASURE_MS / 1000, 0)} s of steady state are measured. RSS: VmRSS of the server process before any socket, 1 s after all ` +
      "connected, and the peak of 1-s samples during the heartbeats. Baseline, same clients afterwards: a forked bare `ws` server " +
      '(no auth; it parses each message and answers a heartbeat with `{"type":"ack","id"}`).',
    "",
    tbl,
    "",
    ...notes.map((n) => `- ${n}`),
    ...(styxOut ? ["", "Styx server output:", "", "```", styxOut.slice(0, 3000), "```"] : []),
  ].join("\n");
  publishReport("Connections (bench/connections.ts)", body, { full: FULL, overrides: "CONN_*", section: FABRIC_SECTION });
}

if (process.argv.includes("--child")) {
  serveParent(async (msg) => {
    if (msg.op === "baseline") return baselineServer();
    if (msg.op === "connect") return connect(msg);
    if (msg.op === "run") return run(msg);
    throw new Error(`unknown op ${msg.op}`);
  });
} else {
  await main();
}
