/**
 * The socket client of bench/macro.ts, run in its forked child: per topology, one golem socket
 * (the sender) and the owner's surfaces (`connectEvents`), then runs of golem:tick events from
 * the sender (`runEvents`: a window of outstanding events, or a fixed rate), each event
 * outstanding until acked and delivered to every surface; latency from the sender's
 * `performance.now()` in the payload to receipt.
 */
import WebSocket from "ws";
import { cpuMs } from "./common.js";
import { type forkChild, type Json, serveParent } from "./fabric.js";

interface EventTarget {
  readonly sender: WebSocket;
  readonly surfaces: WebSocket[];
  readonly golemId: string;
  next: number;
  outOfOrder: number;
  readonly anomalies: string[];
  readonly errors: string[];
  readonly closes: Record<string, number>;
}

interface EventRun {
  readonly base: number;
  /** How many surfaces each event must reach to complete. */
  readonly surfaces: number;
  readonly counts: Uint8Array;
  readonly acked: Uint8Array;
  readonly sentAt: Float64Array;
  readonly lat: number[];
  readonly ackLat: number[];
  completed: number;
  onComplete(): void;
}

/** An event run's result. */
export interface EventResult {
  readonly sent: number;
  readonly completed: number;
  readonly elapsedMs: number;
  readonly delivered: number;
  readonly lat: number[];
  readonly ackLat: number[];
  readonly clientCpuMs: number;
  readonly outOfOrder: number;
  readonly anomalies: string[];
  readonly errors: string[];
  readonly closes: Record<string, number>;
}

/** Opens topology `key`'s sockets: the golem's sender and the owner's surfaces (WebSocket URLs), all with `token`. */
export interface ConnectRequest {
  readonly key: string;
  readonly sender: string;
  readonly surfaces: string[];
  readonly token: string;
  readonly golemId: string;
}

/** One run on topology `key`: `window` events outstanding at most, or `rate` events/s, for `durationMs`. */
export interface RunRequest {
  readonly key: string;
  readonly durationMs: number;
  readonly window?: number;
  readonly rate?: number;
}

/** The parent's handle on this client: bench/macro.ts forked with `--child`. */
export type SocketClient = ReturnType<typeof forkChild>;

const targets = new Map<string, EventTarget>();
let run: EventRun | undefined;

function openSocket(url: string, token: string, t: { errors: string[]; closes: Record<string, number> }, on: (f: Json) => void) {
  return new Promise<WebSocket>((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
    ws.once("error", reject);
    ws.once("unexpected-response", (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on("close", (code) => (t.closes[code] = (t.closes[code] ?? 0) + 1));
    ws.on("message", (data) => {
      const v = JSON.parse(data.toString());
      for (const f of Array.isArray(v) ? v : [v]) {
        if (f.type === "welcome") resolve(ws);
        else if (f.type === "error" && t.errors.length < 5) t.errors.push(JSON.stringify(f));
        else on(f);
      }
    });
  });
}

const complete = (r: EventRun, i: number) => {
  if (r.acked[i] === 1 && r.counts[i] === r.surfaces) {
    r.completed++;
    r.onComplete();
  }
};

async function connectEvents(msg: ConnectRequest) {
  const t = { errors: [] as string[], closes: {} as Record<string, number> };
  const surfaces: WebSocket[] = [];
  for (const url of msg.surfaces) {
    let expect = -1;
    let lastSeq = 0;
    let trail = 0;
    const ws = await openSocket(url, msg.token, t, (f) => {
      const n = f.payload?.n;
      if (f.channel !== "golem:tick" || typeof n !== "number") return;
      const now = performance.now();
      if (trail > 0 && trail-- > 0) target.anomalies.push(`  then ${n} (seq ${f.seq})`);
      if (expect !== -1 && n !== expect) {
        target.outOfOrder++;
        if (target.anomalies.length < 3) {
          target.anomalies.push(`expected ${expect} after seq ${lastSeq}, got ${n} (seq ${f.seq})`);
          trail = 2;
        }
      }
      lastSeq = f.seq;
      expect = n + 1;
      const r = run;
      const i = r ? n - r.base : -1;
      if (!r || i < 0 || i >= r.counts.length) return;
      r.lat.push(now - f.payload.t);
      r.counts[i] = (r.counts[i] as number) + 1;
      complete(r, i);
    });
    surfaces.push(ws);
  }
  const sender = await openSocket(msg.sender, msg.token, t, (f) => {
    const r = run;
    if (f.type !== "ack" || !r || typeof f.id !== "string") return;
    const i = Number(f.id.slice(1)) - r.base;
    if (i < 0 || i >= r.acked.length) return;
    r.acked[i] = 1;
    r.ackLat.push(performance.now() - (r.sentAt[i] as number));
    complete(r, i);
  });
  const target: EventTarget = { sender, surfaces, golemId: msg.golemId, next: 0, outOfOrder: 0, anomalies: [], ...t };
  targets.set(msg.key, target);
  return {};
}

/** Sends events for `durationMs` (window or rate), then waits up to 20 s for the last to complete. */
async function runEvents(msg: RunRequest): Promise<EventResult> {
  const t = targets.get(msg.key) as EventTarget;
  const cap = 400_000;
  const r: EventRun = {
    base: t.next,
    surfaces: t.surfaces.length,
    counts: new Uint8Array(cap),
    acked: new Uint8Array(cap),
    sentAt: new Float64Array(cap),
    lat: [],
    ackLat: [],
    completed: 0,
    onComplete: () => {},
  };
  let sent = 0;
  const send = () => {
    const n = r.base + sent;
    const now = performance.now();
    r.sentAt[sent++] = now;
    t.sender.send(
      `{"type":"event","id":"e${n}","golem_id":"${t.golemId}","event":{"type":"golem:tick","n":${n},"t":${now.toFixed(3)},"tick":${n},"phase":"explore","vitality":0.73}}`,
    );
  };
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let tEnd = t0;
  const stopAt = t0 + msg.durationMs;
  await new Promise<void>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => done(), msg.durationMs + 20_000);
    const done = () => {
      clearTimeout(timer);
      clearTimeout(deadline);
      resolve();
    };
    const sending = () => performance.now() < stopAt && sent < cap;
    r.onComplete = () => {
      tEnd = performance.now();
      if (msg.window !== undefined && sending()) send();
      else if (r.completed === sent && !sending()) done();
    };
    run = r;
    if (msg.window !== undefined) {
      while (sent < msg.window) send();
    } else {
      const every = 1000 / (msg.rate as number);
      const tick = () => {
        const due = Math.min(cap, Math.floor((performance.now() - t0) / every) + 1);
        while (sent < due && sending()) send();
        if (sending()) timer = setTimeout(tick, Math.max(0, t0 + sent * every - performance.now()));
        else if (r.completed === sent) done();
      };
      tick();
    }
  });
  run = undefined;
  t.next = r.base + sent;
  return {
    sent,
    completed: r.completed,
    elapsedMs: tEnd - t0,
    delivered: r.lat.length,
    lat: r.lat,
    ackLat: r.ackLat,
    clientCpuMs: cpuMs() - cpu0,
    outOfOrder: t.outOfOrder,
    anomalies: [...t.anomalies],
    errors: [...t.errors],
    closes: { ...t.closes },
  };
}

/** In the forked child: answers the parent's `{op: "connect", …ConnectRequest}` and `{op: "run", …RunRequest}`. */
export function serveSockets(): void {
  serveParent(async (msg) => {
    if (msg.op === "connect") return connectEvents(msg);
    if (msg.op === "run") return runEvents(msg);
    throw new Error(`unknown op ${msg.op}`);
  });
}
