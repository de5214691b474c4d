import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildOptions, buildStyx, type Styx } from "../app/build.js";
import { type ConfigOverrides, loadConfig } from "../config/load.js";
import type { Clock } from "../core/platform/clock.js";
import { TEST_PROFILE } from "./test-env.js";

/** A running test server on a random loopback port, with helpers that speak HTTP to it. */
export interface TestServer {
  readonly url: string;
  readonly adminToken: string;
  readonly styx: Styx;
  /** The temporary data dir (micronode) or undefined (amnesia). */
  readonly dataDir: string | undefined;
  /** Sends a request; `body` objects are sent as JSON. */
  request(method: string, path: string, opts?: RequestOptions): Promise<TestResponse>;
  /** Creates a user and one read/write key for it; returns both. */
  user(id?: string, keyOptions?: Record<string, unknown>): Promise<{ id: string; key: string; keyId: string }>;
  /**
   * Runs SQL on the server's own database, for tests that inspect or sabotage storage: the
   * SQLite file (a persistent micronode) or the cluster's PostgreSQL schema (macronode).
   * Statements without rows return []. Amnesia has no database to reach.
   */
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary rows
  sql(text: string): Promise<any[]>;
  /** `micro` or `macro`: which SQL dialect `sql` speaks. */
  readonly profile: "micro" | "macro";
  /** Registers a golem for the user holding `key`. */
  golem(key: string, body?: Record<string, unknown>): Promise<{ id: string; generation: number }>;
  close(): Promise<void>;
}

/** Options of `TestServer.request`. */
export interface RequestOptions {
  readonly token?: string | undefined;
  readonly body?: unknown;
  readonly raw?: Uint8Array | string;
  readonly headers?: Record<string, string>;
}

/** What a test sees of a response. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly json: any;
}

/**
 * For a test of micronode internals (its SQLite file, blob files, the tiered history's cold
 * tier): runs on the micro profile, and in the macro run is reported as skipped with `reason`,
 * naming where the macronode's twin is tested.
 */
export function microOnly(reason: string): { skip: string | false } {
  return { skip: TEST_PROFILE === "macro" ? `micronode internals: ${reason}` : false };
}

/** Options of `startTestServer`. */
export interface TestServerOptions {
  /** Keep data in a temporary SQLite data dir instead of amnesia (default false). */
  readonly persistent?: boolean;
  /** Reuse this data dir (implies persistent); not deleted at close. */
  readonly dataDir?: string;
  readonly env?: ConfigOverrides;
  readonly clock?: Clock;
  /** Random source for lethe delays. */
  readonly random?: () => number;
  /** The profile (default TEST_PROFILE). */
  readonly profile?: "micro" | "macro";
}

let counter = 0;

/** Starts Styx on 127.0.0.1 with a random port, silent logs and generous rate limits unless overridden. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const ownDir = opts.dataDir === undefined && opts.persistent ? mkdtempSync(join(tmpdir(), "styx-test-")) : undefined;
  const dataDir = opts.dataDir ?? ownDir;
  const macro = (opts.profile ?? TEST_PROFILE) === "macro" ? await (await import("./macro-cluster.js")).macroCluster(dataDir) : undefined;
  const config = loadConfig(
    {},
    {
      STYX_HOST: "127.0.0.1",
      STYX_PORT: "0",
      STYX_LOG_LEVEL: "silent",
      STYX_ADMIN_TOKEN: "test-admin-token-0123456789",
      STYX_RATE_LIMIT: "100000/s:100000",
      STYX_IP_RATE_LIMIT: "100000/s:100000",
      // Raised as the rate is: a test writes more lethe entries and deposits in a minute than a tenant
      // in a day. test/integration/quotas.test.ts sets small limits per user by admin override (and
      // reads the tier's stored bytes). Benchmarks on this kit pass QUOTAS_OUT_OF_THE_WAY. test/integration/quotas.test.ts sets small limits per user by admin override.
      STYX_QUOTAS: JSON.stringify({
        consumer: { entries_per_day: 10_000_000, lethe_writes_per_day: 10_000_000, deposits_per_minute: 10_000_000 },
      }),
      // Test processes share the event loop with the test's own work; shed only on real stalls.
      STYX_MAX_EVENT_LOOP_LAG: "5s",
      ...(dataDir ? { STYX_DATA_DIR: dataDir } : macro ? {} : { STYX_AMNESIA: "1" }),
      ...macro?.env,
      ...opts.env,
    },
  );
  const build: BuildOptions = { ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.random ? { random: opts.random } : {}) };
  let styx: Styx;
  let url: string;
  try {
    styx = await buildStyx(config, build);
    url = await styx.listen();
  } catch (err) {
    await macro?.release();
    throw err;
  }
  const adminToken = styx.adminToken.token;

  const request = async (method: string, path: string, o: RequestOptions = {}): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    let body: string | Uint8Array | undefined;
    if (o.raw !== undefined) body = o.raw;
    else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await fetch(url + path, { method, headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, text, json };
  };

  return {
    url,
    adminToken,
    styx,
    dataDir,
    request,
    profile: macro ? "macro" : "micro",
    async sql(text) {
      if (macro) {
        const { openPostgres } = await import("../adapters/postgres/database.js");
        const pg = openPostgres(config.databaseUrl as string, { schema: config.cluster, max: 1 });
        try {
          return [...(await pg.unsafe(text))];
        } finally {
          await pg.end({ timeout: 1 });
        }
      }
      if (!dataDir) throw new Error("an amnesia server has no database file to reach");
      const { default: Database } = await import("better-sqlite3");
      const db = new Database(join(dataDir, "styx.db"));
      try {
        const stmt = db.prepare(text);
        if (stmt.reader) return stmt.all();
        stmt.run();
        return [];
      } finally {
        db.close();
      }
    },
    async user(id = `u${++counter}-${Date.now().toString(36)}`, keyOptions = {}) {
      const u = await request("POST", "/v1/admin/users", { token: adminToken, body: { id } });
      if (u.status !== 201) throw new Error(`user create: ${u.status} ${u.text}`);
      const k = await request("POST", `/v1/admin/users/${id}/keys`, { token: adminToken, body: { name: "test", ...keyOptions } });
      if (k.status !== 201) throw new Error(`key create: ${k.status} ${k.text}`);
      return { id, key: k.json.key, keyId: k.json.id };
    },
    async golem(key, body = {}) {
      const g = await request("POST", "/v1/styx/golems", { token: key, body });
      if (g.status !== 201) throw new Error(`golem register: ${g.status} ${g.text}`);
      return g.json;
    },
    async close() {
      await styx.close();
      await macro?.release();
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
