/**
 * What one authenticated socket costs the server: a measuring tool for A/B across builds, not a
 * benchmark (no latency, nothing written to docs/benchmarks.md).
 *
 *   nice -n 19 node --import tsx bench/lib/socket-memory.ts [cli.js …]   # default: this tree's dist/cli/main.js
 *   SOCKMEM_SOCKETS=2000 SOCKMEM_WARM=100 SOCKMEM_RUNS=2 SOCKMEM_TOP=25 SOCKMEM_DEPTH=3 SOCKMEM_SNAPSHOT=0|1 SOCKMEM_HEARTBEAT=0|1
 *
 * For each build (each `cli.js`, SOCKMEM_RUNS times, builds alternating): `serve --amnesia` with
 * the environment of bench/connections.ts (SERVER_ENV) and `--inspect` on a free port; a user per
 * 1,000 sockets with one read+write key, a golem per socket. WARM sockets first, each as
 * bench/connections.ts opens them (authenticated at upgrade, welcomed, one heartbeat acked), so
 * code is compiled and shared indexes exist; a measure; N more sockets; a measure. A measure is
 * taken after two full GCs: VmRSS and `process.memoryUsage()` (through the inspector), then a
 * heap snapshot (unless SOCKMEM_SNAPSHOT=0: taking one grows RSS, so RSS is only worth reading
 * without). Printed per socket ((second − first) / N): the totals; self sizes by node type and
 * name (a closure by its function and source line); and the objects created between the two
 * measures by retainer path (each one's first strong retainer, up to SOCKMEM_DEPTH levels).
 */
import WebSocket from "ws";
import { createGolems, createUser, freePort, procRss, type StyxProcess, startStyx } from "./fabric.js";

const N = Number(process.env.SOCKMEM_SOCKETS ?? 2000);
const WARM = Number(process.env.SOCKMEM_WARM ?? 100);
const RUNS = Number(process.env.SOCKMEM_RUNS ?? 1);
const TOP = Number(process.env.SOCKMEM_TOP ?? 25);
const PER_USER = 1000;
const CONCURRENCY = 50;
const DEPTH = Number(process.env.SOCKMEM_DEPTH ?? 3);
const HEARTBEAT = process.env.SOCKMEM_HEARTBEAT !== "0";

interface Tally {
  count: number;
  size: number;
}

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

interface Snapshot {
  /** Node self sizes by "type name". */
  byName: Map<string, Tally>;
  /** Self sizes of the nodes created since the previous snapshot, by retainer path. */
  byPath: Map<string, Tally>;
  /** Sum of every node's self size. */
  total: number;
  /** The highest node id (nodes created later have higher ids). */
  maxId: number;
}

const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

/** One Chrome DevTools Protocol session on the server's inspector. */
class Inspector {
  readonly #ws: WebSocket;
  #next = 1;
  readonly #waiting = new Map<number, (r: { result?: unknown; error?: unknown }) => void>();
  #chunks: string[] = [];
  /** Script id → url (Debugger.scriptParsed), to name closures by their source. */
  readonly scripts = new Map<string, string>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("message", (data: Buffer) => {
      const m = JSON.parse(data.toString());
      if (m.method === "HeapProfiler.addHeapSnapshotChunk") this.#chunks.push(m.params.chunk);
      else if (m.method === "Debugger.scriptParsed") this.scripts.set(m.params.scriptId, m.params.url);
      else if (m.id !== undefined) this.#waiting.get(m.id)?.(m);
    });
  }

  static async open(port: number): Promise<Inspector> {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { webSocketDebuggerUrl: string }[];
    const ws = new WebSocket(list[0]?.webSocketDebuggerUrl as string, { maxPayload: 2 ** 30 });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    return new Inspector(ws);
  }

  call<T>(method: string, params: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, (m) => {
        this.#waiting.delete(id);
        if (m.error) reject(new Error(`${method}: ${JSON.stringify(m.error)}`));
        else resolve(m.result as T);
      });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  async snapshot(): Promise<string> {
    this.#chunks = [];
    await this.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false, captureNumericValue: false });
    const s = this.#chunks.join("");
    this.#chunks = [];
    return s;
  }

  close(): void {
    this.#ws.close();
  }
}

/**
 * Self sizes of a heap snapshot summed by node type and name; and for the nodes created after
 * node id `since` (the objects of the sockets opened since the first snapshot), by their
 * retainer path (each node's first strong retainer, one created after `since` preferred, up to
 * DEPTH levels). Closures are named by their function and source line.
 */
function summarise(json: string, scripts: Map<string, string>, since: number): Snapshot {
  const snap = JSON.parse(json);
  const meta = snap.snapshot.meta;
  const fields: string[] = meta.node_fields;
  const types: string[] = meta.node_types[0];
  const efields: string[] = meta.edge_fields;
  const etypes: string[] = meta.edge_types[0];
  const nodes: number[] = snap.nodes;
  const edges: number[] = snap.edges;
  const strings: string[] = snap.strings;
  const width = fields.length;
  const ewidth = efields.length;
  const [iType, iName, iId, iSize, iEdges] = ["type", "name", "id", "self_size", "edge_count"].map((f) => fields.indexOf(f)) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const [eType, eName, eTo] = ["type", "name_or_index", "to_node"].map((f) => efields.indexOf(f)) as [number, number, number];
  const where = new Map<number, string>();
  const lw = (meta.location_fields ?? []).length;
  const locs: number[] = snap.locations ?? [];
  for (let i = 0; i < locs.length; i += lw) {
    const file = (scripts.get(String(locs[i + 1])) ?? `#${locs[i + 1]}`).replace(/^.*\/(dist|node_modules)\//, "$1/");
    where.set(locs[i] as number, `${file}:${(locs[i + 2] as number) + 1}`);
  }
  const label = (n: number): string => {
    const type = types[nodes[n + iType] as number] as string;
    let name = strings[nodes[n + iName] as number] as string;
    // Strings and numbers by their type only: their text is data, not a kind.
    if (type === "string" || type === "concatenated string" || type === "sliced string" || type === "number") name = "";
    else if (name.length > 50) name = `${name.slice(0, 47)}…`;
    if (type === "closure") name = `${name || "(anon)"} ${where.get(n) ?? ""}`;
    return `${type} ${name.replace(/^\(Global handles\)|\d+ \/ /, "")}`.trim();
  };
  // Ids of heap objects grow with their creation; native and synthetic nodes (the embedder's graph) have ids of their own.
  const native = new Set(["native", "synthetic"].map((t) => types.indexOf(t)));
  const fresh = (n: number) => (nodes[n + iId] as number) > since && !native.has(nodes[n + iType] as number);
  // Each node's first strong retainer (weak and shortcut edges left out), one created after `since` preferred.
  const parent = new Map<number, { from: number; edge: string }>();
  for (let n = 0, e = 0; n < nodes.length; n += width) {
    const count = nodes[n + iEdges] as number;
    for (let k = 0; k < count; k++, e += ewidth) {
      const to = edges[e + eTo] as number;
      const et = etypes[edges[e + eType] as number];
      if (et === "weak" || et === "shortcut" || !fresh(to)) continue;
      const had = parent.get(to);
      if (had && (fresh(had.from) || !fresh(n))) continue;
      // Indexes and numbered handles by their kind only.
      const edge = et === "element" || et === "hidden" ? `[${et}]` : String(strings[edges[e + eName] as number]).replace(/\d+/g, "#");
      parent.set(to, { from: n, edge });
    }
  }
  const byName = new Map<string, Tally>();
  const byPath = new Map<string, Tally>();
  let total = 0;
  let maxId = 0;
  for (let n = 0; n < nodes.length; n += width) {
    const size = nodes[n + iSize] as number;
    tally(byName, label(n), size);
    total += size;
    if (!native.has(nodes[n + iType] as number)) maxId = Math.max(maxId, nodes[n + iId] as number);
    if (!fresh(n)) continue;
    let path = label(n);
    for (let d = 0, at = n; d < DEPTH; d++) {
      const p = parent.get(at);
      if (!p) break;
      path += `  ←.${p.edge}  ${label(p.from)}`;
      at = p.from;
    }
    tally(byPath, path, size);
  }
  return { byName, byPath, total, maxId };
}

function tally(m: Map<string, Tally>, key: string, size: number): void {
  const e = m.get(key);
  if (e) {
    e.count++;
    e.size += size;
  } else m.set(key, { count: 1, size });
}

/**
 * One socket as bench/connections.ts opens it: authenticated at upgrade, welcomed, then (unless
 * SOCKMEM_HEARTBEAT=0, the bench's "connected" column) one heartbeat acked.
 */
function openOne(url: string, key: string, golemId: string, id: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${key}` }, perMessageDeflate: false });
    ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once("error", reject);
    ws.on("message", (data: Buffer) => {
      const f = JSON.parse(data.toString());
      if (f.type === "welcome" && !HEARTBEAT) resolve(ws);
      else if (f.type === "welcome") {
        ws.send(
          `{"type":"heartbeat","golem_id":"${golemId}","phase":"explore","vitality":0.5,"pad":{"pleasure":0.1,"arousal":0.2,"dominance":0.3},"regime":"calm","tick":1000,"domains":["markets"],"id":${id}}`,
        );
      } else if (f.type === "ack" && f.id === id) resolve(ws);
      else reject(new Error(`unexpected frame: ${data.toString().slice(0, 300)}`));
    });
  });
}

async function openMany(url: string, socks: { key: string; golemId: string }[], from: number, to: number, out: WebSocket[]) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      const s = socks[i] as { key: string; golemId: string };
      out.push(await openOne(url, s.key, s.golemId, i + 1));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

/** After two full GCs: RSS and `process.memoryUsage()`, then (SOCKMEM_SNAPSHOT, default on) a heap snapshot. */
async function measure(insp: Inspector, pid: number, snapshot: boolean, since: number): Promise<Memory & Snapshot> {
  const usage = async () => {
    const r = await insp.call<{ result: { value: string } }>("Runtime.evaluate", {
      expression: "JSON.stringify(process.memoryUsage())",
      returnByValue: true,
    });
    return JSON.parse(r.result.value) as NodeJS.MemoryUsage;
  };
  await insp.call("HeapProfiler.collectGarbage");
  await insp.call("HeapProfiler.collectGarbage");
  const mu = await usage();
  const m = { rss: procRss(pid), heapUsed: mu.heapUsed, external: mu.external, arrayBuffers: mu.arrayBuffers };
  if (!snapshot) return { ...m, byName: new Map(), byPath: new Map(), total: 0, maxId: 0 };
  return { ...m, ...summarise(await insp.snapshot(), insp.scripts, since) };
}

interface Run {
  readonly cli: string;
  readonly per: Record<string, number>;
  readonly byName: [string, Tally][];
  readonly byPath: [string, Tally][];
}

/** Per socket: b − a divided by N, largest first. */
function perSocket(a: Map<string, Tally>, b: Map<string, Tally>): [string, Tally][] {
  const out: [string, Tally][] = [];
  for (const [k, v] of b) {
    const o = a.get(k) ?? { count: 0, size: 0 };
    out.push([k, { count: (v.count - o.count) / N, size: (v.size - o.size) / N }]);
  }
  for (const [k, v] of a) if (!b.has(k)) out.push([k, { count: -v.count / N, size: -v.size / N }]);
  return out.sort((x, y) => Math.abs(y[1].size) - Math.abs(x[1].size));
}

async function runOnce(cli: string): Promise<Run> {
  const snapshot = process.env.SOCKMEM_SNAPSHOT !== "0";
  const port = await freePort();
  process.env.BENCH_STYX_CLI = cli;
  process.env.BENCH_SERVER_NODE_ARGS = `--inspect=127.0.0.1:${port}`;
  const styx: StyxProcess = await startStyx({ dataDir: "amnesia" });
  const live: WebSocket[] = [];
  try {
    const total = WARM + N;
    const users = await Promise.all(Array.from({ length: Math.ceil(total / PER_USER) }, (_, u) => createUser(styx.url, `mem-u${u}`)));
    const golems = await Promise.all(users.map((u, k) => createGolems(styx.url, u.key, Math.min(PER_USER, total - k * PER_USER), 8)));
    const socks = Array.from({ length: total }, (_, i) => ({
      key: users[Math.floor(i / PER_USER)]?.key as string,
      golemId: golems[Math.floor(i / PER_USER)]?.[i % PER_USER] as string,
    }));
    const insp = await Inspector.open(port);
    if (snapshot) await insp.call("Debugger.enable");
    await openMany(styx.wsUrl, socks, 0, WARM, live);
    await sleep(500);
    const a = await measure(insp, styx.pid, snapshot, Number.POSITIVE_INFINITY);
    await openMany(styx.wsUrl, socks, WARM, total, live);
    await sleep(500);
    const b = await measure(insp, styx.pid, snapshot, a.maxId);
    insp.close();
    const per = (k: keyof Memory | "total") => (b[k] - a[k]) / N;
    return {
      cli,
      per: {
        rss: per("rss"),
        heapUsed: per("heapUsed"),
        snapshot: per("total"),
        external: per("external"),
        arrayBuffers: per("arrayBuffers"),
      },
      byName: perSocket(a.byName, b.byName),
      byPath: perSocket(new Map(), b.byPath),
    };
  } finally {
    for (const ws of live) ws.terminate();
    await styx.stop();
  }
}

const fmt = (x: number) => x.toFixed(0).padStart(6);
const summary = (p: Record<string, number>) =>
  Object.entries(p)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join("  ");

function print(run: Run): void {
  console.log(`\n== ${run.cli}: bytes per socket (${N} sockets after ${WARM} warm)\n${summary(run.per)}`);
  if (run.byName.length === 0) return;
  console.log("-- by node type and name");
  for (const [k, v] of run.byName.slice(0, TOP)) console.log(`  ${fmt(v.size)} B ${v.count.toFixed(2).padStart(6)} ×  ${k}`);
  console.log("-- objects created since the first snapshot, by retainer path");
  for (const [k, v] of run.byPath.slice(0, TOP)) console.log(`  ${fmt(v.size)} B ${v.count.toFixed(2).padStart(6)} ×  ${k}`);
}

const clis = process.argv.slice(2);
if (clis.length === 0) clis.push(new URL("../../dist/cli/main.js", import.meta.url).pathname);
const runs: Run[] = [];
for (let r = 0; r < RUNS; r++) for (const cli of clis) runs.push(await runOnce(cli));
for (const run of runs) print(run);
console.log("\nsummary, bytes per socket:");
for (const run of runs) console.log(`  ${summary(run.per)}  ${run.cli}`);
