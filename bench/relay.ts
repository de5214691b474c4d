/**
 * Relay of golem events to 1,000 owner sockets, SPEC §14: "relay: golem event → owner socket,
 * 1,000 subscribers: ≥ 70 % of a bare `ws` broadcast of the same frames; p99 ≤ the bare broadcast's
 * p99 + 10 ms at the same fixed load".
 *
 *   npm run build && node --import tsx bench/relay.ts          # updates docs/benchmarks.md
 *   RELAY_EVENTS=200 node --import tsx bench/relay.ts           # quick run: stdout only
 *
 * Three servers, each in its own process, all started first and measured in turn by one
 * client process (a child of this one) holding, per server, 1,000 subscriber sockets and one
 * sender socket:
 *   baseline: a plain `ws` WebSocketServer (no Styx, no auth, no history); on each `event`
 *     message from the sender it builds the frame Styx would send (same fields, same stream
 *     name, epoch and golem id, so the same size), serialises it once and calls
 *     `ws.send(buf)` (text frame) for every connected socket;
 *   Styx with a temp data dir (the micronode default: history appended to SQLite, WAL), and
 *   Styx in amnesia (history in SQLite `:memory:`): 1,000 sockets of one user (one key), and
 *   one socket of the same user sending `{"type":"event","golem_id","event":{"type":"golem:tick",…}}`.
 * In both cases the sender's own socket receives every frame too (Styx puts every socket of the
 * owner on `user:{id}`; the baseline broadcasts to every client), so each server sends 1,001
 * frames per event; deliveries are counted on the 1,000 subscribers only.
 * The payload carries the event number and the sender's `performance.now()`; the subscribers
 * live in the same process, so latency = receipt − send on one clock.
 * Phases (event numbers continue across phases; each subscriber checks that it gets every
 * number once, in order):
 *   warm-up: 200 events per server, window 16 (not counted);
 *   throughput: 3 rounds, servers interleaved, each RELAY_EVENTS (1,000) events; the sender
 *     keeps at most 16 events outstanding, an event being outstanding until all 1,000
 *     subscribers received it;
 *   paced: RELAY_RATE (50) events/s for RELAY_PACED_SECONDS (10) s per server, a fixed load
 *     under every server's capacity, for the latency the SPEC goal is about.
 */
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import {
  createGolems,
  createUser,
  FABRIC_SECTION,
  forkChild,
  mib,
  procCpuMs,
  procRss,
  type StyxProcess,
  serveParent,
  startStyx,
  tempDataDir,
} from "./lib/fabric.js";

const SUBSCRIBERS = 1_000;
const WINDOW = 16;
const WARMUP_EVENTS = 200;
const ROUNDS = 3;
const EVENTS = Number(process.env.RELAY_EVENTS ?? 1_000);
const RATE = Number(process.env.RELAY_RATE ?? 50);
const PACED_S = Number(process.env.RELAY_PACED_SECONDS ?? 10);
const FULL = EVENTS === 1_000 && RATE === 50 && PACED_S === 10;
const CONNECT_CONCURRENCY = 50;
const GOAL_RATIO = 0.7;
/** SPEC §14: a Styx server's paced p99 at most the bare broadcast's paced p99 of the same run plus this, ms. */
const GOAL_P99_OVER_BASELINE = 10;
const FILE = fileURLToPath(import.meta.url);

/** One phase's result, as the client reports it. */
interface PhaseResult {
  readonly events: number;
  readonly completed: number;
  readonly elapsedMs: number;
  /** Deliveries to the 1,000 subscribers. */
  readonly delivered: number;
  /** Send → receipt per delivery, ms. */
  readonly lat: Float64Array;
  readonly clientCpuMs: number;
  readonly serverCpuMs: number;
  readonly serverRss: number;
  /** Subscribers that saw an event number other than the one expected (loss, duplicate, reorder). */
  readonly outOfOrder: number;
  /** Close codes seen so far, by code. */
  readonly closes: Record<string, number>;
  readonly errors: string[];
  readonly frameBytes: number;
}

// ── the baseline server (child) ─────────────────────────────────────────────────────────────

async function baselineServer(msg: { stream: string; epoch: string }): Promise<{ port: number; pid: number }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 });
  await new Promise((r) => wss.once("listening", r));
  let seq = 0;
  const head = `{"stream":${JSON.stringify(msg.stream)},"epoch":${JSON.stringify(msg.epoch)},"seq":`;
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type !== "event") return;
      const { type, ...fields } = m.event;
      const payload = JSON.stringify({ ...fields, golem_id: m.golem_id });
      const frame = Buffer.from(`${head}${++seq},"ts":${Date.now()},"channel":${JSON.stringify(type)},"payload":${payload}}`);
      for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(frame, { binary: false });
    });
  });
  const a = wss.address();
  return { port: typeof a === "object" && a ? a.port : 0, pid: process.pid };
}

// ── the client (child) ──────────────────────────────────────────────────────────────────────

/** One measured phase in progress. */
interface Run {
  readonly base: number;
  readonly events: number;
  readonly counts: Uint16Array;
  readonly lat: Float64Array;
  k: number;
  completed: number;
  onComplete: () => void;
}

/** The client's sockets on one server. */
interface Target {
  readonly subs: WebSocket[];
  sender: WebSocket | undefined;
  readonly golemId: string;
  nextN: number;
  outOfOrder: number;
  frameBytes: number;
  readonly closes: Record<string, number>;
  readonly errors: string[];
}

const targets = new Map<string, Target>();
let current: Run | undefined;

const N_KEY = Buffer.from('"n":');

/** Reads `n` and `t` from `…"payload":{"n":123,"t":4567.891,…}` without decoding the frame. */
function parseEvent(data: Buffer): { n: number; t: number } | undefined {
  let i = data.indexOf(N_KEY, 40);
  if (i < 0) return undefined;
  i += N_KEY.length;
  let n = 0;
  for (let c = data[i] as number; c >= 48 && c <= 57; c = data[++i] as number) n = n * 10 + c - 48;
  i += 5; // ,"t":
  let j = i;
  while (j < data.length && data[j] !== 44) j++;
  return { n, t: Number(data.toString("latin1", i, j)) };
}

function open(target: Target, url: string, token: string | undefined, onEvent: (data: Buffer) => void): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
    ws.on("close", (code) => {
      target.closes[code] = (target.closes[code] ?? 0) + 1;
    });
    // Styx greets with `welcome` (authentication done); the baseline is ready at `open`.
    if (!token) ws.once("open", () => resolve(ws));
    ws.on("message", (data: Buffer) => {
      if (data[2] !== 0x73 /* {"s…: an event frame */) {
        const f = JSON.parse(data.toString());
        if (f.type === "welcome") resolve(ws);
        else if (f.type === "error" && target.errors.length < 5) target.errors.push(JSON.stringify(f));
        return;
      }
      onEvent(data);
    });
  });
}

function subscriber(target: Target) {
  let expect = 0;
  return (data: Buffer) => {
    const now = performance.now();
    const e = parseEvent(data);
    if (!e) return;
    if (e.n !== expect) target.outOfOrder++;
    expect = e.n + 1;
    target.frameBytes = data.length;
    const run = current;
    if (!run) return;
    const i = e.n - run.base;
    if (i < 0 || i >= run.events) return;
    run.lat[run.k++] = now - e.t;
    if (++(run.counts[i] as number) === SUBSCRIBERS) {
      run.completed++;
      run.onComplete();
    }
  };
}

async function connect(msg: { target: string; wsUrl: string; token?: string; golemId: string }): Promise<{ connectMs: number }> {
  const t0 = performance.now();
  const target: Target = {
    subs: [],
    sender: undefined,
    golemId: msg.golemId,
    nextN: 0,
    outOfOrder: 0,
    frameBytes: 0,
    closes: {},
    errors: [],
  };
  targets.set(msg.target, target);
  let next = 0;
  const worker = async () => {
    while (next < SUBSCRIBERS) {
      next++;
      target.subs.push(await open(target, msg.wsUrl, msg.token, subscriber(target)));
    }
  };
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  target.sender = await open(target, msg.wsUrl, msg.token, () => {});
  return { connectMs: performance.now() - t0 };
}

function sendEvent(target: Target): void {
  const n = target.nextN++;
  const t = performance.now().toFixed(3);
  target.sender?.send(
    `{"type":"event","golem_id":"${target.golemId}","event":{"type":"golem:tick","n":${n},"t":${t},"tick":${n},"phase":"explore","vitality":0.73}}`,
  );
}

async function phase(msg: {
  target: string;
  events: number;
  window?: number;
  rate?: number;
  serverPid: number;
  timeoutMs: number;
}): Promise<PhaseResult> {
  const { events } = msg;
  const target = targets.get(msg.target) as Target;
  const run: Run = {
    base: target.nextN,
    events,
    counts: new Uint16Array(events),
    lat: new Float64Array(events * SUBSCRIBERS),
    k: 0,
    completed: 0,
    onComplete: () => {},
  };
  const cpu0 = process.cpuUsage();
  const server0 = procCpuMs(msg.serverPid);
  const t0 = performance.now();
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const deadline = setTimeout(() => finish(), msg.timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve();
    };
    run.onComplete = () => {
      if (run.completed === events) return finish();
      if (msg.window !== undefined && sent < events) {
        sent++;
        sendEvent(target);
      }
    };
    current = run;
    if (msg.window !== undefined) {
      for (; sent < Math.min(msg.window, events); sent++) sendEvent(target);
    } else {
      const every = 1000 / (msg.rate as number);
      const tick = () => {
        const due = Math.min(events, Math.floor((performance.now() - t0) / every) + 1);
        for (; sent < due; sent++) sendEvent(target);
        if (sent < events) timer = setTimeout(tick, Math.max(0, t0 + sent * every - performance.now()));
      };
      tick();
    }
  });
  const elapsedMs = performance.now() - t0;
  current = undefined;
  // After a timeout the numbers still continue after this phase's events.
  target.nextN = run.base + events;
  const cpu = process.cpuUsage(cpu0);
  return {
    events,
    completed: run.completed,
    elapsedMs,
    delivered: run.k,
    lat: run.lat.subarray(0, run.k),
    clientCpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: procCpuMs(msg.serverPid) - server0,
    serverRss: procRss(msg.serverPid),
    outOfOrder: target.outOfOrder,
    closes: { ...target.closes },
    errors: [...target.errors],
    frameBytes: target.frameBytes,
  };
}

// ── the orchestrator ────────────────────────────────────────────────────────────────────────

interface Variant {
  readonly name: string;
  readonly key: string;
  readonly serverPid: number;
  connectMs: number;
  readonly rounds: PhaseResult[];
  paced?: PhaseResult;
}

async function main(): Promise<void> {
  const log = (m: string) => console.error(m);

  // Styx on a data dir and in amnesia; the baseline copies the stream name, epoch and golem id (same frame size).
  const data = tempDataDir("styx-relay-");
  const styx = await startStyx({ dataDir: data.dir });
  const amnesia = await startStyx({ dataDir: "amnesia" });
  const setup = async (s: StyxProcess) => {
    const user = await createUser(s.url, "relay-user");
    const golemId = (await createGolems(s.url, user.key, 1))[0] as string;
    return { user, golemId };
  };
  const [d, a] = [await setup(styx), await setup(amnesia)];
  const stream = `user:${d.user.id}`;
  const epoch = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(styx.wsUrl, { headers: { authorization: `Bearer ${d.user.key}` } });
    ws.once("error", reject);
    ws.once("message", (m) => {
      resolve(JSON.parse(m.toString()).streams[stream].epoch);
      ws.close();
    });
  });
  const b = forkChild(FILE);
  const { port, pid } = await b.request<{ port: number; pid: number }>({ op: "baseline", stream, epoch });

  const variants: Variant[] = [
    { name: "baseline: bare `ws` broadcast (no Styx)", key: "baseline", serverPid: pid, connectMs: 0, rounds: [] },
    { name: "Styx, temp data dir (history in SQLite, WAL)", key: "styx", serverPid: styx.pid, connectMs: 0, rounds: [] },
    { name: "Styx, amnesia (history in SQLite :memory:)", key: "amnesia", serverPid: amnesia.pid, connectMs: 0, rounds: [] },
  ];
  const c = forkChild(FILE);
  const conn = {
    baseline: { wsUrl: `ws://127.0.0.1:${port}`, golemId: d.golemId },
    styx: { wsUrl: styx.wsUrl, golemId: d.golemId, token: d.user.key },
    amnesia: { wsUrl: amnesia.wsUrl, golemId: a.golemId, token: a.user.key },
  };
  for (const v of variants) {
    log(`relay: ${v.name}: connecting ${SUBSCRIBERS} subscribers and a sender…`);
    v.connectMs = (await c.request<{ connectMs: number }>({ op: "connect", target: v.key, ...conn[v.key as keyof typeof conn] })).connectMs;
    await c.request<PhaseResult>({
      op: "phase",
      target: v.key,
      serverPid: v.serverPid,
      timeoutMs: 60_000,
      events: WARMUP_EVENTS,
      window: WINDOW,
    });
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const p = await c.request<PhaseResult>({
        op: "phase",
        target: v.key,
        serverPid: v.serverPid,
        timeoutMs: 120_000,
        events: EVENTS,
        window: WINDOW,
      });
      v.rounds.push(p);
      log(`relay: round ${r + 1}/${ROUNDS}: ${v.key}: ${int(rate(p))} deliveries/s, p99 ${ms(pct(p.lat, 0.99))} ms`);
    }
  }
  for (const v of variants) {
    v.paced = await c.request<PhaseResult>({
      op: "phase",
      target: v.key,
      serverPid: v.serverPid,
      timeoutMs: PACED_S * 1000 + 30_000,
      events: RATE * PACED_S,
      rate: RATE,
    });
    log(`relay: paced ${RATE}/s: ${v.key}: p99 ${ms(pct(v.paced.lat, 0.99))} ms`);
  }
  c.end();
  b.end();
  const outputs = [styx.output(), amnesia.output()];
  await Promise.all([styx.stop(), amnesia.stop()]);
  data.remove();
  report(variants, outputs);
}

const rate = (p: PhaseResult) => (p.delivered / p.elapsedMs) * 1000;

function concat(parts: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function report(variants: readonly Variant[], outputs: readonly string[]): void {
  const median = (v: Variant) => pct(v.rounds.map(rate), 0.5);
  const base = median(variants[0] as Variant);
  /** Deliveries per CPU-second of the server process, over all rounds. */
  const perCpu = (v: Variant) => (v.rounds.reduce((n, p) => n + p.delivered, 0) / v.rounds.reduce((n, p) => n + p.serverCpuMs, 0)) * 1000;
  const baseCpu = perCpu(variants[0] as Variant);
  const share = (ps: readonly PhaseResult[], f: (p: PhaseResult) => number) =>
    `${Math.round((100 * ps.reduce((n, p) => n + f(p), 0)) / ps.reduce((n, p) => n + p.elapsedMs, 0))} %`;
  const tput = table(
    [
      "Server",
      "Deliveries/s, rounds 1 / 2 / 3",
      "Median deliveries/s",
      "vs baseline (medians)",
      "p50 (ms)",
      "p99 (ms)",
      "Server CPU",
      "Client CPU",
      "Deliveries per server CPU-second",
      "vs baseline",
      "SPEC goal (≥ 70 % of baseline)",
    ],
    variants.map((v, i) => {
      const lat = concat(v.rounds.map((p) => p.lat));
      const ratio = median(v) / base;
      return [
        v.name,
        v.rounds.map((p) => int(rate(p))).join(" / "),
        int(median(v)),
        `${Math.round(100 * ratio)} %`,
        ms(pct(lat, 0.5)),
        ms(pct(lat, 0.99)),
        share(v.rounds, (p) => p.serverCpuMs),
        share(v.rounds, (p) => p.clientCpuMs),
        int(perCpu(v)),
        `${Math.round((100 * perCpu(v)) / baseCpu)} %`,
        i === 0 ? "" : ratio >= GOAL_RATIO ? "met" : `missed (${Math.round(100 * ratio)} %)`,
      ];
    }),
  );
  const paced = table(
    [
      "Server",
      "Delivered",
      "p50 (ms)",
      "p90 (ms)",
      "p99 (ms)",
      "max (ms)",
      "Server CPU",
      "Client CPU",
      "SPEC goal (p99 ≤ baseline's + 10 ms)",
    ],
    variants.map((v, i) => {
      const p = v.paced as PhaseResult;
      const p99 = pct(p.lat, 0.99);
      const goal = pct(((variants[0] as Variant).paced as PhaseResult).lat, 0.99) + GOAL_P99_OVER_BASELINE;
      return [
        v.name,
        `${int(p.delivered)} of ${int(p.events * SUBSCRIBERS)}`,
        ms(pct(p.lat, 0.5)),
        ms(pct(p.lat, 0.9)),
        ms(p99),
        ms(pct(p.lat, 1)),
        share([p], (x) => x.serverCpuMs),
        share([p], (x) => x.clientCpuMs),
        i === 0 ? "" : p99 <= goal ? "met" : `missed by ${ms(p99 - goal)} ms`,
      ];
    }),
  );
  const notes = variants.map((v) => {
    const last = v.paced as PhaseResult;
    const missing = [...v.rounds, last].reduce((n, p) => n + p.events * SUBSCRIBERS - p.delivered, 0);
    const closes = Object.entries(last.closes);
    return (
      `${v.name}: ${int(SUBSCRIBERS + 1)} sockets connected in ${ms(v.connectMs / 1000, 1)} s; event frame ${int(last.frameBytes)} bytes; ` +
      `server RSS at the end ${mib(last.serverRss)} MiB; deliveries missing ${int(missing)}; out-of-order receipts ${last.outOfOrder}; ` +
      `sockets closed by the server: ${closes.length ? closes.map(([code, n]) => `${n} × ${code}`).join(", ") : "none"}` +
      (last.errors.length ? `; error frames: ${last.errors.join(" ")}` : "") +
      "."
    );
  });
  const serverLogs = outputs.map((o) => o.trim()).filter(Boolean);
  const body = [
    "Command: `npm run build && node --import tsx bench/relay.ts`",
    "",
    machine(),
    "",
    "Three servers, each in its own process, all started before the measurements: the baseline, a forked bare `ws` WebSocketServer " +
      "(perMessageDeflate off, no auth, no history); Styx on a temp data dir (the micronode default: history appended to SQLite, WAL); " +
      "Styx in amnesia (history in SQLite `:memory:`). Styx runs as `node dist/cli/main.js serve --host 127.0.0.1` with " +
      "STYX_LOG_LEVEL=silent, STYX_RATE_LIMIT and STYX_IP_RATE_LIMIT 1000000/s:1000000, STYX_WS_MAX_CONNECTIONS=20000, every per-user quota (STYX_QUOTAS, socket caps included) and STYX_UNFINISHED_CONNECTIONS_PER_IP raised out of the way. " +
      `One client process (a fork of the bench) holds, per server, ${int(SUBSCRIBERS)} subscriber sockets and one sender socket. ` +
      "Styx: every socket uses the same read+write key of one user, so all receive the stream `user:{id}`; the sender sends " +
      '`{"type":"event","golem_id":…,"event":{"type":"golem:tick","n":…,"t":…,"tick":…,"phase":"explore","vitality":0.73}}` (no `id`, no ack). ' +
      "Baseline: on the same message the `ws` server builds the frame Styx would send (same stream, epoch and golem id, so the same size), " +
      "serialises it once and calls `ws.send(buf)` (text frame) for every client. Both servers send every frame to 1,001 sockets (the " +
      `sender's own included); deliveries count the ${int(SUBSCRIBERS)} subscribers. Latency: the sender's \`performance.now()\` in the payload ` +
      "to the subscriber's receipt (same process, same clock), every delivery counted. Each server first gets 200 warm-up events. " +
      "CPU: share of one core used by the server process and by the client process during the phase (the machine has 2). " +
      "Server and client both run near a full core in the throughput rounds, so deliveries/s is the capacity of this 2-core machine " +
      "with the client on it; deliveries per server CPU-second is the server's own efficiency, independent of the client.",
    "",
    `**Throughput**: ${ROUNDS} rounds, servers interleaved (baseline, data dir, amnesia, then again); each round ${int(EVENTS)} events ` +
      `(${int(EVENTS * SUBSCRIBERS)} deliveries) with at most ${WINDOW} events outstanding (an event is outstanding until all ` +
      `${int(SUBSCRIBERS)} subscribers have it). Latency here includes queueing behind the window.`,
    "",
    tput,
    "",
    `**Latency at a fixed load**: ${RATE} events/s (${int(RATE * SUBSCRIBERS)} deliveries/s) for ${PACED_S} s, sent on a timer, after the throughput rounds.`,
    "",
    paced,
    "",
    ...notes.map((n) => `- ${n}`),
    ...(serverLogs.length ? ["", "Server output:", "", "```", ...serverLogs.map((l) => l.slice(0, 2000)), "```"] : []),
  ].join("\n");
  publishReport("Relay (bench/relay.ts)", body, { full: FULL, overrides: "RELAY_*", section: FABRIC_SECTION });
}

if (process.argv.includes("--child")) {
  serveParent(async (msg) => {
    if (msg.op === "baseline") return baselineServer(msg);
    if (msg.op === "connect") return connect(msg);
    if (msg.op === "phase") return phase(msg);
    throw new Error(`unknown op ${msg.op}`);
  });
} else {
  await main();
}
