/**
 * The socket part of bench/fairness.ts's flood, run in a forked child: `open` connects `sockets`
 * sockets of one user (its owner surfaces: each receives every event of the user's golems); `run`
 * has the first `senders` of them send `golem:tick` events for `golemId` at `rate` events/s in
 * total for `durationMs`, then closes them all, and answers with what was sent, received and refused.
 */
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { forkChild, type Json, serveParent } from "./fabric.js";

/** The sockets of a flood. */
export interface SocketFloodOpen {
  readonly op: "open";
  readonly wsUrl: string;
  readonly token: string;
  readonly sockets: number;
}

/** The flood itself, on the sockets opened last. */
export interface SocketFloodRun {
  readonly op: "run";
  readonly golemId: string;
  readonly senders: number;
  readonly rate: number;
  readonly durationMs: number;
}

/** What a flood did. */
export interface SocketFloodResult {
  readonly opened: number;
  readonly sent: number;
  readonly received: number;
  readonly errors: number;
  readonly closes: Record<string, number>;
}

/** Forks the flood client. */
export function socketFlood(): {
  readonly pid: number | undefined;
  open(job: Omit<SocketFloodOpen, "op">): Promise<void>;
  run(job: Omit<SocketFloodRun, "op">): Promise<SocketFloodResult>;
  end(): void;
} {
  const child = forkChild(fileURLToPath(import.meta.url));
  return {
    pid: child.proc.pid,
    open: (job) => child.request<void>({ op: "open", ...job }),
    run: (job) => child.request<SocketFloodResult>({ op: "run", ...job }),
    end: () => child.end(),
  };
}

let sockets: WebSocket[] = [];
let received = 0;
let errors = 0;
let closes: Record<string, number> = {};

async function openAll(job: SocketFloodOpen): Promise<unknown> {
  received = 0;
  errors = 0;
  closes = {};
  const open = () =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(job.wsUrl, { headers: { authorization: `Bearer ${job.token}` }, perMessageDeflate: false });
      ws.once("error", reject);
      ws.once("unexpected-response", (_q, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on("close", (code) => (closes[code] = (closes[code] ?? 0) + 1));
      ws.on("message", (data) => {
        const v: Json = JSON.parse(data.toString());
        for (const f of Array.isArray(v) ? v : [v]) {
          if (f.type === "welcome") resolve(ws);
          else if (f.type === "error") errors++;
          else if (f.type === "event" || f.channel === "golem:tick") received++;
        }
      });
    });
  sockets = [];
  for (let i = 0; i < job.sockets; i++) sockets.push(await open());
  return {};
}

async function flood(job: SocketFloodRun): Promise<SocketFloodResult> {
  const senders = sockets.slice(0, Math.max(1, job.senders));
  let sent = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = performance.now() - start;
      if (elapsed >= job.durationMs) {
        clearInterval(tick);
        resolve();
        return;
      }
      // Catch up to rate × elapsed: steady on average whatever the timer's jitter.
      const due = Math.floor((job.rate * elapsed) / 1000);
      for (; sent < due; sent++) {
        const ws = senders[sent % senders.length] as WebSocket;
        ws.send(JSON.stringify({ type: "event", golem_id: job.golemId, event: { type: "golem:tick", n: sent } }));
      }
    }, 10);
  });
  for (const ws of sockets) ws.close(1000);
  return { opened: sockets.length, sent, received, errors, closes };
}

if (process.argv.includes("--child"))
  serveParent((job: SocketFloodOpen | SocketFloodRun) => (job.op === "open" ? openAll(job) : flood(job)));
