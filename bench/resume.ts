/**
 * Resume after a disconnect with 1,000 missed events, SPEC §14: "resume after disconnect,
 * 1,000 missed events: < 50 ms to the last event".
 *
 *   npm run build && node --import tsx bench/resume.ts          # updates docs/benchmarks.md
 *   RESUME_REPS=5 node --import tsx bench/resume.ts              # quick run: stdout only
 *
 * Styx runs as `node dist/cli/main.js serve` on a temp data dir (its own process; the client
 * is this process). One user, one key, one golem; a "golem" socket of that user publishes
 * events (`{"type":"event",…,"id"}`, waiting for every ack, so all are stored).
 *   hot ring: a surface socket connects and notes its position of `user:{id}` from `welcome`,
 *     disconnects; the golem publishes 1,000 events; the surface reconnects (upgrade →
 *     `welcome`), sends `{"type":"resume","streams":{"user:…":{epoch, seq}}}` and the clock runs
 *     from that send to the receipt of the 1,000th missed event (every seq checked, in order).
 *     3 unmeasured rounds first, then RESUME_REPS (100) measured.
 *   warm tier: the server is stopped (SIGTERM) and started again on the same data dir and
 *     port. Nothing is published afterwards, so the stream has no hot ring and the same
 *     1,000 events (the last hot round's) are read from SQLite. The first resume after the
 *     restart (a fresh process) is reported apart; then RESUME_REPS more from the same position.
 *   baseline: a forked bare `ws` server that answers `resume` with a `resumed` frame and then
 *     the same 1,000 frame texts Styx sent (kept in memory), one `ws.send` each: the floor of
 *     pushing those bytes through one socket on this machine.
 */
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";
import { int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import {
  createGolems,
  createUser,
  FABRIC_SECTION,
  forkChild,
  freePort,
  type StyxProcess,
  serveParent,
  startStyx,
  tempDataDir,
} from "./lib/fabric.js";

const MISSED = 1_000;
const REPS = Number(process.env.RESUME_REPS ?? 100);
const WARMUP_REPS = 3;
const FULL = REPS === 100;
const PUBLISH_WINDOW = 200;
const GOAL_MS = 50;
const FILE = fileURLToPath(import.meta.url);
const log = (m: string) => console.error(m);

// biome-ignore lint/suspicious/noExplicitAny: frames are read as arbitrary JSON
type Frame = any;

/** A socket that keeps every parsed frame and lets the caller wait for one. */
class Sock {
  readonly ws: WebSocket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  #wake: (() => void) | undefined;
  /** Called for each frame as it arrives (before it is stored). */
  onFrame: ((f: Frame, now: number) => void) | undefined;

  constructor(url: string, token: string | undefined) {
    this.ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, perMessageDeflate: false });
    this.closed = new Promise((r) => this.ws.once("close", (code) => r(code)));
    this.ws.on("message", (data: Buffer) => {
      const now = performance.now();
      const f = JSON.parse(data.toString());
      this.onFrame?.(f, now);
      this.frames.push(f);
      this.#wake?.();
    });
    this.ws.on("close", () => this.#wake?.());
    this.ws.on("error", () => {});
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve();
      this.ws.once("open", () => resolve());
      this.ws.once("error", reject);
    });
  }

  async next(pred: (f: Frame) => boolean, timeoutMs = 10_000): Promise<Frame> {
    const t = performance.now();
    for (;;) {
      const f = this.frames.find(pred);
      if (f) return f;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed; last frame ${JSON.stringify(this.frames.at(-1))}`);
      if (performance.now() - t > timeoutMs) throw new Error(`timed out; last frame ${JSON.stringify(this.frames.at(-1))}`);
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  async close(): Promise<number> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.closed;
  }
}

/** One measured resume. */
interface Sample {
  /** Upgrade request → `welcome`. */
  readonly welcomeMs: number;
  /** `resume` sent → `resumed` received. */
  readonly resumedMs: number;
  /** `resume` sent → the last missed event received. */
  readonly lastMs: number;
  readonly events: number;
  readonly inOrder: boolean;
  readonly recovered: boolean;
}

/** Reconnects as a surface and resumes `stream` from `since`; expects events since.seq+1 … since.seq+MISSED. */
async function resumeOnce(
  url: string,
  token: string | undefined,
  stream: string,
  since: { epoch: string; seq: number },
  keep?: string[],
): Promise<Sample> {
  const t0 = performance.now();
  const s = new Sock(url, token);
  if (token) await s.next((f) => f.type === "welcome");
  else await s.opened();
  const welcomeMs = performance.now() - t0;
  const target = since.seq + MISSED;
  let expect = since.seq + 1;
  let inOrder = true;
  let events = 0;
  let resumedAt = Number.NaN;
  let lastAt = Number.NaN;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  s.onFrame = (f, now) => {
    if (f.type === "resumed") resumedAt = now;
    if (f.stream !== stream || f.seq === undefined) return;
    events++;
    if (f.seq !== expect) inOrder = false;
    expect = f.seq + 1;
    if (f.seq === target) {
      lastAt = now;
      done();
    }
  };
  if (keep) {
    s.ws.on("message", (d: Buffer) => {
      if (d[2] === 0x73) keep.push(d.toString());
    });
  }
  const sentAt = performance.now();
  s.send({ type: "resume", streams: { [stream]: since } });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  const resumed = s.frames.find((f) => f.type === "resumed");
  await s.close();
  return {
    welcomeMs,
    resumedMs: resumedAt - sentAt,
    lastMs: lastAt - sentAt,
    events,
    inOrder: inOrder && events === MISSED,
    recovered: resumed?.streams?.[stream]?.recovered === true,
  };
}

/** Publishes MISSED golem events from `golem` (at most PUBLISH_WINDOW unacknowledged) and waits for every ack. */
async function publish(golem: Sock, golemId: string, round: number): Promise<void> {
  let acked = 0;
  let sent = 0;
  const from = golem.frames.length;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`publish timed out (${acked} acks)`)), 30_000);
    const sendOne = () => {
      const i = sent++;
      golem.send(
        `{"type":"event","golem_id":"${golemId}","id":"r${round}-${i}","event":{"type":"golem:tick","tick":${i},"phase":"explore","vitality":0.73,"round":${round}}}`,
      );
    };
    golem.onFrame = (f) => {
      if (f.type === "error") reject(new Error(JSON.stringify(f)));
      if (f.type !== "ack") return;
      if (++acked === MISSED) {
        clearTimeout(timer);
        golem.onFrame = undefined;
        resolve();
      } else if (sent < MISSED) sendOne();
    };
    while (sent < Math.min(PUBLISH_WINDOW, MISSED)) sendOne();
  });
  golem.frames.splice(from); // keep memory flat
}

// ── the baseline server (child) ─────────────────────────────────────────────────────────────

async function baselineServer(msg: { frames: string[] }): Promise<{ port: number }> {
  const frames = msg.frames.map((f) => Buffer.from(f));
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  await new Promise((r) => wss.once("listening", r));
  wss.on("connection", (ws) => {
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type !== "resume") return;
      const [stream, pos] = Object.entries(m.streams as Record<string, { epoch: string; seq: number }>)[0] ?? [];
      ws.send(JSON.stringify({ type: "resumed", streams: { [stream as string]: { recovered: true, ...pos } } }));
      for (const f of frames) ws.send(f, { binary: false });
    });
  });
  const a = wss.address();
  return { port: typeof a === "object" && a ? a.port : 0 };
}

// ── the orchestrator ────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const data = tempDataDir("styx-resume-");
  const port = await freePort();
  let styx: StyxProcess = await startStyx({ dataDir: data.dir, port });
  const user = await createUser(styx.url, "resume-user");
  const golemId = (await createGolems(styx.url, user.key, 1))[0] as string;
  const stream = `user:${user.id}`;
  const golem = new Sock(styx.wsUrl, user.key);
  await golem.next((f) => f.type === "welcome");

  log(`resume: hot ring: ${WARMUP_REPS} + ${REPS} rounds of disconnect, ${MISSED} events, reconnect + resume…`);
  const hot: Sample[] = [];
  let since = { epoch: "", seq: 0 };
  const captured: string[] = [];
  for (let r = 0; r < WARMUP_REPS + REPS; r++) {
    const surface = new Sock(styx.wsUrl, user.key);
    const welcome = await surface.next((f) => f.type === "welcome");
    since = welcome.streams[stream];
    await surface.close();
    await publish(golem, golemId, r);
    const last = r === WARMUP_REPS + REPS - 1;
    const s = await resumeOnce(styx.wsUrl, user.key, stream, since, last ? captured : undefined);
    if (r >= WARMUP_REPS) hot.push(s);
  }
  log(
    `  p50 ${ms(
      pct(
        hot.map((s) => s.lastMs),
        0.5,
      ),
    )} ms, p99 ${ms(
      pct(
        hot.map((s) => s.lastMs),
        0.99,
      ),
    )} ms`,
  );
  await golem.close();

  log("resume: warm tier: restarting the server on the same data dir…");
  const firstOut = styx.output();
  const r0 = performance.now();
  await styx.stop();
  styx = await startStyx({ dataDir: data.dir, port });
  const restartS = (performance.now() - r0) / 1000;
  const firstWarm = await resumeOnce(styx.wsUrl, user.key, stream, since);
  const warm: Sample[] = [];
  for (let r = 0; r < REPS; r++) warm.push(await resumeOnce(styx.wsUrl, user.key, stream, since));
  log(
    `  first ${ms(firstWarm.lastMs)} ms; then p50 ${ms(
      pct(
        warm.map((s) => s.lastMs),
        0.5,
      ),
    )} ms`,
  );
  const secondOut = styx.output();
  await styx.stop();
  data.remove();

  log("resume: baseline…");
  const b = forkChild(FILE);
  const { port: bport } = await b.request<{ port: number }>({ op: "baseline", frames: captured });
  const base: Sample[] = [];
  for (let r = 0; r < WARMUP_REPS + REPS; r++) {
    const s = await resumeOnce(`ws://127.0.0.1:${bport}`, undefined, stream, since);
    if (r >= WARMUP_REPS) base.push(s);
  }
  b.end();

  report({ hot, firstWarm, warm, base, restartS, frameBytes: captured[0]?.length ?? 0, outputs: [firstOut, secondOut] });
}

function report(r: {
  hot: Sample[];
  firstWarm: Sample;
  warm: Sample[];
  base: Sample[];
  restartS: number;
  frameBytes: number;
  outputs: string[];
}): void {
  const row = (name: string, xs: Sample[], goal: boolean) => {
    const last = xs.map((s) => s.lastMs);
    const p99 = pct(last, 0.99);
    const ok = xs.every((s) => s.inOrder && s.recovered);
    return [
      name,
      String(xs.length),
      ms(pct(last, 0.5)),
      ms(p99),
      ms(pct(last, 1)),
      ms(
        pct(
          xs.map((s) => s.resumedMs),
          0.5,
        ),
      ),
      ms(
        pct(
          xs.map((s) => s.welcomeMs),
          0.5,
        ),
      ),
      ok ? `yes (${int(MISSED)} each)` : `NO: ${xs.map((s) => `${s.events}${s.inOrder ? "" : "!"}${s.recovered ? "" : "?"}`).join(" ")}`,
      goal ? (p99 < GOAL_MS ? "met" : `missed by ${ms(p99 - GOAL_MS)} ms`) : "",
    ];
  };
  const tbl = table(
    [
      "Served from",
      "Resumes",
      "resume → last event p50 (ms)",
      "p99 (ms)",
      "max (ms)",
      "resume → `resumed` p50 (ms)",
      "reconnect → `welcome` p50 (ms)",
      "All events, in order, recovered: true",
      "SPEC goal (< 50 ms)",
    ],
    [
      row("baseline: bare `ws` server sending the same 1,000 frames from memory", r.base, false),
      row("Styx, hot ring (memory)", r.hot, true),
      row("Styx, warm tier (SQLite), first resume after a restart", [r.firstWarm], true),
      row("Styx, warm tier (SQLite), later resumes", r.warm, true),
    ],
  );
  const logs = r.outputs.map((o) => o.trim()).filter(Boolean);
  const body = [
    "Command: `npm run build && node --import tsx bench/resume.ts`",
    "",
    machine(),
    "",
    "Styx: `node dist/cli/main.js serve --host 127.0.0.1` on a temp data dir (SQLite, WAL), its own process, STYX_LOG_LEVEL=silent, " +
      "rate limits 1000000/s:1000000; the client is the bench process. One user, one key, one golem. " +
      `**Hot ring**: per round, a surface socket connects, keeps the position of \`user:{id}\` from its \`welcome\` and disconnects; a golem socket ` +
      `of the same user publishes ${int(MISSED)} \`golem:tick\` events (each acked, so stored); the surface reconnects and sends ` +
      '`{"type":"resume","streams":{"user:…":{epoch, seq}}}`; the time runs from that send to the receipt of the ' +
      `${int(MISSED)}th missed event (every seq checked, in order). ${WARMUP_REPS} unmeasured rounds, then ${r.hot.length} measured. ` +
      `**Warm tier**: the server is then stopped (SIGTERM) and started again on the same data dir (${ms(r.restartS, 1)} s); nothing is ` +
      "published afterwards, so the stream has no hot ring and the last round's 1,000 events are read from SQLite. The first resume after " +
      `the restart (a fresh process: cold JIT and SQLite cache) is shown apart; then ${r.warm.length} more from the same position. ` +
      `**Baseline**: a forked bare \`ws\` server answers \`resume\` with a \`resumed\` frame and then sends the same 1,000 frame texts Styx sent ` +
      `(${int(r.frameBytes)} bytes each, kept in memory), one \`ws.send\` each; ${WARMUP_REPS} unmeasured, then ${r.base.length} measured. ` +
      "Cold archives (blob tier, after 10,000 newer events) are not measured here.",
    "",
    tbl,
    ...(logs.length ? ["", "Server output:", "", "```", ...logs.map((l) => l.slice(0, 2000)), "```"] : []),
  ].join("\n");
  publishReport("Resume (bench/resume.ts)", body, { full: FULL, overrides: "RESUME_REPS", section: FABRIC_SECTION });
}

if (process.argv.includes("--child")) {
  serveParent(async (msg) => {
    if (msg.op === "baseline") return baselineServer(msg);
    throw new Error(`unknown op ${msg.op}`);
  });
} else {
  await main();
}
