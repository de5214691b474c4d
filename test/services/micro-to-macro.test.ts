import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { TieredHistory } from "../../src/core/fabric/tiered-history.js";
import { unitVector } from "../../src/testing/contracts/vector-index.contract.js";
import { type Gateway, startGateway, testCluster } from "../../src/testing/gateways.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { macroEnv } from "../../src/testing/services.js";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const DIM = 384;
/** More than the warm tier keeps (10,000) plus one archive (1,000): the oldest events are in a cold archive. */
const EVENTS = 11_500;

/** The answers a client sees, asked of a micronode or of a gateway. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Ask = (method: string, path: string, token: string, body?: unknown) => Promise<{ status: number; json: any; text: string }>;

const fromServer =
  (s: TestServer): Ask =>
  (method, path, token, body) =>
    s.request(method, path, { token, ...(body === undefined ? {} : { body }) });
const fromGateway =
  (g: Gateway): Ask =>
  (method, path, token, body) =>
    g.request(method, path, { token, ...(body === undefined ? {} : { body }) });

/** Acceptance 5 of issue 17: a micronode grows into a macronode cluster of two gateways without losing anything. */
describe("styx restore of a micronode backup into a macronode cluster (scale-out)", () => {
  let s: TestServer;
  let work: string;
  let file: string;
  let s3: S3Server;
  const cluster = testCluster();
  const gateways: Gateway[] = [];
  let key: string;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const golem = "so-golem";
  const dead = "so-dead";
  let epochBefore: string;
  let headBefore: number;
  let blobCid: string;
  const blobBytes = randomBytes(150_000);

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "styx-scale-out-"));
    file = join(work, "micro.backup");
    s = await startTestServer({ persistent: true, profile: "micro" });
    key = Buffer.from(s.styx.secretKey.key.bytes).toString("base64");
    alice = await s.user("so-alice");
    bob = await s.user("so-bob");
    await s.golem(alice.key, { id: golem });
    await s.golem(alice.key, { id: dead });
    await s.golem(bob.key, { id: "so-bob-golem" });
    const put = await s.request("PUT", "/v1/styx/blobs", {
      token: alice.key,
      raw: blobBytes,
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(put.status, 201, put.text);
    blobCid = put.json.cid;
    const entries = Array.from({ length: 60 }, (_, j) => ({
      golem_id: golem,
      layer: j % 2 === 0 ? "clade" : "vault",
      content: `scale-out entry ${j}: the oracle lags by ${j} blocks${j % 5 === 0 ? " while funding flips" : ""}`,
      category: j % 3 === 0 ? "warning" : "insight",
      confidence: 0.5 + (j % 5) / 10,
      domain: "defi",
      idempotency_key: `so-${j}`,
      embedding: Array.from(unitVector(5_000 + j, DIM)),
      ...(j === 7 ? { content_blob: blobCid } : {}),
    }));
    const batch = await s.request("POST", "/v1/styx/entries/batch", { token: alice.key, body: { entries } });
    assert.equal(batch.status, 201, batch.text);
    const own = await s.request("POST", "/v1/styx/entries", {
      token: bob.key,
      body: { golem_id: "so-bob-golem", layer: "vault", category: "insight", content: "bob's own note on the oracle" },
    });
    assert.equal(own.status, 201, own.text);
    for (const [cls, intensity] of [
      ["oracle.lag", 0.9],
      ["funding.flip", 0.6],
    ] as const) {
      const dep = await s.request("POST", "/v1/styx/pheromone/deposit", {
        token: alice.key,
        body: { golem_id: golem, domain: "defi", layer: "threat", class: cls, intensity, regime: "bull" },
      });
      assert.ok(dep.status < 300, `pheromone deposit: ${dep.status} ${dep.text}`);
    }
    const died = await s.request("POST", "/v1/styx/bloodstain", {
      token: alice.key,
      body: {
        golem_id: dead,
        generation: 0,
        death_cause: "liquidated",
        warnings: [{ domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations" }],
        timestamp: new Date().toISOString(),
      },
    });
    assert.equal(died.status, 201, died.text);

    // Stream history: enough events that the oldest go to a cold archive (a blob), the rest stay warm.
    const { sock, welcome } = await TestSocket.connect(s.url, alice.key);
    epochBefore = welcome.streams[`user:${alice.id}`].epoch;
    for (let i = 1; i <= EVENTS; i++) {
      sock.send({ type: "event", golem_id: golem, event: { type: "golem:tick", i } });
      if (i % 500 === 0) await sock.request({ type: "ping" });
    }
    await sock.request({ type: "ping" });
    await sock.close();
    const report = await (s.styx.fabric.history as unknown as TieredHistory).archive();
    assert.ok(report.blobs >= 1, `archived ${JSON.stringify(report)}`);
    const stream = `user:${alice.id}`;
    const again = await TestSocket.connect(s.url, alice.key);
    headBefore = again.welcome.streams[stream].seq;
    await again.sock.close();
    assert.ok(headBefore >= EVENTS, `head ${headBefore}`);
  });

  after(async () => {
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await s3?.close();
    await cluster.drop();
    await s?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Asks `reference` and every one of `targets` the same questions as alice and bob: lexical,
   * vector, fused and clade queries, both golems' snapshots (and bob kept out of alice's), the
   * pheromones sensed, the graveyard and the dead golem.
   */
  const sameAnswers = async (reference: Ask, asks: Ask[]) => {
    const near = Array.from(unitVector(5_000 + 12, DIM));
    const questions: [string, string, string, unknown?][] = [
      ["lexical query", "POST", "/v1/styx/query", { query: "oracle lags funding", limit: 10 }],
      ["vector query", "POST", "/v1/styx/query", { embedding: near, limit: 5 }],
      ["fused query", "POST", "/v1/styx/query", { embedding: near, query: "funding flips", limit: 8 }],
      ["clade query", "POST", "/v1/styx/query", { query: "oracle", layers: ["clade"], limit: 10 }],
    ];
    const ids = (r: { json: { hits: { id: string }[] } }) => r.json.hits.map((h) => h.id);
    for (const [what, method, path, body] of questions) {
      const want = await reference(method, path, alice.key, body);
      assert.equal(want.status, 200, `${what}: ${want.text}`);
      assert.ok(want.json.hits.length > 0, `${what}: the reference finds hits`);
      for (const [i, ask] of asks.entries()) {
        const got = await ask(method, path, alice.key, body);
        assert.equal(got.status, 200, `${what} on target ${i}: ${got.text}`);
        assert.deepEqual(ids(got), ids(want), `${what} on target ${i}`);
      }
    }
    // Snapshots, byte for byte; bob's tenancy holds.
    const snapshot = async (ask: Ask, token: string, id: string) => {
      const r = await ask("GET", `/v1/styx/snapshot/${id}?format=json&limit=1000`, token);
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    const wantSnap = await snapshot(reference, alice.key, golem);
    const wantBob = await snapshot(reference, bob.key, "so-bob-golem");
    for (const ask of asks) {
      assert.deepEqual(await snapshot(ask, alice.key, golem), wantSnap);
      assert.deepEqual(await snapshot(ask, bob.key, "so-bob-golem"), wantBob);
      assert.equal((await ask("GET", `/v1/styx/snapshot/${golem}?format=json&limit=1`, bob.key)).status, 404);
    }
    // Pheromones: the same deposits sensed (intensities decay with time: compared to a tolerance).
    const sense = async (ask: Ask) => {
      const r = await ask("GET", "/v1/styx/pheromone/sense?domains=defi", alice.key);
      assert.equal(r.status, 200, r.text);
      return r.json;
    };
    const shape = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(shape)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v).map(([k, x]) => [k, typeof x === "number" && !Number.isInteger(x) ? Math.round(x * 100) / 100 : shape(x)]),
            )
          : v;
    const wantSense = await sense(reference);
    assert.ok(JSON.stringify(wantSense).includes("oracle.lag"));
    for (const ask of asks) assert.deepEqual(shape(await sense(ask)), shape(wantSense));
    // The graveyard and the dead golem.
    const wantGrave = await reference("GET", `/v1/styx/graveyard/${alice.id}`, alice.key);
    assert.equal(wantGrave.status, 200, wantGrave.text);
    assert.ok(wantGrave.text.includes(dead));
    for (const ask of asks) {
      const got = await ask("GET", `/v1/styx/graveyard/${alice.id}`, alice.key);
      assert.equal(got.status, 200, got.text);
      assert.deepEqual(got.json, wantGrave.json);
      assert.equal((await ask("GET", `/v1/styx/golems/${dead}`, alice.key)).json.status, "dead");
    }
  };

  /** The blob's bytes as `url` serves them to alice. */
  const blobFrom = async (url: string) => {
    const blob = await fetch(`${url}/v1/styx/blobs/${blobCid}`, { headers: { authorization: `Bearer ${alice.key}` } });
    assert.equal(blob.status, 200);
    return Buffer.from(await blob.arrayBuffer());
  };

  it("backs up the micronode and restores it into an empty cluster, with progress and verification", { timeout: 120_000 }, async (t) => {
    const b = await runCliAsync(["backup", file], { env: storeEnv(s.styx.config) });
    assert.equal(b.code, 0, `backup failed: ${b.stderr}`);
    s3 = await startS3Server();
    const env = { ...storeEnv(s.styx.config), ...(macroEnv(cluster.name, s3) as Record<string, string>), STYX_SECRET_KEY: key };
    delete (env as Record<string, string | undefined>).STYX_DATA_DIR;
    const r = await runCliAsync(["restore", file], { env });
    assert.equal(r.code, 0, `restore failed: ${r.stderr}`);
    assert.match(r.stdout, /^restored .* into cluster .* \(from a micronode\): \d+ tables .* stream messages.* new stream epoch ep_\S+/);
    for (const phase of ["verify: started", "restore: started", "verify tables: started", "history: started"])
      assert.ok(r.stderr.includes(phase), `progress of ${phase}: ${r.stderr}`);
    assert.match(r.stderr, /restore: table entries \(/);
    t.diagnostic(r.stdout.trim());
    t.diagnostic(r.stderr.trim().split("\n").slice(-6).join(" | "));

    // Into a cluster that now holds data: refused, nothing touched.
    const again = await runCliAsync(["restore", file], { env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not empty/);
    // Another key than the micronode's: refused, and the new cluster stays empty.
    const other = testCluster();
    try {
      const wrong = await runCliAsync(["restore", file], {
        env: { ...env, ...(macroEnv(other.name, s3) as Record<string, string>), STYX_SECRET_KEY: randomBytes(32).toString("base64") },
      });
      assert.equal(wrong.code, 1, wrong.stdout);
      assert.match(wrong.stderr, /STYX_SECRET_KEY is not the key the micronode/);
      // What the refused restore wrote is gone again: the right key then restores into the same cluster.
      const right = await runCliAsync(["restore", file], {
        env: { ...env, ...(macroEnv(other.name, s3) as Record<string, string>), STYX_SECRET_KEY: key },
      });
      assert.equal(right.code, 0, right.stderr);
    } finally {
      await other.drop();
    }
  });

  it("two gateways serve what the micronode served, and resume streams under the new epoch", { timeout: 120_000 }, async () => {
    // One after the other (each loads the vector indexes at start) and kept as they start, so
    // `after` stops whichever did.
    for (let i = 0; i < 2; i++) gateways.push(await startGateway(cluster.name, s3, { STYX_SECRET_KEY: key }));
    await sameAnswers(fromServer(s), gateways.map(fromGateway));
    // The blob, through either gateway.
    for (const g of gateways) assert.ok((await blobFrom(g.url)).equals(blobBytes), "blob bytes equal");

    // Streams: a position of the micronode is told recovered: false with the new epoch; from
    // there on, a resume on the other gateway is recovered: true, from the cold part of the history on.
    const stream = `user:${alice.id}`;
    const [a, b] = gateways as [Gateway, Gateway];
    const first = await TestSocket.connect(a.url, alice.key);
    const stale = await first.sock.request({ type: "resume", streams: { [stream]: { epoch: epochBefore, seq: headBefore - 10 } } });
    const told = stale.streams[stream];
    assert.equal(told.recovered, false, JSON.stringify(told));
    assert.equal(told.reason, "epoch_changed");
    assert.notEqual(told.epoch, epochBefore);
    assert.equal(told.seq, headBefore, "the stream's head keeps its seq");
    assert.equal(first.welcome.streams[stream].epoch, told.epoch);
    await first.sock.close();
    const second = await TestSocket.connect(b.url, alice.key);
    const from = 200;
    const resumed = await second.sock.request({ type: "resume", streams: { [stream]: { epoch: told.epoch, seq: from } } });
    assert.equal(resumed.streams[stream].recovered, true, JSON.stringify(resumed.streams[stream]));
    await second.sock.until(() => second.sock.events(stream).length >= headBefore - from || undefined, 60_000);
    // Event for event as the micronode replays them (archived and warm alike).
    const replayed = (sock: TestSocket) =>
      sock
        .events(stream)
        .slice(0, headBefore - from)
        .map((e) => ({ seq: e.seq, ts: e.ts, channel: e.channel, payload: e.payload }));
    const original = await TestSocket.connect(s.url, alice.key);
    const back = await original.sock.request({ type: "resume", streams: { [stream]: { epoch: epochBefore, seq: from } } });
    assert.equal(back.streams[stream].recovered, true);
    await original.sock.until(() => original.sock.events(stream).length >= headBefore - from || undefined, 60_000);
    const want = replayed(original.sock);
    await original.sock.close();
    const got = replayed(second.sock);
    assert.equal(got.length, headBefore - from);
    assert.equal(got[0]?.seq, from + 1);
    assert.equal(got.at(-1)?.seq, headBefore);
    assert.deepEqual(got, want, "every event as on the micronode, in order");
    // New events go on from the restored head, and a resume from there is recovered.
    const ack = await second.sock.request({ type: "event", golem_id: golem, event: { type: "golem:tick", i: EVENTS + 1 } });
    assert.equal(ack.seq, headBefore + 1);
    await second.sock.close();
    const third = await TestSocket.connect(a.url, alice.key);
    const onward = await third.sock.request({ type: "resume", streams: { [stream]: { epoch: told.epoch, seq: headBefore } } });
    assert.equal(onward.streams[stream].recovered, true, JSON.stringify(onward.streams[stream]));
    await third.sock.until(() => third.sock.events(stream).length >= 1 || undefined, 10_000);
    assert.equal(third.sock.events(stream)[0]?.seq, headBefore + 1);
    await third.sock.close();
  });
  it("the way back: the cluster's backup restores into a new micronode that serves the same answers", { timeout: 120_000 }, async (t) => {
    assert.equal(gateways.length, 2, "the gateways of the previous test are up");
    const back = join(work, "macro.backup");
    const macro = { ...storeEnv(s.styx.config), ...(macroEnv(cluster.name, s3) as Record<string, string>), STYX_SECRET_KEY: key };
    delete (macro as Record<string, string | undefined>).STYX_DATA_DIR;
    const b = await runCliAsync(["backup", back], { env: macro });
    assert.equal(b.code, 0, `backup of the cluster failed: ${b.stderr}`);
    const dir = join(work, "micro-again");
    const micro = { ...storeEnv(s.styx.config), STYX_DATA_DIR: dir, STYX_SECRET_KEY: key };
    const { STYX_SECRET_KEY: _, ...keyless } = micro;
    const refused = await runCliAsync(["restore", back, "--profile", "micro"], { env: keyless });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /a macronode backup, which never holds STYX_SECRET_KEY/);
    const r = await runCliAsync(["restore", back, "--profile", "micro"], { env: micro });
    assert.equal(r.code, 0, `restore into a micronode failed: ${r.stderr}`);
    assert.match(r.stdout, /from a macronode: \d+ events of \d+ streams, \d+ secrets\)/);
    t.diagnostic(r.stdout.trim());
    const again = await startTestServer({ dataDir: dir, profile: "micro", env: { STYX_SECRET_KEY: key } });
    try {
      await sameAnswers(gateways.map(fromGateway)[0] as Ask, [fromServer(again)]);
      assert.ok((await blobFrom(again.url)).equals(blobBytes), "blob bytes equal");
      // The history, event for event as the gateways replay it, under yet another epoch.
      const stream = `user:${alice.id}`;
      const replay = async (url: string) => {
        const { sock, welcome } = await TestSocket.connect(url, alice.key);
        const { epoch, seq } = welcome.streams[stream];
        const resumed = await sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 100 } } });
        assert.equal(resumed.streams[stream].recovered, true, JSON.stringify(resumed.streams[stream]));
        await sock.until(() => sock.events(stream).length >= seq - 100 || undefined, 60_000);
        const events = sock.events(stream).map((e) => ({ seq: e.seq, ts: e.ts, channel: e.channel, payload: e.payload }));
        await sock.close();
        return { epoch, seq, events };
      };
      const want = await replay((gateways[0] as Gateway).url);
      const got = await replay(again.url);
      assert.notEqual(got.epoch, want.epoch);
      assert.equal(got.seq, want.seq);
      assert.deepEqual(got.events, want.events);
    } finally {
      await again.close();
    }
  });
});
