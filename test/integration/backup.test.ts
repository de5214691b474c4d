import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync, gzipSync } from "node:zlib";
import type { NewEntry } from "../../src/core/knowledge/types.js";
import { unitVector } from "../../src/testing/contracts/vector-index.contract.js";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const ENTRIES = 100_000;
const EVENTS = 10_000;
const DIM = 384;

/** Where a restore of `s`'s backup goes: a new data dir, or a new cluster on the same services. */
function freshTarget(
  s: TestServer,
  work: string,
): { env: Record<string, string>; serve: () => Promise<TestServer>; drop: () => Promise<void> } {
  const base = storeEnv(s.styx.config);
  // The backup holds no STYX_SECRET_KEY (no --with-secrets; a macronode's is never in the
  // cluster): the restore (which chains its audit record under it) and the restored server are
  // given the original's.
  const key = Buffer.from(s.styx.secretKey.key.bytes).toString("base64");
  if (s.profile === "micro") {
    const dir = join(work, "restored");
    return {
      env: { ...base, STYX_DATA_DIR: dir, STYX_SECRET_KEY: key },
      serve: () => startTestServer({ dataDir: dir, env: { STYX_SECRET_KEY: key } }),
      drop: async () => {},
    };
  }
  const cluster = `t_${randomBytes(6).toString("hex")}`;
  return {
    env: { ...base, STYX_CLUSTER: cluster },
    serve: () => startTestServer({ env: { STYX_CLUSTER: cluster, STYX_SECRET_KEY: key } }),
    drop: async () => {
      const { dropClusters } = await import("../../src/testing/services.js");
      await dropClusters((c) => c === cluster);
    },
  };
}

/** The NDJSON snapshot of a golem's vault, as a sorted list of lines (the order of equal timestamps may differ). */
function snapshotLines(s: TestServer, golem: string, key: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`/v1/styx/snapshot/${golem}`, s.url), { headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`snapshot ${res.statusCode}`));
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8").split("\n").filter(Boolean).sort()));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function flipByte(bytes: Buffer, at: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}

function seedEntry(i: number, user: string, golem: string): { entry: NewEntry } {
  return {
    entry: {
      id: `ent_bk_${i}`,
      userId: user,
      golemId: golem,
      category: "insight",
      content: `backup entry ${i}: ${i % 7 === 0 ? "funding rate flips" : "liquidity thins"} on pool ${i % 97}`,
      contentHash: "0".repeat(64),
      contentBlob: null,
      embedding: i % 50 === 0 ? unitVector(i + 1, DIM) : null,
      domain: i % 3 === 0 ? "defi" : null,
      regime: null,
      confidence: 0.5,
      affect: null,
      emotion: null,
      metadata: { i },
      isBloodstain: false,
      inClade: false,
      validations: 0,
      contradictions: 0,
      createdAt: Date.now() - (ENTRIES - i),
      expiresAt: null,
      letheAt: null,
      letheWaiting: false,
      idempotencyKey: null,
    },
  };
}

describe("styx backup / styx restore", () => {
  let s: TestServer;
  let work: string;
  let file: string;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const golem = "bk-golem";
  let epochBefore: string;
  let blobCid: string;
  const blobBytes = randomBytes(200_000);
  let duringBackup = 0;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "styx-backup-"));
    file = join(work, "styx.backup");
    s = await startTestServer({ persistent: true });
    alice = await s.user("bk-alice");
    bob = await s.user("bk-bob");
    await s.golem(alice.key, { id: golem });
    await s.golem(bob.key, { id: "bk-bob-golem" });
    // Most entries straight into the store (this test is about the copy, not the write path),
    // 200 through the API: clade promotion, idempotency keys, full-text and vector indexing.
    for (let from = 0; from < ENTRIES - 200; from += 2000) {
      const batch: { entry: NewEntry }[] = [];
      for (let i = from; i < Math.min(from + 2000, ENTRIES - 200); i++) batch.push(seedEntry(i, alice.id, golem));
      await s.styx.storage.entries.insertMany(batch);
      await new Promise((r) => setImmediate(r));
    }
    for (let b = 0; b < 2; b++) {
      const entries = Array.from({ length: 100 }, (_, j) => ({
        golem_id: golem,
        layer: "clade",
        content: `api entry ${b * 100 + j}: the oracle lags by ${j} blocks`,
        category: "warning",
        confidence: 0.8,
        domain: "defi",
        idempotency_key: `bk-${b}-${j}`,
        embedding: Array.from(unitVector(1_000_000 + b * 100 + j, DIM)),
      }));
      const r = await s.request("POST", "/v1/styx/entries/batch", { token: alice.key, body: { entries } });
      assert.equal(r.status, 201, r.text);
    }
    const own = await s.request("POST", "/v1/styx/entries", {
      token: bob.key,
      body: { golem_id: "bk-bob-golem", layer: "vault", category: "insight", content: "bob's own note" },
    });
    assert.equal(own.status, 201, own.text);
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: alice.key,
      raw: blobBytes,
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(put.status, 201, put.text);
    blobCid = put.json.cid;
    const dep = await s.request("POST", "/v1/styx/pheromone/deposit", {
      token: alice.key,
      body: { golem_id: golem, domain: "defi", layer: "threat", class: "oracle.lag", intensity: 0.9, regime: "bull" },
    });
    assert.ok(dep.status < 300, `pheromone deposit: ${dep.status} ${dep.text}`);

    const { sock, welcome } = await TestSocket.connect(s.url, alice.key);
    epochBefore = welcome.streams[`user:${alice.id}`].epoch;
    for (let i = 1; i <= EVENTS; i++) {
      sock.send({ type: "event", golem_id: golem, event: { type: "golem:tick", i } });
      if (i % 500 === 0) await sock.request({ type: "ping" });
    }
    await sock.request({ type: "ping" });
    await sock.close();
  });
  after(async () => {
    await s?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it(`backs up ${ENTRIES.toLocaleString()} entries and ${EVENTS.toLocaleString()} events while the server keeps writing`, {
    timeout: 240_000,
  }, async () => {
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const r = await s.request("POST", "/v1/styx/entries", {
          token: alice.key,
          body: { golem_id: golem, layer: "vault", category: "insight", content: `during backup ${duringBackup}` },
        });
        assert.equal(r.status, 201, r.text);
        duringBackup++;
      }
    })();
    const r = await runCliAsync(["backup", file], { env: storeEnv(s.styx.config) });
    writing = false;
    await writer;
    assert.equal(r.code, 0, `backup failed: ${r.stderr}`);
    assert.match(r.stdout, /^backup written to .*styx\.backup: \d+ tables \([\d,]+ rows\), \d+ files .*blake3 [0-9a-f]{64}/);
    // Not a terminal: progress is plain lines on stderr.
    assert.match(r.stderr, /backup: started/);
    assert.match(r.stderr, /backup: (50|60)% /);
    assert.doesNotMatch(r.stderr, /\r/);
    assert.equal(statSync(file).mode & 0o777, 0o600, "the backup holds secrets: mode 0600");
    assert.ok(!existsSync(`${file}.partial`), "no partial file left");
    assert.ok(duringBackup > 0, "writes went on during the backup");
    // The server reports the backup's success for the StyxBackupStale alert.
    const metrics = await s.request("GET", "/metrics");
    const at = Number(/^styx_backup_last_success_timestamp_seconds (\S+)$/m.exec(metrics.text)?.[1]);
    assert.ok(Math.abs(at - Date.now() / 1000) < 120, `backup gauge ${at}`);
  });

  it("refuses a truncated or altered file, naming what is wrong, and writes nothing", { timeout: 120_000 }, async () => {
    const bytes = readFileSync(file);
    const cases: [string, Buffer, RegExp][] = [
      ["truncated", bytes.subarray(0, Math.floor(bytes.length * 0.6)), /is truncated/],
      ["a byte flipped", flipByte(bytes, bytes.length >> 1), /damaged|altered|not a valid/],
      ["not a backup", Buffer.from("hello\n"), /damaged or not a Styx backup|not a Styx backup/],
    ];
    // A row edited and the file compressed again: gzip is happy, the hash is not.
    const text = gunzipSync(bytes).toString("utf8");
    assert.ok(text.includes("backup entry 4242:"), "the entry to alter is in the file");
    cases.push([
      "a row edited, recompressed",
      gzipSync(text.replace("backup entry 4242:", "backup entry 4243:")),
      /was altered: its content hash/,
    ]);
    const lines = text.split("\n");
    cases.push(["the trailer cut off", gzipSync(lines.slice(0, -2).join("\n") + "\n"), /ends without its trailer/]);
    for (const [what, content, expected] of cases) {
      const bad = join(work, "bad.backup");
      writeFileSync(bad, content);
      const target = freshTarget(s, work);
      const r = await runCliAsync(["restore", bad], { env: target.env });
      assert.equal(r.code, 1, `${what}: restore must fail (stdout ${r.stdout})`);
      assert.match(r.stderr, /^styx: restore refused: /m, what);
      assert.match(r.stderr, expected, what);
      if (s.profile === "micro") assert.ok(!existsSync(join(work, "restored")), `${what}: nothing written`);
      await target.drop();
    }
    if (s.profile === "micro") {
      // Without --with-secrets the backup holds no key to chain the restore's audit record under.
      const { STYX_SECRET_KEY: _, ...keyless } = freshTarget(s, work).env;
      const r = await runCliAsync(["restore", file], { env: keyless });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /restore refused: .* holds no STYX_SECRET_KEY \(taken without --with-secrets\)/);
      assert.ok(!existsSync(join(work, "restored")), "keyless: nothing written");
    }
  });

  it("restores into an empty store; the restored server passes a read-back comparison and resumes streams", {
    timeout: 240_000,
  }, async () => {
    const target = freshTarget(s, work);
    const r = await runCliAsync(["restore", file], { env: target.env });
    assert.equal(r.code, 0, `restore failed: ${r.stderr}`);
    assert.match(r.stdout, /^restored .* new stream epoch ep_\S+/);
    assert.match(r.stderr, /verify: started/);

    // A second restore into the now full target is refused.
    const again = await runCliAsync(["restore", file], { env: target.env });
    assert.equal(again.code, 1, "restore into a full store must fail");
    assert.match(again.stderr, /not empty/);

    const t = await target.serve();
    try {
      // Every entry, byte for byte as the snapshot shows it.
      const original = await snapshotLines(s, golem, alice.key);
      const restored = await snapshotLines(t, golem, alice.key);
      assert.ok(restored.length >= ENTRIES && restored.length <= original.length, `restored ${restored.length} of ${original.length}`);
      assert.ok(restored.length - ENTRIES <= duringBackup, "the writes during the backup are in or out, nothing else");
      const originalSet = new Set(original);
      const missing = restored.filter((l) => !originalSet.has(l));
      assert.deepEqual(missing.slice(0, 3), [], "every restored entry equals the original");
      assert.ok(restored.length - ENTRIES >= 0, "the snapshot's entries are all there");
      assert.deepEqual(await snapshotLines(t, "bk-bob-golem", bob.key), await snapshotLines(s, "bk-bob-golem", bob.key));

      // Queries: full text answers as on the original; a vector query finds the same nearest entry
      // (the seeded vectors went straight into the store, so only the restored server's index,
      // loaded from the entries, holds them: the ranks after the first may differ).
      const text = { query: "oracle lags blocks", limit: 5 };
      const [a, b] = [
        await s.request("POST", "/v1/styx/query", { token: alice.key, body: text }),
        await t.request("POST", "/v1/styx/query", { token: alice.key, body: text }),
      ];
      assert.equal(b.status, 200, b.text);
      assert.equal(b.json.hits.length, 5, "the restored server finds hits by text");
      assert.deepEqual(
        b.json.hits.map((h: { id: string }) => h.id),
        a.json.hits.map((h: { id: string }) => h.id),
      );
      const near = { embedding: Array.from(unitVector(1_000_000 + 42, DIM)), limit: 3 };
      const [va, vb] = [
        await s.request("POST", "/v1/styx/query", { token: alice.key, body: near }),
        await t.request("POST", "/v1/styx/query", { token: alice.key, body: near }),
      ];
      assert.equal(vb.status, 200, vb.text);
      assert.ok(vb.json.hits.length > 0, "the restored server finds hits by vector");
      assert.equal(vb.json.hits[0].id, va.json.hits[0].id);
      // Keys (hashed at rest) still authenticate, tenancy still holds, the blob is intact.
      assert.equal((await t.request("GET", `/v1/styx/snapshot/${golem}?format=json&limit=1`, { token: bob.key })).status, 404);
      const blob = await fetch(`${t.url}/v1/styx/blobs/${blobCid}`, { headers: { authorization: `Bearer ${alice.key}` } });
      assert.equal(blob.status, 200);
      assert.ok(Buffer.from(await blob.arrayBuffer()).equals(blobBytes), "blob bytes equal");
      const sensed = await t.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: alice.key });
      assert.equal(sensed.status, 200, sensed.text);
      assert.ok(JSON.stringify(sensed.json).includes("oracle.lag"), "the pheromone is restored");

      // Streams: the history is there under a new epoch, event for event as on the original up to
      // the backup's moment; a position from before is told to resync; new events follow on.
      const stream = `user:${alice.id}`;
      const replay = async (server: TestServer) => {
        const { sock, welcome } = await TestSocket.connect(server.url, alice.key);
        const { epoch, seq } = welcome.streams[stream];
        const resumed = await sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 0 } } });
        assert.equal(resumed.streams[stream].recovered, true, JSON.stringify(resumed));
        await sock.until(() => sock.events(stream).length >= seq || undefined, 60_000);
        const events = sock.events(stream).map((e) => ({ seq: e.seq, ts: e.ts, channel: e.channel, payload: e.payload }));
        return { sock, epoch, head: seq as number, events };
      };
      const before = await replay(s);
      await before.sock.close();
      const after = await replay(t);
      assert.notEqual(after.epoch, epochBefore, "a restore starts a new epoch");
      assert.ok(after.head >= EVENTS && after.head <= before.head, `restored head ${after.head}, original ${before.head}`);
      assert.equal(after.events.length, after.head);
      assert.deepEqual(after.events, before.events.slice(0, after.head), "every event as on the original, in order");
      const ticks = after.events.filter((e) => e.channel === "golem:tick");
      assert.deepEqual(
        ticks.map((e) => e.payload.i),
        Array.from({ length: EVENTS }, (_, i) => i + 1),
      );
      const stale = await after.sock.request({ type: "resume", streams: { [stream]: { epoch: epochBefore, seq: 9_990 } } });
      assert.equal(stale.streams[stream].recovered, false);
      assert.equal(stale.streams[stream].reason, "epoch_changed");
      const ack = await after.sock.request({ type: "event", golem_id: golem, event: { type: "golem:tick", i: EVENTS + 1 } });
      assert.equal(ack.seq, after.head + 1, "the stream goes on from the restored head");
      await after.sock.close();

      // The audit chain is intact and records the restore.
      const audit = await t.request("GET", "/v1/admin/audit?limit=1000", { token: t.adminToken });
      assert.equal(audit.status, 200, audit.text);
      assert.ok(JSON.stringify(audit.json).includes("backup.restored"), "the restore is in the audit log");
      const verify = await runCliAsync(["audit", "verify"], { env: target.env });
      assert.equal(verify.code, 0, `audit verify: ${verify.stdout}${verify.stderr}`);
    } finally {
      await t.close();
      await target.drop();
    }
  });
});
