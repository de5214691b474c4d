/**
 * What one operation asks of the macronode's services: every PostgreSQL statement and
 * transaction, every NATS message (JetStream publishes, signals, API calls) and every Redis
 * command of one gateway, for one operation at a time after a warm-up.
 *
 *   node --import tsx bench/macro-count.ts            # needs read access to PostgreSQL's server log
 *
 * PostgreSQL: a private database with `log_statement = 'all'` (the server log says what each
 * backend ran); a transaction is a `begin` … `commit` of one backend, or a statement outside
 * one (autocommit). Redis: MONITOR, commands naming the cluster's keys. NATS: a subscription to
 * every subject, messages naming the cluster. One gateway, in this process, on a fresh cluster.
 */
import { openSync, readSync, statSync } from "node:fs";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import postgres from "postgres";
import { dropClusters, newCluster, SERVICES } from "../src/testing/services.js";
import { startTestServer } from "../src/testing/test-server.js";
import { TestSocket } from "../src/testing/test-socket.js";

const LOG = process.env.PG_LOG ?? "/var/log/postgresql/postgresql-15-main.log";
const QUIET_MS = Number(process.env.COUNT_QUIET_MS ?? 300);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (m: string) => console.error(m);

function logSize(): number {
  return statSync(LOG).size;
}

function logSince(from: number): string {
  const fd = openSync(LOG, "r");
  const len = statSync(LOG).size - from;
  const buf = Buffer.alloc(Math.max(0, len));
  readSync(fd, buf, 0, len, from);
  return buf.toString("utf8");
}

interface PgCount {
  statements: string[];
  transactions: number;
  explicit: number;
}

/** The statements of `db` in the log text, per backend, folded into transactions. */
function pgCount(text: string, db: string): PgCount {
  const out: PgCount = { statements: [], transactions: 0, explicit: 0 };
  const open = new Set<string>();
  const re = /^\S+ \S+ \S+ \[(\d+)\] \S+@(\S+) LOG:\s+(?:statement|execute [^:]*): ([\s\S]*?)(?=^\S+ \S+ \S+ \[\d+\]|(?![\s\S]))/gm;
  for (const m of text.matchAll(re)) {
    if (m[2] !== db) continue;
    const pid = m[1] as string;
    const stmt = (m[3] as string).replace(/\s+/g, " ").trim();
    const head = stmt.toLowerCase();
    out.statements.push(`[${pid}] ${stmt.slice(0, 140)}`);
    if (head.startsWith("begin")) {
      open.add(pid);
      out.explicit++;
    } else if (head === "commit" || head === "rollback") {
      open.delete(pid);
      out.transactions++;
    } else if (!open.has(pid)) out.transactions++;
  }
  return out;
}

async function main(): Promise<void> {
  const db = `styx_count_${Date.now().toString(36)}`;
  const admin = postgres(SERVICES.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${db}`);
  await admin.unsafe(`ALTER DATABASE ${db} SET log_statement = 'all'`);
  const url = SERVICES.databaseUrl.replace(/\/[^/]*$/, `/${db}`);
  const cluster = newCluster();
  const s = await startTestServer({ profile: "macro", env: { STYX_DATABASE_URL: url, STYX_CLUSTER: cluster, STYX_LETHE_K: "1" } });
  const redisMon = new Redis(SERVICES.redisUrl);
  const redisCmds: string[] = [];
  const mon = await redisMon.monitor();
  mon.on("monitor", (_t: string, args: string[]) => {
    if (args.some((a) => a.startsWith(`${cluster}:`))) redisCmds.push(args.slice(0, 2).join(" "));
  });
  const nc = await connect({ servers: SERVICES.natsUrl });
  const natsMsgs: string[] = [];
  const sub = nc.subscribe(">");
  const up = cluster.toUpperCase();
  (async () => {
    for await (const m of sub) if (m.subject.includes(cluster) || m.subject.includes(up)) natsMsgs.push(m.subject);
  })();
  try {
    const u = await s.user();
    const g = await s.golem(u.key);
    const vec = () => Array.from({ length: 384 }, () => Math.random() - 0.5);
    let n = 0;
    const vault = () =>
      s.request("POST", "/v1/styx/entries", {
        token: u.key,
        body: { golem_id: g.id, layer: "vault", category: "insight", content: `count entry ${++n} about eth funding`, embedding: vec() },
      });
    const lethe = () =>
      s.request("POST", "/v1/styx/entries", {
        token: u.key,
        body: {
          golem_id: g.id,
          layer: "lethe",
          category: "insight",
          domain: "eth",
          confidence: 0.8,
          content: `lethe entry ${++n} funding flips negative before the open`,
          embedding: vec(),
        },
      });
    const deposit = (cls: string) =>
      s.request("POST", "/v1/styx/pheromone/deposit", {
        token: u.key,
        body: { golem_id: g.id, layer: "threat", class: cls, intensity: 0.7, domain: "eth", regime: "bull" },
      });
    const sock = (await TestSocket.connect(s.url, u.key)).sock;
    const event = async () => {
      const ack = await sock.request({ type: "event", golem_id: g.id, event: { type: "golem:tick", n: ++n } });
      if (ack.type !== "ack") throw new Error(JSON.stringify(ack));
      return { status: 201 };
    };
    const ops: [string, () => Promise<{ status: number }>][] = [
      ["write (vault, embedding)", vault],
      ["write (lethe, embedding)", lethe],
      ["deposit (new)", () => deposit(`c${++n}`)],
      ["deposit (reinforcing)", () => deposit("same")],
      ["golem socket event", event],
    ];
    // Warm-up: caches, prepared statements, connections.
    for (let i = 0; i < 3; i++) for (const [, op] of ops) await op();
    await sleep(1000);
    for (const [name, op] of ops) {
      await sleep(QUIET_MS);
      const from = logSize();
      redisCmds.length = 0;
      natsMsgs.length = 0;
      const r = await op();
      if (r.status !== 201) throw new Error(`${name}: ${r.status}`);
      await sleep(QUIET_MS);
      const pg = pgCount(logSince(from), db);
      const tally = (xs: string[]) => {
        const m = new Map<string, number>();
        for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
        return [...m].map(([k, v]) => `${v}× ${k}`).join("; ");
      };
      console.log(`\n## ${name}`);
      console.log(`PostgreSQL: ${pg.statements.length} statements, ${pg.transactions} transactions (${pg.explicit} explicit)`);
      for (const st of pg.statements) console.log(`  ${st}`);
      console.log(`NATS: ${natsMsgs.length} messages: ${tally(natsMsgs.map((x) => x.replace(cluster, "<c>").replace(up, "<C>")))}`);
      console.log(`Redis: ${redisCmds.length} commands: ${tally(redisCmds.map((x) => x.replace(cluster, "<c>").split(" ")[0] as string))}`);
    }
    await sock.close();
  } finally {
    await sub.unsubscribe();
    await nc.close();
    redisMon.disconnect();
    await s.close();
    await sleep(200);
    await admin.unsafe(`DROP DATABASE ${db} WITH (FORCE)`);
    await admin.end({ timeout: 5 });
    await dropClusters((c) => c === cluster);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    log(String(err?.stack ?? err));
    process.exit(1);
  },
);
