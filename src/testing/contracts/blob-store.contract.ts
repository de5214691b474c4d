import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { blake3 } from "hash-wasm";
import { BLOB_CHUNK_BYTES, type BlobStore, type ByteRange } from "../../core/platform/blob-store.js";
import { StyxError } from "../../core/platform/errors.js";

/** One store under test, with the hooks the contract needs to look behind it. */
export interface BlobStoreHarness {
  readonly store: BlobStore;
  /** Damages the stored bytes of `cid` (one byte flipped); omit where impossible, with a reason. */
  readonly corrupt?: (cid: string) => Promise<void>;
  /** Everything the store holds or left behind (blobs and temp files), to prove a refused put kept nothing. */
  readonly leftovers: () => Promise<number>;
  readonly close?: () => Promise<void>;
}

const MAX = 1 << 20;

/** Deterministic bytes (not all zero, so a flipped byte changes the digest). */
export function sampleBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Yields `bytes` in pieces of the given sizes (cycled), as a network stream would. */
export async function* pieces(bytes: Uint8Array, sizes: readonly number[] = [1000, 70_000, 3]): AsyncGenerator<Uint8Array> {
  let i = 0;
  let k = 0;
  while (i < bytes.length) {
    const n = sizes[k++ % sizes.length] ?? 1;
    yield bytes.slice(i, i + n);
    i += n;
  }
}

async function collect(body: AsyncIterable<Uint8Array>): Promise<{ bytes: Uint8Array; chunks: number[] }> {
  const parts: Uint8Array[] = [];
  for await (const c of body) parts.push(new Uint8Array(c));
  return { bytes: new Uint8Array(Buffer.concat(parts)), chunks: parts.map((p) => p.length) };
}

async function read(store: BlobStore, user: string, cid: string, range?: ByteRange): Promise<Uint8Array> {
  return (await collect((await store.read(user, cid, range)).body)).bytes;
}

function code(c: string): (e: unknown) => boolean {
  return (e) => e instanceof StyxError && e.code === c;
}

/** The behaviour every BlobStore adapter must show. */
export function describeBlobStoreContract(name: string, make: () => Promise<BlobStoreHarness> | BlobStoreHarness): void {
  describe(`BlobStore contract: ${name}`, () => {
    let h: BlobStoreHarness;
    let store: BlobStore;
    beforeEach(async () => {
      h = await make();
      store = h.store;
    });
    afterEach(async () => {
      await h.close?.();
    });

    it("round-trips bytes under their BLAKE3 cid, streaming out in chunks of at most 64 KiB", async () => {
      const bytes = sampleBytes(3 * BLOB_CHUNK_BYTES + 12_345);
      const put = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      assert.equal(put.cid, `b3:${await blake3(bytes, 256)}`);
      assert.equal(put.size, bytes.length);
      assert.equal(put.created, true);
      assert.deepEqual(await store.stat("alice", put.cid), { size: bytes.length });
      const r = await store.read("alice", put.cid);
      assert.equal(r.size, bytes.length);
      assert.deepEqual(r.range, { start: 0, end: bytes.length - 1 });
      const got = await collect(r.body);
      assert.deepEqual(got.bytes, bytes);
      assert.ok(got.chunks.every((n) => n <= BLOB_CHUNK_BYTES));
    });

    it("stores the empty blob", async () => {
      const put = await store.put("alice", pieces(new Uint8Array(0)), { maxBytes: MAX });
      assert.equal(put.cid, `b3:${await blake3(new Uint8Array(0), 256)}`);
      assert.equal(put.size, 0);
      assert.equal((await read(store, "alice", put.cid)).length, 0);
    });

    it("is idempotent: the same bytes, however chunked, give the same cid and are stored once", async () => {
      const bytes = sampleBytes(100_000, 7);
      const a = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      const b = await store.put("alice", pieces(bytes, [1, 65_536, 4096]), { maxBytes: MAX });
      assert.equal(b.cid, a.cid);
      assert.equal(b.created, false);
      const [c, d] = await Promise.all([
        store.put("alice", pieces(bytes), { maxBytes: MAX }),
        store.put("alice", pieces(bytes, [333]), { maxBytes: MAX }),
      ]);
      assert.equal(c.cid, a.cid);
      assert.equal(d.cid, a.cid);
      assert.equal(await h.leftovers(), 1);
      assert.deepEqual(await read(store, "alice", a.cid), bytes);
    });

    it("release drops one user's reference and removes the bytes once nobody references them", async () => {
      const bytes = sampleBytes(70_000, 11);
      const a = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      await store.put("bob", pieces(bytes), { maxBytes: MAX });
      assert.equal(await store.release("alice", a.cid), true);
      assert.equal(await store.release("alice", a.cid), false);
      assert.equal(await store.stat("alice", a.cid), undefined);
      assert.deepEqual(await read(store, "bob", a.cid), bytes);
      assert.equal(await h.leftovers(), 1);
      assert.equal(await store.release("bob", a.cid), true);
      assert.equal(await h.leftovers(), 0);
      assert.equal(await store.release("bob", "b3:nope"), false);
    });

    it("lists the cids a user references (owned), and nothing of another user's", async () => {
      const a = await store.put("owner-a", pieces(sampleBytes(1000, 21)), { maxBytes: MAX });
      const b = await store.put("owner-a", pieces(sampleBytes(1000, 22)), { maxBytes: MAX });
      await store.put("owner-b", pieces(sampleBytes(1000, 23)), { maxBytes: MAX });
      const owned = async (user: string) => {
        const out: string[] = [];
        for await (const cid of store.owned(user)) out.push(cid);
        return out.sort();
      };
      assert.deepEqual(await owned("owner-a"), [a.cid, b.cid].sort());
      assert.equal((await owned("owner-b")).length, 1);
      assert.deepEqual(await owned("owner-none"), []);
      await store.release("owner-a", a.cid);
      assert.deepEqual(await owned("owner-a"), [b.cid]);
    });

    it("refuses a blob over the cap while streaming and keeps nothing of it", async () => {
      const bytes = sampleBytes(200_000, 3);
      let pulled = 0;
      async function* counted() {
        for await (const p of pieces(bytes, [10_000])) {
          pulled += p.length;
          yield p;
        }
      }
      await assert.rejects(store.put("alice", counted(), { maxBytes: 50_000 }), code("STYX_PAYLOAD_TOO_LARGE"));
      assert.ok(pulled < bytes.length, "the cap is enforced while streaming, not after");
      assert.equal(await h.leftovers(), 0);
      assert.equal(await store.stat("alice", `b3:${await blake3(bytes, 256)}`), undefined);
      const exact = await store.put("alice", pieces(bytes.subarray(0, 50_000)), { maxBytes: 50_000 });
      assert.equal(exact.size, 50_000);
    });

    it("keeps nothing of a put whose source fails midway", async () => {
      async function* broken() {
        yield sampleBytes(100_000);
        throw new Error("client went away");
      }
      await assert.rejects(store.put("alice", broken(), { maxBytes: MAX }), /client went away/);
      assert.equal(await h.leftovers(), 0);
    });

    it("serves byte ranges (inclusive ends) and refuses ranges outside the blob", async () => {
      const bytes = sampleBytes(2 * BLOB_CHUNK_BYTES + 10, 5);
      const { cid } = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      const start = BLOB_CHUNK_BYTES - 5;
      const r = await store.read("alice", cid, { start, end: BLOB_CHUNK_BYTES + 4 });
      assert.equal(r.size, bytes.length);
      assert.deepEqual(r.range, { start, end: BLOB_CHUNK_BYTES + 4 });
      assert.deepEqual((await collect(r.body)).bytes, bytes.subarray(start, BLOB_CHUNK_BYTES + 5));
      assert.deepEqual(await read(store, "alice", cid, { start: 0, end: 0 }), bytes.subarray(0, 1));
      const last = bytes.length - 1;
      assert.deepEqual(await read(store, "alice", cid, { start: last, end: last }), bytes.subarray(last));
      for (const bad of [
        { start: bytes.length, end: bytes.length },
        { start: 0, end: bytes.length },
        { start: 5, end: 4 },
        { start: -1, end: 3 },
      ]) {
        await assert.rejects(store.read("alice", cid, bad), code("STYX_RANGE_NOT_SATISFIABLE"), JSON.stringify(bad));
      }
    });

    it("answers not found to a user who never put the cid, exactly as for an unknown or malformed cid", async () => {
      const bytes = sampleBytes(5000, 9);
      const { cid } = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      assert.equal(await store.stat("bob", cid), undefined);
      await assert.rejects(store.read("bob", cid), code("STYX_NOT_FOUND"));
      await assert.rejects(store.read("bob", cid, { start: 0, end: 0 }), code("STYX_NOT_FOUND"));
      const unknown = `b3:${"0".repeat(64)}`;
      assert.equal(await store.stat("alice", unknown), undefined);
      await assert.rejects(store.read("alice", unknown), code("STYX_NOT_FOUND"));
      for (const bad of ["b3:../../etc/passwd", `b3:${"A".repeat(64)}`, "", cid.slice(0, -1)]) {
        assert.equal(await store.stat("alice", bad), undefined);
        await assert.rejects(store.read("alice", bad), code("STYX_NOT_FOUND"));
      }
      // bob gains access only by putting the same bytes himself
      const mine = await store.put("bob", pieces(bytes), { maxBytes: MAX });
      assert.equal(mine.cid, cid);
      assert.equal(mine.created, true);
      assert.deepEqual(await read(store, "bob", cid), bytes);
    });

    it("detects corruption before yielding a byte, for whole and ranged reads, and a re-put repairs it", async (t) => {
      if (!h.corrupt) {
        t.skip("this adapter cannot corrupt its own storage");
        return;
      }
      const bytes = sampleBytes(3 * BLOB_CHUNK_BYTES, 11);
      const { cid } = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      await h.corrupt(cid);
      await assert.rejects(store.read("alice", cid), code("STYX_BLOB_CORRUPT"));
      // the damaged byte is outside this range, and the range is still refused
      await assert.rejects(store.read("alice", cid, { start: bytes.length - 10, end: bytes.length - 1 }), code("STYX_BLOB_CORRUPT"));
      const again = await store.put("alice", pieces(bytes), { maxBytes: MAX });
      assert.equal(again.created, false);
      assert.deepEqual(await read(store, "alice", cid), bytes);
    });
  });
}
