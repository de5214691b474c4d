/**
 * What one request pays before and around its work, counted (not timed): store calls and Redis
 * commands per operation on a micronode and on a macronode gateway.
 *
 *   npm run build && node --import tsx bench/admission.ts          # stdout: one table per profile
 *   ADMISSION_N=100 node --import tsx bench/admission.ts
 *
 * Each profile is one `styx serve` child with tracing on, exporting OTLP/HTTP JSON to a receiver in
 * this process. The macronode gateway uses the machine's PostgreSQL and NATS, an in-process S3
 * server and a private `redis-server` started here on a free port, so INFO commandstats counts
 * only this gateway's commands. After a warm-up (caches filled), each operation runs N times
 * (ADMISSION_N, 200), ADMISSION_CONCURRENCY (8) at a time, each request with its own sampled `traceparent`:
 *   GET /v1/styx/me with an API key, and with a golem's wallet session;
 *   POST /v1/styx/entries (text only, vault) and POST /v1/styx/pheromone/deposit with an owner key;
 *   golem `event` messages on one socket (golem:tick; acked).
 * Store calls per operation: the spans `<Port>.<method>` (IdentityStore, EntryStore, QuotaStore,
 * PheromoneStore, …) of the operation's traces, by name. Redis commands per operation: the delta
 * of INFO commandstats (Lua scripts' inner calls included) around the N operations, divided by N.
 * Rate limits: STYX_RATE_LIMIT / STYX_IP_RATE_LIMIT as ADMISSION_RATE (default 5000/s:10000, so
 * nothing is refused); the macronode runs once per STYX_LIMIT_LEASE in ADMISSION_LEASES (default
 * `0ms,100ms`: leasing off, then on). The spans are exported after each server stops.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../src/testing/otlp-receiver.js";
import { type S3Server, startS3Server } from "../src/testing/s3-server.js";
import { dropClusters, macroEnv, newCluster } from "../src/testing/services.js";
import { signedChallenge, walletSession } from "../src/testing/signatures.js";
import { type SpawnedServer, spawnServer } from "../src/testing/spawn.js";
import { CHILD_PATH } from "../src/testing/test-env.js";
import { TestSocket } from "../src/testing/test-socket.js";

const N = Number(process.env.ADMISSION_N ?? 200);
/** Requests in flight during the measured ones (one keep-alive connection each). */
const CONCURRENCY = Number(process.env.ADMISSION_CONCURRENCY ?? 8);
const WARMUP = 10;
const RATE = process.env.ADMISSION_RATE ?? "5000/s:10000";
/** The macronode runs once per STYX_LIMIT_LEASE value (`0ms`: every take asks Redis, as before leasing). */
const LEASES = (process.env.ADMISSION_LEASES ?? "0ms,100ms").split(",");
const ADMIN = "admission-admin-token-0123456789";
const log = (m: string) => console.error(m);

/** One measured operation: its name and how to run it once (`trace`: the request's trace id). */
interface Op {
  readonly name: string;
  run(trace: string): Promise<void>;
}

/** What one operation costs: spans by name per operation, Redis commands per operation. */
interface Cost {
  readonly spans: Map<string, number>;
  readonly redis: Map<string, number>;
}

let traceN = 0;
const newTrace = () => `b${(++traceN).toString(16).padStart(31, "0")}`;
const parent = (trace: string) => `00-${trace}-eee19b7ec3c1b174-01`;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A private redis-server on a free port, nothing kept on disk. */
async function privateRedis(): Promise<{ url: string; client: Redis; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await client.connect();
      await client.ping();
      return { url, client, proc };
    } catch (err) {
      client.disconnect();
      if (i > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function commandStats(redis: Redis | undefined): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (!redis) return out;
  for (const m of (await redis.info("commandstats")).matchAll(/cmdstat_([\w|]+):calls=(\d+)/g)) out.set(m[1] as string, Number(m[2]));
  return out;
}

function request(url: string, method: string, path: string, token: string | undefined, body?: unknown, trace?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  if (trace) headers.traceparent = parent(trace);
  return fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

async function ok(res: Promise<Response>, expect: number): Promise<{ [k: string]: unknown }> {
  const r = await res;
  const text = await r.text();
  if (r.status !== expect) throw new Error(`${r.url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A user, an owner key, a golem with a wallet, the golem's wallet session and a golem socket. */
async function populate(url: string) {
  const requester = {
    async request(method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
      const r = await request(url, method, path, opts.token, opts.body);
      const text = await r.text();
      return { status: r.status, json: text ? JSON.parse(text) : undefined, text };
    },
  };
  await ok(request(url, "POST", "/v1/admin/users", ADMIN, { id: "adm-u" }), 201);
  const key = (await ok(request(url, "POST", "/v1/admin/users/adm-u/keys", ADMIN, { name: "k" }), 201)).key as string;
  const wallet = privateKeyToAccount(generatePrivateKey());
  const proof = await signedChallenge(requester, wallet);
  await ok(request(url, "POST", "/v1/styx/golems", key, { id: "adm-g", wallet_address: wallet.address, wallet_proof: proof }), 201);
  const session = await walletSession(requester, wallet);
  const sock = await TestSocket.connect(url, key);
  return { key, session: session.token, sock: sock.sock };
}

function operations(url: string, who: Awaited<ReturnType<typeof populate>>): Op[] {
  let n = 0;
  return [
    {
      name: "GET /v1/styx/me (API key)",
      run: async (t) => void (await ok(request(url, "GET", "/v1/styx/me", who.key, undefined, t), 200)),
    },
    {
      name: "GET /v1/styx/me (wallet session)",
      run: async (t) => void (await ok(request(url, "GET", "/v1/styx/me", who.session, undefined, t), 200)),
    },
    {
      name: "POST /v1/styx/entries (text)",
      run: async (t) => {
        const body = { golem_id: "adm-g", layer: "vault", category: "insight", content: `admission cost entry ${++n}` };
        await ok(request(url, "POST", "/v1/styx/entries", who.key, body, t), 201);
      },
    },
    {
      name: "POST /v1/styx/pheromone/deposit",
      run: async (t) => {
        const body = { golem_id: "adm-g", layer: "threat", class: `c${++n}`, intensity: 0.5, domain: "adm", regime: "calm" };
        await ok(request(url, "POST", "/v1/styx/pheromone/deposit", who.key, body, t), 201);
      },
    },
    {
      name: "socket event (golem:tick)",
      run: async (t) => {
        const ack = await who.sock.request({ type: "event", golem_id: "adm-g", event: { type: "golem:tick" }, traceparent: parent(t) });
        if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
      },
    },
  ];
}

/** Spans of `traces` counted by name (store ports and transactions), per trace. */
function spansPerOp(spans: readonly ReceivedSpan[], traces: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of spans) {
    if (!traces.has(s.traceId)) continue;
    const storeCall = s.attributes.has("styx.port") || /transaction$/.test(s.name) || s.attributes.get("db.system.name") === "redis";
    if (!storeCall) continue;
    const name = s.attributes.get("db.system.name") === "redis" ? `redis ${s.name}` : s.name;
    out.set(name, (out.get(name) ?? 0) + 1 / traces.size);
  }
  return out;
}

async function measure(profile: string, server: SpawnedServer, receiver: OtlpReceiver, redis: Redis | undefined) {
  const who = await populate(server.url);
  const ops = operations(server.url, who);
  const traces = new Map<string, Set<string>>();
  const redisCost = new Map<string, Map<string, number>>();
  for (const op of ops) {
    for (let i = 0; i < WARMUP; i++) await op.run(newTrace());
    const before = await commandStats(redis);
    const mine = new Set<string>();
    let started = 0;
    const worker = async () => {
      while (started < N) {
        started++;
        const t = newTrace();
        mine.add(t);
        await op.run(t);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const after = await commandStats(redis);
    const delta = new Map<string, number>();
    for (const [cmd, calls] of after) {
      const d = calls - (before.get(cmd) ?? 0) - (cmd === "info" ? 1 : 0);
      if (d > 0) delta.set(cmd, d / N);
    }
    traces.set(op.name, mine);
    redisCost.set(op.name, delta);
  }
  await who.sock.close();
  server.proc.kill("SIGTERM");
  await server.exited;
  const last = [...(traces.get(ops.at(-1)?.name ?? "") ?? [])].at(-1);
  await receiver.waitFor((s) => s.some((x) => x.traceId === last)).catch(() => undefined);
  const costs = new Map<string, Cost>();
  for (const op of ops) {
    costs.set(op.name, { spans: spansPerOp(receiver.spans, traces.get(op.name) ?? new Set()), redis: redisCost.get(op.name) ?? new Map() });
  }
  print(profile, costs, redis !== undefined);
}

function fmt(m: Map<string, number>): string {
  const parts = [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v.toFixed(2)}`);
  return parts.length ? parts.join(", ") : "none";
}

function print(profile: string, costs: Map<string, Cost>, withRedis: boolean): void {
  console.log(`\n${profile} (N = ${N} each, ${CONCURRENCY} in flight, after ${WARMUP} warm-up; rate limits ${RATE})\n`);
  console.log(
    withRedis ? "| Operation | Store calls per op (spans) | Redis commands per op |" : "| Operation | Store calls per op (spans) |",
  );
  console.log(withRedis ? "| --- | --- | --- |" : "| --- | --- |");
  for (const [name, c] of costs) {
    const total = [...c.spans].filter(([k]) => !k.startsWith("redis ")).reduce((a, [, v]) => a + v, 0);
    const spans = `${total.toFixed(2)}: ${fmt(new Map([...c.spans].filter(([k]) => !k.startsWith("redis "))))}`;
    const redisTotal = [...c.redis].reduce((a, [, v]) => a + v, 0);
    console.log(withRedis ? `| ${name} | ${spans} | ${redisTotal.toFixed(2)}: ${fmt(c.redis)} |` : `| ${name} | ${spans} |`);
  }
}

async function main(): Promise<void> {
  const receiver = await startOtlpReceiver();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
  const common = { PATH: CHILD_PATH, STYX_ADMIN_TOKEN: ADMIN, STYX_LOG_LEVEL: "info", STYX_RATE_LIMIT: RATE, STYX_IP_RATE_LIMIT: RATE };
  const dataDir = mkdtempSync(join(tmpdir(), "styx-admission-"));
  const clusters: string[] = [];
  let s3: S3Server | undefined;
  let redis: Awaited<ReturnType<typeof privateRedis>> | undefined;
  try {
    log("admission: micronode");
    const micro = await spawnServer([], { env: { ...common, ...otel, STYX_DATA_DIR: dataDir } });
    await measure("micronode (SQLite data dir)", micro, receiver, undefined);
    s3 = await startS3Server();
    for (const lease of LEASES) {
      log(`admission: macronode, STYX_LIMIT_LEASE=${lease}`);
      const cluster = newCluster();
      clusters.push(cluster);
      redis = await privateRedis();
      const env = { ...(macroEnv(cluster, s3) as Record<string, string>), STYX_REDIS_URL: redis.url, STYX_LIMIT_LEASE: lease };
      const macro = await spawnServer(["--profile", "macro"], { env: { ...common, ...otel, ...env } });
      await measure(`macronode, 1 gateway (private Redis), STYX_LIMIT_LEASE=${lease}`, macro, receiver, redis.client);
      redis.client.disconnect();
      redis.proc.kill("SIGTERM");
      redis = undefined;
    }
  } finally {
    redis?.client.disconnect();
    redis?.proc.kill("SIGTERM");
    await s3?.close();
    await receiver.close();
    await dropClusters((c) => clusters.includes(c));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
