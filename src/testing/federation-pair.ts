import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { eventSubject, jetStreamName } from "../adapters/nats/event-codec.js";
import { openDatabase } from "../adapters/sqlite/database.js";
import { DATABASE_FILE } from "../app/storage.js";
import { federationStream } from "../core/fabric/streams.js";
import { macroCluster } from "./macro-cluster.js";
import { dropClusters, SERVICES } from "./services.js";
import { type SpawnedServer, spawnServer } from "./spawn.js";
import { CHILD_PATH } from "./test-env.js";

/**
 * Two real `styx serve` processes on loopback for the federation tests (SPEC §17.4): an
 * upstream U and a downstream D, each a micronode (a SQLite data dir) or a macronode (a
 * gateway over the local PostgreSQL, NATS, Redis and the in-process S3 server). A node keeps
 * its port and its data (data dir or cluster), so it can stop and come back as itself.
 */

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;

/** Admin token of every node of a federation test. */
export const FEDERATION_ADMIN = "federation-test-admin-token-0001";

/** The environment every node of a federation test shares (lethe published at once, k = 1). */
export const FEDERATION_BASE_ENV: Readonly<Record<string, string>> = {
  STYX_ADMIN_TOKEN: FEDERATION_ADMIN,
  STYX_LETHE_DELAY: "0s-1s",
  STYX_LETHE_K: "1",
  STYX_LOG_LEVEL: "info",
  STYX_RATE_LIMIT: "100000/s:100000",
  STYX_IP_RATE_LIMIT: "100000/s:100000",
  PATH: CHILD_PATH,
};

/** A micronode (its own SQLite data dir) or a macronode (a gateway of its own test cluster). */
export type FederationProfile = "micro" | "macro";

/** An HTTP call with a bearer token; JSON in and out. */
export async function call(
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: Json }> {
  const r = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

/** Polls `check` every 100 ms until it returns a value other than undefined/false; fails after `ms` with `what`. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free loopback port (so a process can come back on the same URL). */
export function freePort(): Promise<number> {
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
export async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/** One Styx process of a federation test: its profile, data (dir or cluster), port and environment. */
export class FederationNode {
  server: SpawnedServer | undefined;
  /** The macronode's test cluster (its PostgreSQL schema, JetStream stream, Redis keys), or undefined. */
  cluster: string | undefined;
  #macroEnv: Record<string, string> | undefined;

  private constructor(
    readonly name: string,
    readonly profile: FederationProfile,
    readonly dataDir: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  /** A node named `name` of `profile`, its files (data dir or HOME) under `dataDir`; not started. */
  static async create(
    name: string,
    profile: FederationProfile,
    dataDir: string,
    env: Record<string, string> = {},
  ): Promise<FederationNode> {
    const node = new FederationNode(name, profile, dataDir, await freePort(), env);
    if (profile === "macro") {
      const { env: cluster } = await macroCluster(dataDir);
      node.#macroEnv = cluster as Record<string, string>;
      node.cluster = String(cluster.STYX_CLUSTER);
    }
    return node;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const where = this.profile === "micro" ? ["--data-dir", this.dataDir] : ["--profile", "macro"];
    this.server = await spawnServer([...where, "--port", String(this.port)], {
      env: { ...FEDERATION_BASE_ENV, HOME: this.dataDir, ...this.#macroEnv, ...this.env },
    });
  }

  /** Starts the process unless it runs (a test that failed midway left it stopped). */
  async ensure(): Promise<void> {
    if (!this.server) await this.start();
  }

  /** Stops the process and drops the macronode's cluster (the data dir is the caller's). */
  async destroy(): Promise<void> {
    await this.stop();
    const cluster = this.cluster;
    if (cluster) await dropClusters((c) => c === cluster);
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.proc.kill("SIGTERM");
    await s.exited;
  }

  admin(method: string, path: string, body?: unknown) {
    return call(this.url, method, path, FEDERATION_ADMIN, body);
  }

  /** The classes sensed in `domain` (live pheromones, up to 500), with their confirmations. */
  async sensed(token: string, domain: string): Promise<Map<string, number>> {
    const r = await call(this.url, "GET", `/v1/styx/pheromone/sense?domains=${domain}&limit=500`, token);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return new Map((r.json.domains[domain]?.pheromones ?? []).map((p: Json) => [p.class, p.confirmations]));
  }

  /**
   * Trims the stopped node's history of `federation:{domain}` to its last event, so a cursor
   * before it is beyond retention: on a micronode the SQLite rows before it go (and the warm
   * tier starts there); on a macronode the stream's JetStream subject is purged but for its
   * last message (what retention does to old messages), and the restarted gateway has no hot ring.
   */
  async trimFederationHistory(domain: string): Promise<void> {
    assert.equal(this.server, undefined, "trim a stopped node");
    const stream = federationStream(domain);
    if (this.profile === "micro") {
      const db = openDatabase(join(this.dataDir, DATABASE_FILE));
      try {
        const last = db.prepare("SELECT last_seq FROM streams WHERE stream = ?").pluck().get(stream) as number;
        db.prepare("DELETE FROM stream_events WHERE stream = ? AND seq < ?").run(stream, last);
        db.prepare("UPDATE streams SET warm_from = ? WHERE stream = ?").run(last, stream);
      } finally {
        db.close();
      }
      return;
    }
    const cluster = this.cluster as string;
    const nc = await connect({ servers: SERVICES.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const r = await jsm.streams.purge(jetStreamName(cluster), { filter: eventSubject(cluster, stream), keep: 1 });
      assert.ok(r.success && r.purged > 0, `purged ${r.purged} messages of ${stream}`);
    } finally {
      await nc.close();
    }
  }
}

/** A user with a key and a golem on `node`. */
export async function federationTenant(node: FederationNode, id: string): Promise<{ key: string; golem: string }> {
  assert.equal((await node.admin("POST", "/v1/admin/users", { id })).status, 201);
  const k = await node.admin("POST", `/v1/admin/users/${id}/keys`, { name: "k" });
  assert.equal(k.status, 201);
  const golem = `${id}-g`;
  assert.equal((await call(node.url, "POST", "/v1/styx/golems", k.json.key, { id: golem })).status, 201);
  return { key: k.json.key, golem };
}

/** Creates user `user` on `node` with a key of scope `federate`; returns the key. */
export async function federateKey(node: FederationNode, user: string, name = "federation"): Promise<string> {
  const u = await node.admin("POST", "/v1/admin/users", { id: user });
  assert.ok(u.status === 201 || u.status === 409, JSON.stringify(u.json));
  const k = await node.admin("POST", `/v1/admin/users/${user}/keys`, { name, scopes: ["federate"] });
  assert.equal(k.status, 201, JSON.stringify(k.json));
  return k.json.key;
}

/** The link settings of a downstream of `upstream` over `key`: flows and domains. */
export function linkEnv(
  upstream: FederationNode | string,
  key: string,
  flows = "pheromone,lethe,causal",
  domains = "defi",
): Record<string, string> {
  return {
    STYX_UPSTREAM_URL: typeof upstream === "string" ? upstream : upstream.url,
    STYX_UPSTREAM_KEY: key,
    STYX_FEDERATE: flows,
    STYX_FEDERATE_DOMAINS: domains,
  };
}

/** Deposits `cls` (threat, intensity 0.9, regime bull) in `domain` as the tenant. */
export async function deposit(node: FederationNode, t: { key: string; golem: string }, cls: string, domain = "defi"): Promise<void> {
  const body = { golem_id: t.golem, layer: "threat", class: cls, intensity: 0.9, domain, regime: "bull" };
  const r = await call(node.url, "POST", "/v1/styx/pheromone/deposit", t.key, body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
}
