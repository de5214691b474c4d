/**
 * A slow consumer next to healthy ones, SPEC §9: "Each connection has a bounded send queue (its
 * depth is a metric); a consumer that falls behind is closed with code 4008". What this measures
 * is the latency the healthy subscribers keep while a reader that stopped reading is on the same
 * stream, against the same subscribers without it. The bound once asserted by
 * test/integration/fabric-backpressure.test.ts ("healthy p99 beside the paused reader
 * < 2 × p99 alone + 25 ms") is judged here; the test keeps the correctness (4008, every event
 * in order to the others, queues bounded).
 *
 *   npm run build && node --import tsx bench/slow-consumer.ts     # updates docs/benchmarks.md
 *   SLOW_ROUNDS=1 node --import tsx bench/slow-consumer.ts         # quick run: stdout only
 *
 * Styx runs as `node dist/cli/main.js serve` on a temp data dir (SQLite, WAL), its own process,
 * STYX_WS_SEND_QUEUE=256 KiB. One user, one key, one golem; a golem socket publishes PHASE
 * (1,500) `golem:load` events of ~8 KiB (10 every 10 ms: ~1,000 events/s, ~8 MB/s to each
 * subscriber), each carrying the sender's `performance.now()`; HEALTHY (3) subscriber sockets of
 * the same user receive them in this process (same clock), and a phase ends when each has all.
 * After one warm-up phase, SLOW_ROUNDS (3) rounds of: a phase alone (the baseline), then a
 * phase with a fourth socket whose TCP reads are paused (`socket.pause()`: the kernel buffers
 * fill, then the server's queue for it). After each such phase the paused socket reads again
 * and its close code is checked (4008 expected).
 */
import type { Socket } from "node:net";
import { loadavg } from "node:os";
import WebSocket from "ws";
import { int, machine, ms, pct, publishReport, table } from "./lib/common.js";
import { createGolems, createUser, FABRIC_SECTION, mib, procCpuMs, procRss, startStyx, tempDataDir } from "./lib/fabric.js";

const ROUNDS = Number(process.env.SLOW_ROUNDS ?? 3);
const FULL = ROUNDS === 3;
const PHASE = 1_500;
const HEALTHY = 3;
const QUEUE_BYTES = 256 * 1024;
const PAD = "x".repeat(8192);
const log = (m: string) => console.error(m);

/** A subscriber socket: records each `golem:load` event's latency and whether n arrived in order. */
class Sub {
  readonly ws: WebSocket;
  readonly closed: Promise<number>;
  lat: number[] = [];
  lastN = 0;
  outOfOrder = 0;
  received = 0;
  welcome: Promise<void>;

  constructor(url: string, key: string) {
    this.ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
    this.closed = new Promise((r) => this.ws.once("close", (code) => r(code)));
    this.ws.on("error", () => {});
    this.welcome = new Promise((resolve) => {
      this.ws.on("message", (data: Buffer) => {
        const now = performance.now();
        const v = JSON.parse(data.toString());
        for (const f of Array.isArray(v) ? v : [v]) {
          if (f.type === "welcome") resolve();
          if (f.channel !== "golem:load") continue;
          this.lat.push(now - f.payload.t);
          this.received++;
          if (f.payload.n !== this.lastN + 1) this.outOfOrder++;
          this.lastN = f.payload.n;
        }
      });
    });
  }

  get tcp(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }
}

const data = tempDataDir("styx-bench-slow-");
const server = await startStyx({ dataDir: data.dir, env: { STYX_WS_SEND_QUEUE: `${QUEUE_BYTES}b` } });
const metric = async (name: string) => {
  const text = await fetch(`${server.url}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.slice(name.length + 1) ?? 0);
};
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
try {
  const user = await createUser(server.url, "slow");
  const [golemId] = await createGolems(server.url, user.key, 1);
  const golem = new Sub(server.wsUrl, user.key);
  const healthy = Array.from({ length: HEALTHY }, () => new Sub(server.wsUrl, user.key));
  await Promise.all([golem, ...healthy].map((s) => s.welcome));
  let sent = 0;

  /** PHASE events, 10 every 10 ms; resolves when every healthy socket has them all. */
  const phase = async () => {
    for (const h of healthy) h.lat = [];
    const rss0 = procRss(server.pid);
    const cpu0 = procCpuMs(server.pid);
    const t0 = performance.now();
    let rssPeak = rss0;
    let queuePeak = 0;
    for (let i = 0; i < PHASE; i += 10) {
      for (let j = 0; j < 10; j++) {
        golem.ws.send(
          JSON.stringify({ type: "event", golem_id: golemId, event: { type: "golem:load", n: ++sent, t: performance.now(), pad: PAD } }),
        );
      }
      await sleep(10);
      if (i % 50 === 0) {
        rssPeak = Math.max(rssPeak, procRss(server.pid));
        queuePeak = Math.max(queuePeak, await metric("styx_ws_send_queue_max_bytes"));
      }
    }
    const deadline = performance.now() + 60_000;
    while (healthy.some((h) => h.lastN < sent)) {
      if (performance.now() > deadline) throw new Error(`healthy sockets stuck at ${healthy.map((h) => h.lastN)} of ${sent}`);
      await sleep(5);
    }
    const wallMs = performance.now() - t0;
    rssPeak = Math.max(rssPeak, procRss(server.pid));
    return {
      lat: healthy.flatMap((h) => h.lat),
      grewMiB: (rssPeak - rss0) / 1024 / 1024,
      queuePeak,
      cpu: (procCpuMs(server.pid) - cpu0) / wallMs,
      wallMs,
    };
  };

  log("slow consumer: warm-up phase…");
  await phase();
  const alone: Awaited<ReturnType<typeof phase>>[] = [];
  const beside: (Awaited<ReturnType<typeof phase>> & { code: number; gotBeforeDrop: number; pausedInOrder: boolean })[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    log(`slow consumer: round ${r + 1}, alone…`);
    alone.push(await phase());
    log(`slow consumer: round ${r + 1}, beside a paused reader…`);
    const paused = new Sub(server.wsUrl, user.key);
    await paused.welcome;
    paused.lastN = sent;
    paused.tcp.pause();
    const p = await phase();
    paused.tcp.resume();
    const code = await Promise.race([paused.closed, sleep(10_000).then(() => -1)]);
    beside.push({ ...p, code, gotBeforeDrop: paused.received, pausedInOrder: paused.outOfOrder === 0 });
    await sleep(200);
  }
  const dropped = await metric('styx_ws_dropped_total{reason="slow_consumer"}');
  const open = await metric("styx_ws_connections");

  const all = (xs: { lat: number[] }[]) => xs.flatMap((x) => x.lat);
  const p99s = (xs: { lat: number[] }[]) => xs.map((x) => ms(pct(x.lat, 0.99), 1)).join(" / ");
  const a99 = pct(all(alone), 0.99);
  const b99 = pct(all(beside), 0.99);
  const bound = 2 * a99 + 25;
  const rows = [
    [
      `baseline: ${HEALTHY} healthy subscribers alone`,
      int(alone.length),
      int(all(alone).length),
      ms(pct(all(alone), 0.5), 2),
      ms(pct(all(alone), 0.9), 2),
      ms(a99, 2),
      p99s(alone),
      ms(Math.max(...all(alone)), 1),
      `${ms(Math.max(...alone.map((x) => x.queuePeak)) / 1024, 0)} KiB`,
      alone.map((x) => `+${x.grewMiB.toFixed(1)}`).join(" / "),
      `${ms(Math.max(...alone.map((x) => x.cpu)) * 100, 0)} %`,
      "",
    ],
    [
      `${HEALTHY} healthy subscribers beside a paused reader`,
      int(beside.length),
      int(all(beside).length),
      ms(pct(all(beside), 0.5), 2),
      ms(pct(all(beside), 0.9), 2),
      ms(b99, 2),
      p99s(beside),
      ms(Math.max(...all(beside)), 1),
      `${ms(Math.max(...beside.map((x) => x.queuePeak)) / 1024, 0)} KiB`,
      beside.map((x) => `+${x.grewMiB.toFixed(1)}`).join(" / "),
      `${ms(Math.max(...beside.map((x) => x.cpu)) * 100, 0)} %`,
      b99 < bound ? `met (${ms(b99, 1)} < ${ms(bound, 1)} ms)` : `missed (${ms(b99, 1)} ≥ ${ms(bound, 1)} ms)`,
    ],
  ];
  const out = [
    "Command: `npm run build && node --import tsx bench/slow-consumer.ts`",
    "",
    `${machine()} 1-min load average at the end: ${loadavg()[0]?.toFixed(2)}.`,
    "",
    `Styx: \`node dist/cli/main.js serve --host 127.0.0.1\` on a temp data dir (SQLite, WAL), its own process, STYX_LOG_LEVEL=silent, rate limits out of the way, STYX_WS_SEND_QUEUE=${QUEUE_BYTES / 1024} KiB. One user, one key, one golem. A golem socket publishes ${int(PHASE)} \`golem:load\` events per phase (${int(PAD.length / 1024)} KiB of padding each, 10 every 10 ms: ~1,000 events/s, ~8 MB/s to each subscriber), each carrying the sender's \`performance.now()\`; ${HEALTHY} subscriber sockets of the same user receive them in the bench process (same clock: latency = send → receipt, every event of every healthy socket counted); a phase ends when each has all. After a warm-up phase, ${ROUNDS} rounds of: a phase alone (the baseline, same server, same run), then a phase beside a fourth socket whose TCP reads are paused (\`socket.pause()\`, so the kernel buffers fill and then its server-side queue). Queue: the deepest \`styx_ws_send_queue_max_bytes\` sampled every 50 events. RSS: server VmRSS peak during the phase minus at its start. Criterion: the bound the slow-consumer test used to assert, healthy p99 beside the paused reader < 2 × p99 alone + 25 ms (SPEC §14 sets no number for this).`,
    "",
    table(
      [
        "Healthy subscribers",
        "Phases",
        "Deliveries",
        "p50 (ms)",
        "p90 (ms)",
        "p99 (ms)",
        "p99 per phase (ms)",
        "max (ms)",
        "Deepest send queue",
        "Server RSS per phase (MiB)",
        "Server CPU (busiest phase)",
        "Criterion (p99 < 2 × alone + 25 ms)",
      ],
      rows,
    ),
    "",
    `- Paused readers: close codes ${beside.map((x) => x.code).join(", ")} (4008 expected) once they read again; events each had received before it was dropped: ${beside.map((x) => int(x.gotBeforeDrop)).join(", ")} of ${int(PHASE)}, in order: ${beside.every((x) => x.pausedInOrder) ? "yes" : "no"}. \`styx_ws_dropped_total{reason="slow_consumer"}\` ${dropped}; sockets open at the end ${open} (the golem and the ${HEALTHY} healthy ones).`,
    `- Healthy sockets: ${int(healthy[0]?.lastN ?? 0)} events each, all received, out-of-order receipts ${healthy.reduce((a, h) => a + h.outOfOrder, 0)}; server RSS at the end ${mib(procRss(server.pid))} MiB.`,
  ].join("\n");
  publishReport("Slow consumer (bench/slow-consumer.ts)", out, { full: FULL, overrides: "SLOW_ROUNDS", section: FABRIC_SECTION });
  for (const s of [golem, ...healthy]) s.ws.close();
} finally {
  await server.stop();
  data.remove();
}
