import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { openS3Client, S3BlobStore, type S3BlobStoreOptions } from "../../src/adapters/s3/s3-blob-store.js";
import { BLOB_CHUNK_BYTES } from "../../src/core/platform/blob-store.js";
import { StyxError } from "../../src/core/platform/errors.js";
import { type BlobStoreHarness, describeBlobStoreContract, pieces, sampleBytes } from "../../src/testing/contracts/blob-store.contract.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { newCluster } from "../../src/testing/services.js";

let server: S3Server;
let admin: S3Client;

before(async () => {
  server = await startS3Server();
  admin = openS3Client(clientOptions());
});

after(async () => {
  admin.destroy();
  await server.close();
});

function clientOptions() {
  return {
    region: "us-east-1",
    endpoint: server.endpoint,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  };
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await admin.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Flips one byte near the start of the stored object (outside any range near the end). */
async function corrupt(store: S3BlobStore, cid: string): Promise<void> {
  const key = store.keyOf(cid) as string;
  const got = await admin.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
  const bytes = (await got.Body?.transformToByteArray()) as Uint8Array;
  bytes[10] = ((bytes[10] as number) ^ 0xff) & 0xff;
  await admin.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: bytes }));
}

function harness(extra: Partial<S3BlobStoreOptions> = {}): BlobStoreHarness & { store: S3BlobStore } {
  const prefix = `${newCluster()}/`;
  const store = new S3BlobStore({ ...clientOptions(), bucket: server.bucket, prefix, ...extra });
  return {
    store,
    corrupt: (cid) => corrupt(store, cid),
    leftovers: async () => (await keysUnder(prefix)).filter((k) => !k.startsWith(`${prefix}refs/`)).length,
    close: async () => {
      const keys = await keysUnder(prefix);
      if (keys.length > 0) {
        await admin.send(new DeleteObjectsCommand({ Bucket: server.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      }
      store.close();
    },
  };
}

describeBlobStoreContract("s3 (s3rver), small blobs from memory", () => harness());
// Parts of 64 KiB (S3 itself wants 5 MiB; s3rver does not check) put the contract's blobs
// through the multipart upload, the copy into place and the verify-then-serve second read.
describeBlobStoreContract("s3 (s3rver), multipart and two-pass reads", () => harness({ spoolBytes: BLOB_CHUNK_BYTES }));

describe("S3BlobStore", () => {
  it("refuses a corrupted object as STYX_BLOB_CORRUPT, whole or ranged, in both read paths", async () => {
    for (const spoolBytes of [undefined, BLOB_CHUNK_BYTES]) {
      const h = harness(spoolBytes ? { spoolBytes } : {});
      try {
        const bytes = sampleBytes(200_000, 21);
        const { cid } = await h.store.put("alice", pieces(bytes), { maxBytes: 1 << 20 });
        await corrupt(h.store, cid);
        const isCorrupt = (e: unknown) => e instanceof StyxError && e.code === "STYX_BLOB_CORRUPT";
        await assert.rejects(h.store.read("alice", cid), isCorrupt);
        await assert.rejects(h.store.read("alice", cid, { start: 150_000, end: 150_009 }), isCorrupt);
      } finally {
        await h.close?.();
      }
    }
  });

  it("keeps no temporary object after a multipart put", async () => {
    const h = harness({ spoolBytes: BLOB_CHUNK_BYTES });
    try {
      await h.store.put("alice", pieces(sampleBytes(5 * BLOB_CHUNK_BYTES + 1)), { maxBytes: 1 << 20 });
      const prefix = (h.store.keyOf(`b3:${"0".repeat(64)}`) as string).replace(/blobs\/0+$/, "");
      const tmp = await keysUnder(`${prefix}tmp/`);
      assert.deepEqual(tmp, [], "the upload was copied into place and removed");
    } finally {
      await h.close?.();
    }
  });

  it("reports health: up on the server, down fast where nothing listens", async () => {
    const h = harness();
    assert.equal((await h.store.check()).status, "up");
    h.store.close();
    const dead = new S3BlobStore({ ...clientOptions(), endpoint: "http://127.0.0.1:1", bucket: "nope", prefix: "x/" });
    const start = performance.now();
    const status = await dead.check();
    assert.equal(status.status, "down");
    assert.ok(performance.now() - start < 1500, "the probe gives up within about a second");
    dead.close();
  });
});
