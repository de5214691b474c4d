import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { blake3 } from "hash-wasm";
import { openS3Client } from "../../src/adapters/s3/s3-blob-store.js";
import { s3Options } from "../../src/app/macro-storage.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const OCTETS = { "content-type": "application/octet-stream" };

/** Recognisable bytes: a marker string repeated, so a leak of blob bytes into a body is visible. */
function blobBytes(n: number, marker = "STYX-BLOB-PAYLOAD-"): Uint8Array {
  const out = new Uint8Array(n);
  const m = new TextEncoder().encode(marker);
  for (let i = 0; i < n; i++) out[i] = m[i % m.length] ?? 0;
  return out;
}

async function get(s: TestServer, path: string, token: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(s.url + path, { headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes, text: Buffer.from(bytes).toString("utf8") };
}

/** Runs `fn` with an S3 client on the macronode server's bucket and its key prefix. */
async function withBucket<T>(s: TestServer, fn: (client: S3Client, bucket: string, prefix: string) => Promise<T>): Promise<T> {
  const opts = s3Options(s.styx.config, s.styx.config.s3.bucket as string);
  const client = openS3Client(opts);
  try {
    return await fn(client, opts.bucket, opts.prefix);
  } finally {
    client.destroy();
  }
}

/**
 * Flips the byte at `offset` of the stored blob, behind the server's back: its file under the
 * data dir (micronode) or its object in the bucket (macronode).
 */
async function damageBlob(s: TestServer, hex: string, offset: number): Promise<void> {
  if (s.profile === "micro") {
    assert.ok(s.dataDir, "a persistent micronode");
    const fh = await open(join(s.dataDir, "blobs", hex.slice(0, 2), hex.slice(2, 4), hex), "r+");
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, offset);
    await fh.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, offset);
    await fh.close();
    return;
  }
  await withBucket(s, async (client, Bucket, prefix) => {
    const Key = `${prefix}blobs/${hex}`;
    const got = await client.send(new GetObjectCommand({ Bucket, Key }));
    const bytes = (await got.Body?.transformToByteArray()) as Uint8Array;
    bytes[offset] = ((bytes[offset] ?? 0) ^ 0xff) & 0xff;
    await client.send(new PutObjectCommand({ Bucket, Key, Body: bytes }));
  });
}

/**
 * What the server holds of blob content, excluding ownership markers: the files under the data
 * dir's blobs/ (micronode) or the objects under the cluster's prefix (macronode, temporary
 * multipart objects included), sorted.
 */
async function storedBlobs(s: TestServer): Promise<string[]> {
  if (s.profile === "macro") {
    return withBucket(s, async (client, Bucket, Prefix) => {
      const keys: string[] = [];
      let ContinuationToken: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket, Prefix, ContinuationToken }));
        for (const o of page.Contents ?? []) if (o.Key && !o.Key.startsWith(`${Prefix}refs/`)) keys.push(o.Key);
        ContinuationToken = page.NextContinuationToken;
      } while (ContinuationToken);
      return keys.sort();
    });
  }
  assert.ok(s.dataDir, "a persistent micronode");
  const dir = join(s.dataDir, "blobs");
  try {
    const all = await readdir(dir, { recursive: true, withFileTypes: true });
    return all
      .filter((e) => e.isFile() && !join(e.parentPath, e.name).startsWith(join(dir, "refs")))
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

describe("blobs over HTTP", () => {
  let s: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const bytes = blobBytes(200_000);
  let cid: string;
  before(async () => {
    s = await startTestServer({ persistent: true });
    alice = await s.user("blob-alice");
    bob = await s.user("blob-bob");
  });
  after(() => s.close());

  it("stores raw bytes under their BLAKE3 cid and serves them back whole", async () => {
    const put = await s.request("PUT", "/v1/styx/blobs", { token: alice.key, raw: bytes, headers: OCTETS });
    assert.equal(put.status, 201, put.text);
    cid = `b3:${await blake3(bytes, 256)}`;
    assert.deepEqual(put.json, { cid, size: bytes.length });
    const again = await s.request("PUT", "/v1/styx/blobs", { token: alice.key, raw: bytes, headers: OCTETS });
    assert.deepEqual(again.json, { cid, size: bytes.length });

    const r = await get(s, `/v1/styx/blobs/${cid}`, alice.key);
    assert.equal(r.status, 200);
    assert.deepEqual(r.bytes, bytes);
    assert.equal(r.headers.get("content-length"), String(bytes.length));
    assert.equal(r.headers.get("content-type"), "application/octet-stream");
    assert.equal(r.headers.get("etag"), `"${cid}"`);
    assert.equal(r.headers.get("accept-ranges"), "bytes");
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");

    const head = await fetch(`${s.url}/v1/styx/blobs/${cid}`, { method: "HEAD", headers: { authorization: `Bearer ${alice.key}` } });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-length"), String(bytes.length));
  });

  it("serves byte ranges with 206 and Content-Range", async () => {
    const size = bytes.length;
    const cases: [string, number, number][] = [
      ["bytes=10-19", 10, 19],
      ["bytes=65530-65545", 65530, 65545],
      [`bytes=${size - 100}-`, size - 100, size - 1],
      ["bytes=-5", size - 5, size - 1],
      [`bytes=0-${size + 1000}`, 0, size - 1],
      ["bytes=-999999999", 0, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(s, `/v1/styx/blobs/${cid}`, alice.key, { range });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get("content-range"), `bytes ${start}-${end}/${size}`, range);
      assert.equal(r.headers.get("content-length"), String(end - start + 1), range);
      assert.deepEqual(r.bytes, bytes.subarray(start, end + 1), range);
    }
    // several ranges, other units, malformed: ignored, the whole blob is served
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=9-3", "bytes=x"]) {
      const r = await get(s, `/v1/styx/blobs/${cid}`, alice.key, { range });
      assert.equal(r.status, 200, range);
      assert.equal(r.bytes.length, size, range);
    }
  });

  it("answers 416 STYX_RANGE_NOT_SATISFIABLE with the size for a range outside the blob", async () => {
    for (const range of [`bytes=${bytes.length}-`, `bytes=${bytes.length + 5}-${bytes.length + 9}`, "bytes=-0"]) {
      const r = await s.request("GET", `/v1/styx/blobs/${cid}`, { token: alice.key, headers: { range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.json.error.code, "STYX_RANGE_NOT_SATISFIABLE");
      assert.equal(r.headers.get("content-range"), `bytes */${bytes.length}`);
      assert.equal(r.json.error.details.size, bytes.length);
    }
  });

  it("answers 404 to another user, exactly as for a cid nobody stored, and lets them store their own copy", async () => {
    const theirs = await s.request("GET", `/v1/styx/blobs/${cid}`, { token: bob.key });
    assert.equal(theirs.status, 404);
    assert.equal(theirs.json.error.code, "STYX_NOT_FOUND");
    const ranged = await s.request("GET", `/v1/styx/blobs/${cid}`, { token: bob.key, headers: { range: "bytes=0-0" } });
    assert.equal(ranged.status, 404);
    const nobody = await s.request("GET", `/v1/styx/blobs/b3:${"0".repeat(64)}`, { token: bob.key });
    assert.equal(nobody.status, 404);
    assert.equal(theirs.json.error.message, nobody.json.error.message);
    assert.ok(!theirs.text.includes("blob-alice"));
    const head = await fetch(`${s.url}/v1/styx/blobs/${cid}`, { method: "HEAD", headers: { authorization: `Bearer ${bob.key}` } });
    assert.equal(head.status, 404);
  });

  it("validates the cid, the content type and the credential", async () => {
    assert.equal((await s.request("GET", "/v1/styx/blobs/b3:XYZ", { token: alice.key })).json.error.code, "STYX_VALIDATION");
    assert.equal((await s.request("GET", `/v1/styx/blobs/${cid.toUpperCase()}`, { token: alice.key })).status, 400);
    assert.equal((await s.request("GET", `/v1/styx/blobs/${cid}`)).status, 401);
    assert.equal((await s.request("PUT", "/v1/styx/blobs", { raw: bytes, headers: OCTETS })).status, 401);
    const json = await s.request("PUT", "/v1/styx/blobs", { token: alice.key, body: { a: 1 } });
    assert.equal(json.status, 415);
    assert.equal(json.json.error.code, "STYX_UNSUPPORTED_MEDIA_TYPE");
    const none = await s.request("PUT", "/v1/styx/blobs", { token: alice.key });
    assert.equal(none.status, 415);
    const readOnly = await s.request("POST", `/v1/admin/users/${alice.id}/keys`, {
      token: s.adminToken,
      body: { name: "ro", scopes: ["read"] },
    });
    assert.equal(readOnly.status, 201, readOnly.text);
    const refused = await s.request("PUT", "/v1/styx/blobs", { token: readOnly.json.key, raw: bytes, headers: OCTETS });
    assert.equal(refused.status, 403);
    assert.equal((await get(s, `/v1/styx/blobs/${cid}`, readOnly.json.key)).status, 200);
  });

  it("does not teach the JSON routes to accept octet-stream bodies", async () => {
    const r = await s.request("POST", "/v1/styx/golems", { token: alice.key, raw: "{}", headers: OCTETS });
    assert.equal(r.status, 415);
    assert.equal(r.json.error.code, "STYX_UNSUPPORTED_MEDIA_TYPE");
  });

  it("accepts a compressed upload past the JSON body limit, and refuses a decompression bomb keeping nothing", async () => {
    const plain = new Uint8Array(randomBytes(2 * 1024 * 1024 + 7));
    const gz = await s.request("PUT", "/v1/styx/blobs", {
      token: alice.key,
      raw: gzipSync(plain),
      headers: { ...OCTETS, "content-encoding": "gzip" },
    });
    assert.equal(gz.status, 201, gz.text);
    assert.deepEqual(gz.json, { cid: `b3:${await blake3(plain, 256)}`, size: plain.length });
    const before = await storedBlobs(s);
    const bomb = await s.request("PUT", "/v1/styx/blobs", {
      token: alice.key,
      raw: gzipSync(new Uint8Array(8 * 1024 * 1024)),
      headers: { ...OCTETS, "content-encoding": "gzip" },
    });
    assert.equal(bomb.status, 413);
    assert.equal(bomb.json.error.code, "STYX_DECOMPRESSION_LIMIT");
    assert.deepEqual(await storedBlobs(s), before);
  });

  it("never serves a blob whose stored bytes were damaged: 500 STYX_BLOB_CORRUPT and none of its bytes", async () => {
    const victim = blobBytes(150_000, "SECRET-BYTES-OF-A-BLOB-");
    const put = await s.request("PUT", "/v1/styx/blobs", { token: alice.key, raw: victim, headers: OCTETS });
    assert.equal(put.status, 201);
    await damageBlob(s, put.json.cid.slice(3), 140_000);
    for (const headers of [{}, { range: "bytes=0-99" }] as Record<string, string>[]) {
      const r = await get(s, `/v1/styx/blobs/${put.json.cid}`, alice.key, headers);
      assert.equal(r.status, 500);
      assert.equal(JSON.parse(r.text).error.code, "STYX_BLOB_CORRUPT");
      assert.ok(!r.text.includes("SECRET-BYTES"), "no byte of the blob leaves");
      assert.match(r.headers.get("content-type") ?? "", /application\/json/);
      assert.equal(r.headers.get("etag"), null);
    }
    // the owner storing the same bytes again repairs it
    assert.equal((await s.request("PUT", "/v1/styx/blobs", { token: alice.key, raw: victim, headers: OCTETS })).status, 201);
    assert.deepEqual((await get(s, `/v1/styx/blobs/${put.json.cid}`, alice.key)).bytes, victim);
  });
});

describe("blob size cap", () => {
  let s: TestServer;
  let key: string;
  before(async () => {
    s = await startTestServer({ persistent: true, env: { STYX_BLOB_MAX_BYTES: "100kb" } });
    key = (await s.user("cap-user")).key;
  });
  after(() => s.close());

  it("answers 413 STYX_PAYLOAD_TOO_LARGE to a declared length over the cap", async () => {
    const r = await s.request("PUT", "/v1/styx/blobs", { token: key, raw: blobBytes(100 * 1024 + 1), headers: OCTETS });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, "STYX_PAYLOAD_TOO_LARGE");
    const exact = await s.request("PUT", "/v1/styx/blobs", { token: key, raw: blobBytes(100 * 1024), headers: OCTETS });
    assert.equal(exact.status, 201, exact.text);
  });

  it("stops a streamed (chunked) upload at the cap and keeps nothing of it", async () => {
    const before = await storedBlobs(s);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 4 * 1024 * 1024) return controller.close();
        sent += 16 * 1024;
        controller.enqueue(blobBytes(16 * 1024, `chunk-${sent}-`));
      },
    });
    const res = await fetch(`${s.url}/v1/styx/blobs`, {
      method: "PUT",
      headers: { ...OCTETS, authorization: `Bearer ${key}` },
      body,
      duplex: "half",
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "STYX_PAYLOAD_TOO_LARGE");
    assert.deepEqual(await storedBlobs(s), before);
    // the server is fine afterwards
    assert.equal((await s.request("GET", "/v1/styx/me", { token: key })).status, 200);
  });
});

describe("blobs under amnesia (memory store)", () => {
  it("round-trips a blob without a data dir", async () => {
    const s = await startTestServer();
    try {
      const { key } = await s.user();
      const bytes = blobBytes(70_000);
      const put = await s.request("PUT", "/v1/styx/blobs", { token: key, raw: bytes, headers: OCTETS });
      assert.equal(put.status, 201);
      const r = await get(s, `/v1/styx/blobs/${put.json.cid}`, key, { range: "bytes=65536-" });
      assert.equal(r.status, 206);
      assert.deepEqual(r.bytes, bytes.subarray(65536));
    } finally {
      await s.close();
    }
  });

  it("deletes a blob and collects an orphaned one (grace 0s: at the next run)", async () => {
    const s = await startTestServer({ env: { STYX_BLOB_GRACE: "0s" } });
    try {
      const { key } = await s.user();
      const golem = (await s.golem(key)).id;
      const [a, b] = await Promise.all(
        [blobBytes(3_000, "AMNESIA-A-"), blobBytes(3_000, "AMNESIA-B-")].map(async (raw) => {
          return (await s.request("PUT", "/v1/styx/blobs", { token: key, raw, headers: OCTETS })).json.cid as string;
        }),
      );
      assert.equal((await s.request("DELETE", `/v1/styx/blobs/${a}`, { token: key })).status, 200);
      const entry = await s.request("POST", "/v1/styx/entries", {
        token: key,
        body: { golem_id: golem, layer: "vault", category: "insight", content: "see b", content_blob: b },
      });
      assert.equal((await s.request("DELETE", `/v1/styx/entries/${entry.json.id}`, { token: key })).status, 200);
      await s.styx.tasks.runNow("blob-collect");
      assert.equal((await get(s, `/v1/styx/blobs/${b}`, key)).status, 404);
    } finally {
      await s.close();
    }
  });
});

describe("blob references: delete, collection after the grace, TTL purge", () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  const GRACE_MS = 60 * 60_000;
  let s: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  let golem: string;
  let golemKey: string;
  before(async () => {
    s = await startTestServer({ persistent: true, clock, env: { STYX_BLOB_GRACE: "1h" } });
    alice = await s.user("blob-ref-alice");
    bob = await s.user("blob-ref-bob");
    golem = (await s.golem(alice.key, { id: "blob-ref-g1" })).id;
    const k = await s.request("POST", `/v1/admin/users/${alice.id}/keys`, { token: s.adminToken, body: { name: "g1", golem_id: golem } });
    golemKey = k.json.key;
  });
  after(() => s.close());

  let n = 0;
  /** Stores fresh bytes for `key`; answers the cid and the bytes' size. */
  const put = async (key: string, bytes = blobBytes(5_000 + ++n, `BLOB-REF-${n}-`)) => {
    const r = await s.request("PUT", "/v1/styx/blobs", { token: key, raw: bytes, headers: OCTETS });
    assert.equal(r.status, 201, r.text);
    return r.json.cid as string;
  };
  const write = async (cid: string, extra: Record<string, unknown> = {}) => {
    const r = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: golem, layer: "vault", category: "insight", content: "see the blob", content_blob: cid, ...extra },
    });
    assert.equal(r.status, 201, r.text);
    return r.json.id as string;
  };
  const del = (cid: string, key = alice.key) => s.request("DELETE", `/v1/styx/blobs/${cid}`, { token: key });
  const used = async (key = alice.key) =>
    (await s.request("GET", "/v1/styx/usage", { token: key })).json.quotas.stored_bytes.used as number;
  const held = async (cid: string, key = alice.key) => (await get(s, `/v1/styx/blobs/${cid}`, key)).status === 200;
  const collect = () => s.styx.tasks.runNow("blob-collect");

  it("refuses to delete a blob an entry names (409, how many), and deletes it once the entry is deleted", async () => {
    const cid = await put(alice.key);
    const id = await write(cid);
    const refused = await del(cid);
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, "STYX_CONFLICT");
    assert.deepEqual(refused.json.error.details, { references: 1 });
    assert.ok(await held(cid));
    assert.equal((await s.request("DELETE", `/v1/styx/entries/${id}`, { token: alice.key })).status, 200);
    const before = await used();
    const ok = await del(cid);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { cid, deleted: true });
    assert.equal(await used(), before - (5_000 + n), "the blob's bytes are given back");
    assert.equal(await held(cid), false);
    assert.equal((await del(cid)).status, 404, "deleted once");
    assert.ok(!(await storedBlobs(s)).some((k) => k.endsWith(cid.slice(3))), "its bytes are gone from the store");
  });

  it("answers 404 for another tenant's cid and keeps their blob; 403 for a golem credential", async () => {
    const cid = await put(bob.key);
    const r = await del(cid);
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "STYX_NOT_FOUND");
    assert.ok(await held(cid, bob.key));
    const mine = await put(alice.key);
    const g = await del(mine, golemKey);
    assert.equal(g.status, 403, g.text);
    assert.equal(g.json.error.code, "STYX_AUTH_FORBIDDEN");
    assert.ok(await held(mine));
    assert.equal((await s.request("DELETE", "/v1/styx/blobs/b3:nothex", { token: alice.key })).status, 400);
  });

  it("collects a blob whose last entry was deleted after the grace, keeping a referenced and a never-referenced one", async () => {
    const orphan = await put(alice.key);
    const orphanEntry = await write(orphan);
    const referenced = await put(alice.key);
    await write(referenced);
    const backup = await put(alice.key);
    assert.equal((await s.request("DELETE", `/v1/styx/entries/${orphanEntry}`, { token: alice.key })).status, 200);
    const before = await used();
    clock.advance(GRACE_MS - 1);
    await collect();
    assert.ok(await held(orphan), "still within the grace");
    clock.advance(1);
    await collect();
    assert.equal(await held(orphan), false, "collected after the grace");
    assert.ok(!(await storedBlobs(s)).some((k) => k.endsWith(orphan.slice(3))));
    assert.ok(await held(referenced), "an entry names it");
    assert.ok(await held(backup), "no entry ever named it: it stays until its owner deletes it");
    assert.ok((await used()) < before, "usage went down");
  });

  it("purges the blob of an expired entry after the TTL task and the grace", async () => {
    const cid = await put(alice.key);
    await write(cid, { ttl_seconds: 60 });
    clock.advance(60_000);
    await s.styx.tasks.runNow("ttl-expiry");
    await collect();
    assert.ok(await held(cid), "within the grace");
    const before = await used();
    clock.advance(GRACE_MS);
    await collect();
    assert.equal(await held(cid), false);
    assert.equal(await used(), before - (5_000 + n));
  });
});
