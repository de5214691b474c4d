import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import Database from "better-sqlite3";
import { Redis } from "ioredis";
import postgres from "postgres";
import { jetStreamName, streamOfSubject } from "../../src/adapters/nats/event-codec.js";
import { openS3Client } from "../../src/adapters/s3/s3-blob-store.js";
import type { ConfigOverrides } from "../../src/config/load.js";
import { type ServerProcess, spawnServer } from "../../src/testing/spawn.js";
import { CHILD_PATH, SERVICE_URLS, TEST_PROFILE } from "../../src/testing/test-env.js";

/**
 * Acceptance 2 of issue 17: an erasure interrupted by kill -9 completes after a restart, and a
 * scan of the whole store then finds nothing of the erased user or its golem except what SPEC §3
 * keeps (the audit log; anonymized lethe copies and death records name no id). The first server
 * pauses between erasure steps (STYX_ERASURE_STEP_PAUSE) and is killed when it logs the start of
 * the `entries` step: the scan right after the kill must still find the user's entries (else the
 * test proves nothing), the one after the restart must find nothing. Another user erases one of
 * its two golems meanwhile: afterwards nothing names that golem either (on a macronode, the JetStream
 * messages of the owner's stream were rewritten with tombstones), and the sibling's events stay.
 */

const ADMIN = "erasure-crash-admin-token-0123456789";
const OCTETS = { "content-type": "application/octet-stream" };
const USER = "ec-leaver";
const GOLEM = "ec-leaver-golem";
const KEPT = "ec-stayer";
const KEPT_GOLEM = "ec-stayer-golem";
/** A golem of the kept user erased on its own: its owner's stream keeps tombstones where it named it. */
const GONE = "ec-stayer-gone";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

async function call(base: string, method: string, path: string, token: string, body?: unknown, raw?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (raw !== undefined) Object.assign(headers, OCTETS);
  const res = await fetch(base + path, { method, headers, body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

/** Where the erased data would still show: rows, stream messages, objects naming `needles`. */
interface Found {
  readonly rows: string[];
  readonly messages: string[];
  readonly objects: string[];
}

describe("erasure after kill -9 (issue 17, acceptance 2)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "styx-erasure-crash-"));
  let cluster: { env: ConfigOverrides; release(): Promise<void> } | undefined;
  after(async () => {
    await cluster?.release();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const envOf = async (extra: Record<string, string>): Promise<Record<string, string>> => {
    if (TEST_PROFILE === "macro") cluster ??= await (await import("../../src/testing/macro-cluster.js")).macroCluster(dataDir);
    const base: Record<string, string> = {
      PATH: CHILD_PATH,
      STYX_ADMIN_TOKEN: ADMIN,
      STYX_LOG_LEVEL: "info",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    const store = cluster ? (cluster.env as Record<string, string>) : { STYX_DATA_DIR: dataDir };
    return { ...base, ...store, ...extra };
  };

  /** Everything of the store that names one of `needles` (plain or as the hex FTS owner token, or hashed in blob refs). */
  async function scan(needles: readonly string[], blobHexes: readonly string[]): Promise<Found> {
    const found: Found = { rows: [], messages: [], objects: [] };
    const names = (text: string) => needles.some((n) => text.includes(n) || text.includes(Buffer.from(n).toString("hex")));
    const rowText = (row: unknown) =>
      JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array || Buffer.isBuffer(v) ? "" : v));
    if (!cluster) {
      const db = new Database(join(dataDir, "styx.db"));
      try {
        const tables = db
          .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%fts%'")
          .all() as { name: string }[];
        for (const { name } of tables) {
          if (name === "audit_log") continue;
          for (const row of db.prepare(`SELECT * FROM "${name}"`).all())
            if (names(rowText(row))) found.rows.push(`${name}: ${rowText(row)}`);
        }
      } finally {
        db.close();
      }
      const refs = join(dataDir, "blobs", "refs");
      for (const n of needles)
        if (existsSync(join(refs, sha(n))) && readdirSync(join(refs, sha(n))).length > 0) found.objects.push(`refs/${sha(n)}`);
      for (const hex of blobHexes) if (existsSync(join(dataDir, "blobs", hex.slice(0, 2), hex.slice(2, 4), hex))) found.objects.push(hex);
      return found;
    }
    const env = cluster.env as Record<string, string>;
    const name = env.STYX_CLUSTER as string;
    const sql = postgres(SERVICE_URLS.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ t: string }[]>`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ${name}`;
      for (const { t } of tables) {
        if (t === "audit_log") continue;
        for (const row of await sql.unsafe(`SELECT * FROM "${name}"."${t}"`))
          if (names(rowText(row))) found.rows.push(`${t}: ${rowText(row)}`);
      }
    } finally {
      await sql.end({ timeout: 5 });
    }
    const nc = await connect({ servers: SERVICE_URLS.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = jetStreamName(name);
      const info = await jsm.streams.info(stream);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
        if (!m) continue;
        const text = `${streamOfSubject(m.subject)} ${new TextDecoder().decode(m.data)}`;
        if (names(text)) found.messages.push(text.slice(0, 200));
      }
    } finally {
      await nc.close();
    }
    const redis = new Redis(SERVICE_URLS.redisUrl);
    try {
      for (const key of await redis.keys(`${name}:*`)) {
        const type = await redis.type(key);
        const value = type === "hash" ? JSON.stringify(await redis.hgetall(key)) : type === "set" ? (await redis.smembers(key)).join() : "";
        if (names(`${key} ${value}`)) found.objects.push(`redis ${key}`);
      }
    } finally {
      redis.disconnect();
    }
    const s3 = openS3Client({
      region: "us-east-1",
      endpoint: env.STYX_S3_ENDPOINT as string,
      credentials: { accessKeyId: env.STYX_S3_ACCESS_KEY_ID as string, secretAccessKey: env.STYX_S3_SECRET_ACCESS_KEY as string },
    });
    try {
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: env.STYX_S3_BUCKET as string, Prefix: `${name}/`, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          const key = o.Key ?? "";
          if (needles.some((n) => key.endsWith(sha(n))) || blobHexes.some((h) => key.endsWith(`blobs/${h}`))) found.objects.push(key);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      s3.destroy();
    }
    return found;
  }

  it("completes after a restart, and the store keeps nothing of the erased user but what SPEC §3 keeps", { timeout: 120_000 }, async () => {
    let server: ServerProcess | undefined = await spawnServer([], { env: await envOf({ STYX_ERASURE_STEP_PAUSE: "2s" }) });
    try {
      const base = server.url;
      // The user to erase: a golem with a bound key, entries (one with a blob), a blob no entry names, stream history, a death.
      assert.equal((await call(base, "POST", "/v1/admin/users", ADMIN, { id: USER })).status, 201);
      const key = (await call(base, "POST", `/v1/admin/users/${USER}/keys`, ADMIN, { name: "owner" })).json.key as string;
      assert.equal((await call(base, "POST", "/v1/styx/golems", key, { id: GOLEM })).status, 201);
      const bound = (await call(base, "POST", `/v1/admin/users/${USER}/keys`, ADMIN, { name: "g", golem_id: GOLEM })).json.key as string;
      const referenced = (await call(base, "PUT", "/v1/styx/blobs", key, undefined, "a blob an entry of the leaver names")).json
        .cid as string;
      const loose = (await call(base, "PUT", "/v1/styx/blobs", key, undefined, "a backup no entry names")).json.cid as string;
      for (let i = 0; i < 5; i++) {
        const body = {
          golem_id: GOLEM,
          layer: i % 2 ? "clade" : "vault",
          category: "insight",
          confidence: 0.9,
          content: `leaver note ${i}`,
        };
        const w = await call(
          base,
          "POST",
          "/v1/styx/entries",
          i === 0 ? bound : key,
          i === 0 ? { ...body, content_blob: referenced } : body,
        );
        assert.equal(w.status, 201, w.text);
      }
      assert.ok((await call(base, "POST", `/v1/styx/golem/${GOLEM}/steer`, key, { intent: "hold" })).status < 300);
      const died = await call(base, "POST", "/v1/styx/bloodstain", key, {
        golem_id: GOLEM,
        generation: 0,
        death_cause: "liquidated",
        death_testament_excerpt: `${GOLEM} signs off`,
        warnings: [{ domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations" }],
        timestamp: new Date().toISOString(),
      });
      assert.equal(died.status, 201, died.text);
      // Another user, untouched by the erasure.
      assert.equal((await call(base, "POST", "/v1/admin/users", ADMIN, { id: KEPT })).status, 201);
      const keptKey = (await call(base, "POST", `/v1/admin/users/${KEPT}/keys`, ADMIN, { name: "k" })).json.key as string;
      await call(base, "POST", "/v1/styx/golems", keptKey, { id: KEPT_GOLEM });
      assert.equal((await call(base, "POST", "/v1/styx/golems", keptKey, { id: GONE })).status, 201);
      // The owner's stream: events naming the golem to erase between events of its sibling.
      for (const g of [KEPT_GOLEM, GONE, KEPT_GOLEM, GONE, KEPT_GOLEM]) {
        const steer = await call(base, "POST", `/v1/styx/golem/${g}/steer`, keptKey, { intent: "hold" });
        assert.ok(steer.status < 300, steer.text);
      }
      const keptEntry = await call(base, "POST", "/v1/styx/entries", keptKey, {
        golem_id: KEPT_GOLEM,
        layer: "vault",
        category: "insight",
        content: "I stay",
      });
      assert.equal(keptEntry.status, 201, keptEntry.text);

      const asked = await call(base, "DELETE", `/v1/admin/users/${USER}`, ADMIN);
      assert.equal(asked.status, 202, asked.text);
      const jobId = asked.json.id as string;
      const goneJob = await call(base, "DELETE", `/v1/styx/golems/${GONE}`, keptKey);
      assert.equal(goneJob.status, 202, goneJob.text);
      const deadline = performance.now() + 30_000;
      const entriesStep = (line: string) => line.includes(jobId) && line.includes('"step":"entries"') && line.includes('"erasure step"');
      while (!server.output().split("\n").some(entriesStep)) {
        assert.ok(performance.now() < deadline, `the entries step never started:\n${server.output().slice(-3000)}`);
        await sleep(20);
      }
      server.proc.kill("SIGKILL");
      assert.equal(await server.exited, "SIGKILL");
      server = undefined;

      const hexes = [referenced, loose].map((c) => c.slice(3));
      const mid = await scan([USER, GOLEM], hexes);
      assert.ok(
        mid.rows.some((r) => r.startsWith("entries:")),
        `killed mid-job: the leaver's entries are still there (else this test proves nothing): ${mid.rows.join("\n")}`,
      );
      const midGone = await scan([GONE], []);
      assert.ok(
        [...midGone.rows, ...midGone.messages].some((r) => r.includes("styx:steer") || r.includes("hold")),
        `killed before the golem's erasure: its owner's stream still names it: ${JSON.stringify(midGone)}`,
      );

      server = await spawnServer([], { env: await envOf({}) });
      for (const id of [jobId, goneJob.json.id as string]) {
        let job: { state: string; step: number } | undefined;
        while (performance.now() < deadline + 30_000) {
          job = (await call(server.url, "GET", `/v1/admin/erasures/${id}`, ADMIN)).json;
          if (job?.state === "done") break;
          await sleep(100);
        }
        assert.equal(job?.state, "done", JSON.stringify(job));
      }
      assert.equal((await call(server.url, "GET", "/v1/styx/me", key)).status, 401);
      assert.equal((await call(server.url, "GET", `/v1/admin/users/${USER}/keys`, ADMIN)).status, 404);
      assert.equal(
        (await call(server.url, "GET", `/v1/styx/entries/${keptEntry.json.id}`, keptKey)).status,
        200,
        "the other user keeps theirs",
      );
      server.proc.kill("SIGTERM");
      await server.exited;
      server = undefined;

      const end = await scan([USER, GOLEM, GONE], hexes);
      assert.deepEqual(end, { rows: [], messages: [], objects: [] });
      const sibling = await scan([KEPT_GOLEM], []);
      assert.ok(
        sibling.rows.some((r) => r.startsWith("entries:")) && (cluster ? sibling.messages : sibling.rows).some((r) => r.includes("hold")),
        `the sibling's entry and its steers stay: ${JSON.stringify(sibling)}`,
      );
    } finally {
      server?.proc.kill("SIGKILL");
    }
  });
});
