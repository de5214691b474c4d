import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openDatabase } from "../../src/adapters/sqlite/database.js";
import { DATABASE_FILE } from "../../src/app/storage.js";
import { runCli, type SpawnedServer, spawnServer } from "../../src/testing/spawn.js";
import { CHILD_PATH } from "../../src/testing/test-env.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * SPEC §17.4 items 1–3 and item 5's loops, on two real `styx serve` processes on loopback: U
 * (the upstream, serving downstreams) and D (linked to U with a federate key, flows
 * pheromone, lethe and causal, domain defi). Each keeps a data dir, so either can go down and
 * come back with its state (D its cursors, claims and outbox; U its links and history).
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;

const ADMIN = "federation-test-admin-token-0001";
const BASE_ENV = { STYX_ADMIN_TOKEN: ADMIN, STYX_LETHE_DELAY: "0s-1s", STYX_LETHE_K: "1", STYX_LOG_LEVEL: "info", PATH: CHILD_PATH };

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: Json }> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

/** Polls `check` every 100 ms until it returns a value other than undefined/false; fails after `ms` with `what`. */
async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free loopback port (so a process can come back on the same URL). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The sum of a counter's series whose labels include `labels`, from a process's /metrics. */
async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** One Styx process of the test: its data dir, port and environment, so it can stop and start again as itself. */
class Node {
  server: SpawnedServer | undefined;
  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = await spawnServer(["--data-dir", this.dataDir, "--port", String(this.port)], {
      env: { ...BASE_ENV, HOME: this.dataDir, ...this.env },
    });
  }

  /** Starts the process unless it runs (a test that failed midway left it stopped). */
  async ensure(): Promise<void> {
    if (!this.server) await this.start();
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.proc.kill("SIGTERM");
    await s.exited;
  }

  admin(method: string, path: string, body?: unknown) {
    return call(this.url, method, path, ADMIN, body);
  }

  /** The classes sensed in `domain` (live pheromones, up to 500), with their confirmations. */
  async sensed(token: string, domain: string): Promise<Map<string, number>> {
    const r = await call(this.url, "GET", `/v1/styx/pheromone/sense?domains=${domain}&limit=500`, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return new Map((r.json.domains[domain]?.pheromones ?? []).map((p: Json) => [p.class, p.confirmations]));
  }
}

/** A user with a key and a golem on `node`. */
async function tenant(node: Node, id: string): Promise<{ key: string; golem: string }> {
  assert.equal((await node.admin("POST", "/v1/admin/users", { id })).status, 201);
  const k = await node.admin("POST", `/v1/admin/users/${id}/keys`, { name: "k" });
  assert.equal(k.status, 201);
  const golem = `${id}-g`;
  assert.equal((await call(node.url, "POST", "/v1/styx/golems", k.json.key, { id: golem })).status, 201);
  return { key: k.json.key, golem };
}

async function deposit(node: Node, t: { key: string; golem: string }, cls: string, domain = "defi"): Promise<void> {
  const body = { golem_id: t.golem, layer: "threat", class: cls, intensity: 0.9, domain, regime: "bull" };
  const r = await call(node.url, "POST", "/v1/styx/pheromone/deposit", t.key, body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
}

describe("federation link between two processes (SPEC §17.4)", { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "styx-federation-"));
  let U: Node;
  let D: Node;
  let federateKey: string;
  let ut: { key: string; golem: string };
  let dt: { key: string; golem: string };

  before(async () => {
    for (const d of ["u", "d", "s", "x"]) mkdirSync(join(root, d));
    U = new Node("U", join(root, "u"), await freePort(), {});
    await U.start();
    assert.equal((await U.admin("POST", "/v1/admin/users", { id: "d-styx" })).status, 201);
    const k = await U.admin("POST", "/v1/admin/users/d-styx/keys", { name: "federation", scopes: ["federate"] });
    assert.equal(k.status, 201, JSON.stringify(k.json));
    federateKey = k.json.key;
    ut = await tenant(U, "ua");
    D = new Node("D", join(root, "d"), await freePort(), {
      STYX_UPSTREAM_URL: U.url,
      STYX_UPSTREAM_KEY: federateKey,
      STYX_FEDERATE: "pheromone,lethe,causal",
      STYX_FEDERATE_DOMAINS: "defi",
    });
    await D.start();
    dt = await tenant(D, "da");
    await until("D's link connected", async () => (await D.admin("GET", "/v1/admin/federation")).json.upstream?.state === "connected");
  });

  after(async () => {
    await Promise.all([U?.stop(), D?.stop()]);
    rmSync(root, { recursive: true, force: true });
  });

  it("shows each side: D's link up (ids, flows, domain, health) and U's downstream", async () => {
    const d = (await D.admin("GET", "/v1/admin/federation")).json;
    const u = (await U.admin("GET", "/v1/admin/federation")).json;
    assert.equal(d.upstream.instance_id, u.instance_id);
    assert.notEqual(d.instance_id, u.instance_id);
    assert.deepEqual(d.upstream.domains, ["defi"]);
    assert.equal(u.upstream, null);
    assert.deepEqual(
      u.downstreams.map((l: Json) => l.instance_id),
      [d.instance_id],
    );
    const health = (await call(D.url, "GET", "/v1/styx/health", ADMIN)).json;
    assert.equal(health.links.upstream.status, "up");
    assert.equal(await counter(D.url, "styx_federation_connected", {}), 1);
  });

  it("1. a deposit on D in defi is sensed on U within 2 s, one in nft never", async () => {
    const t0 = Date.now();
    await deposit(D, dt, "d-first");
    await deposit(D, dt, "d-nft", "nft");
    await until("U senses d-first", async () => (await U.sensed(ut.key, "defi")).has("d-first"), 2000);
    assert.ok(Date.now() - t0 < 2000);
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await U.sensed(ut.key, "nft")).has("d-nft"), false);
  });

  it("1. a deposit on U reaches D's sense and a D socket, marked federated", async () => {
    const { sock } = await TestSocket.connect(D.url, dt.key);
    try {
      assert.equal((await sock.request({ type: "subscribe", domains: ["defi"] })).type, "subscribed");
      await deposit(U, ut, "u-first");
      await until("D senses u-first", async () => (await D.sensed(dt.key, "defi")).has("u-first"), 5000);
      const frame = await sock.next((f) => f.channel === "styx:pheromone:deposit" && f.payload?.class === "u-first", 5000);
      assert.equal(frame.payload.federated, true);
    } finally {
      await sock.close();
    }
  });

  it("1. one cell deposited on both sides ends with equal confirmations, each record applied once", async () => {
    await deposit(D, dt, "both");
    await deposit(U, ut, "both");
    const [d, u] = await until(
      "both sides confirm 'both' once",
      async () => {
        const pair = [(await D.sensed(dt.key, "defi")).get("both"), (await U.sensed(ut.key, "defi")).get("both")];
        return pair[0] === 1 && pair[1] === 1 && pair;
      },
      10_000,
    );
    assert.equal(d, u);
    assert.equal(await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "duplicate" }), 0);
  });

  it("2. lethe published on either side is found by queries on the other", async () => {
    const write = (node: Node, t: { key: string; golem: string }, content: string) =>
      call(node.url, "POST", "/v1/styx/entries", t.key, {
        golem_id: t.golem,
        layer: "lethe",
        domain: "defi",
        category: "warning",
        confidence: 0.8,
        content,
      });
    assert.equal((await write(D, dt, "oracle lag on thin pairs precedes liquidations")).status, 201);
    assert.equal((await write(U, ut, "sandwich bots crowd the stable pools at the open")).status, 201);
    const found = (node: Node, key: string, query: string, text: string) =>
      until(
        `${node.name} finds "${text}" in lethe`,
        async () => {
          const r = await call(node.url, "POST", "/v1/styx/query", key, { query, layers: ["lethe"], limit: 10 });
          return r.json.hits?.some((h: Json) => h.content.includes(text));
        },
        30_000,
      );
    await found(U, ut.key, "oracle lag thin pairs", "oracle lag");
    await found(D, dt.key, "sandwich bots stable pools", "sandwich bots");
  });

  it("3. D down while U takes 50 deposits: D applies exactly 50", async () => {
    await U.ensure();
    await D.ensure();
    await D.stop();
    for (let i = 0; i < 50; i++) await deposit(U, ut, `u-bulk-${i}`);
    await D.start();
    await until(
      "D applied 50",
      async () => (await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "accepted" })) >= 50,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "accepted" }), 50);
    const sensed = await D.sensed(dt.key, "defi");
    for (let i = 0; i < 50; i++) assert.ok(sensed.has(`u-bulk-${i}`), `u-bulk-${i}`);
  });

  it("3. U down while D takes 50 deposits: the outbox drains into U", async () => {
    await U.ensure();
    await D.ensure();
    await U.stop();
    for (let i = 0; i < 50; i++) await deposit(D, dt, `d-bulk-${i}`);
    assert.equal((await D.admin("GET", "/v1/admin/federation")).json.upstream.outbox_depth, 50);
    const health = (await call(D.url, "GET", "/v1/styx/health", ADMIN)).json;
    assert.equal(health.status, "ok", "the upstream's loss degrades nothing local");
    assert.equal((await call(D.url, "GET", "/readyz", ADMIN)).status, 200);
    await U.start();
    await until("D's outbox drained", async () => (await D.admin("GET", "/v1/admin/federation")).json.upstream.outbox_depth === 0, 90_000);
    const sensed = await U.sensed(ut.key, "defi");
    for (let i = 0; i < 50; i++) assert.ok(sensed.has(`d-bulk-${i}`), `d-bulk-${i}`);
  });

  it("3. U's history trimmed: D takes the snapshot and both sides end in the same state", async () => {
    await U.ensure();
    await D.ensure();
    await D.stop();
    for (let i = 0; i < 5; i++) await deposit(U, ut, `u-late-${i}`);
    await U.stop();
    // Trim U's history of federation:defi to its last event: D's cursor is now beyond retention.
    const db = openDatabase(join(U.dataDir, DATABASE_FILE));
    try {
      const last = db.prepare("SELECT last_seq FROM streams WHERE stream = 'federation:defi'").pluck().get() as number;
      db.prepare("DELETE FROM stream_events WHERE stream = 'federation:defi' AND seq < ?").run(last);
      db.prepare("UPDATE streams SET warm_from = ? WHERE stream = 'federation:defi'").run(last);
    } finally {
      db.close();
    }
    await U.start();
    await D.start();
    await (D.server as SpawnedServer).waitForOutput(/taking its snapshot/, 60_000);
    // The snapshot's records apply one by one, in the snapshot's order: wait for the whole of it.
    const classes = async (node: Node, key: string) => [...(await node.sensed(key, "defi")).keys()].sort();
    const u = await classes(U, ut.key);
    for (let i = 0; i < 5; i++) assert.ok(u.includes(`u-late-${i}`));
    await until("D senses what U senses", async () => JSON.stringify(await classes(D, dt.key)) === JSON.stringify(u), 60_000);
  });

  it("5. a Styx linked to itself is refused with STYX_FEDERATION_LOOP", async () => {
    const dir = join(root, "s");
    const env = { ...BASE_ENV, HOME: dir, STYX_DATA_DIR: dir };
    assert.equal(runCli(["users", "create", "--id", "self"], { env }).code, 0);
    const created = runCli(["keys", "create", "--user", "self", "--name", "fed", "--scopes", "federate"], { env });
    assert.equal(created.code, 0, created.stderr);
    const port = await freePort();
    const S = new Node("S", dir, port, {
      STYX_UPSTREAM_URL: `http://127.0.0.1:${port}`,
      STYX_UPSTREAM_KEY: JSON.parse(created.stdout).key,
      STYX_FEDERATE: "pheromone",
      STYX_FEDERATE_DOMAINS: "defi",
    });
    await S.start();
    try {
      const view = await until("S refused", async () => {
        const v = (await S.admin("GET", "/v1/admin/federation")).json;
        return v.upstream?.state === "refused" && v;
      });
      assert.match(view.upstream.last_error, /STYX_FEDERATION_LOOP/);
    } finally {
      await S.stop();
    }
  });

  it("5. a Styx with the upstream's instance id is refused with STYX_FEDERATION_LOOP", async () => {
    await U.ensure();
    await D.ensure();
    const uid = (await U.admin("GET", "/v1/admin/federation")).json.instance_id;
    const k = await U.admin("POST", "/v1/admin/users/d-styx/keys", { name: "clone", scopes: ["federate"] });
    const X = new Node("X", join(root, "x"), await freePort(), {
      STYX_INSTANCE_ID: uid,
      STYX_UPSTREAM_URL: U.url,
      STYX_UPSTREAM_KEY: k.json.key,
      STYX_FEDERATE: "pheromone",
      STYX_FEDERATE_DOMAINS: "defi",
    });
    await X.start();
    try {
      const view = await until("X refused", async () => {
        const v = (await X.admin("GET", "/v1/admin/federation")).json;
        return v.upstream?.state === "refused" && v;
      });
      assert.match(view.upstream.last_error, /STYX_FEDERATION_LOOP/);
    } finally {
      await X.stop();
    }
  });
});
