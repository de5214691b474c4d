import assert from "node:assert/strict";
import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { after, describe, it } from "node:test";
import { FsBlobStore } from "../../../src/adapters/fs/fs-blob-store.js";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { describeBlobStoreContract, pieces, sampleBytes } from "../../../src/testing/contracts/blob-store.contract.js";

const dirs: string[] = [];
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempRoot(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "styx-blobs-"));
  dirs.push(dir);
  return join(dir, "blobs");
}

/** Every file under `dir`, relative, with `/` separators. */
async function files(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile())
      .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
      .sort();
  } catch {
    return [];
  }
}

/** Flips one bit of a file in place (offset 100: well inside the first 64 KiB chunk). */
async function flipByte(path: string, offset = 100): Promise<void> {
  const fh = await open(path, "r+");
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0x01;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

describeBlobStoreContract("fs", async () => {
  const root = await tempRoot();
  const store = new FsBlobStore(root);
  return {
    store,
    corrupt: async (cid) => flipByte(store.pathOf(cid) ?? assert.fail("bad cid")),
    leftovers: async () => (await files(root)).filter((f) => !f.startsWith("refs/")).length,
  };
});

describeBlobStoreContract("memory", () => {
  const store = new MemoryBlobStore();
  return {
    store,
    corrupt: async (cid) => assert.ok(store.corruptForTest(cid, 100)),
    leftovers: async () => store.count,
  };
});

describe("FsBlobStore layout", () => {
  it("shards content by the first two hex pairs, keeps owners as sha256-named markers, and leaves no temp file", async () => {
    const root = await tempRoot();
    const store = new FsBlobStore(root);
    const { cid } = await store.put("alice", pieces(sampleBytes(1000)), { maxBytes: 10_000 });
    const hex = cid.slice(3);
    const alice = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90"; // sha256("alice")
    assert.deepEqual(await files(root), [`${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}`, `refs/${alice}/${hex}`].sort());
    assert.equal((await stat(join(root, "refs", alice, hex))).size, 0);
    assert.deepEqual(await store.strayTempFiles(), []);
    assert.equal((await stat(join(root, hex.slice(0, 2), hex.slice(2, 4), hex))).mode & 0o777, 0o600);
  });

  it("treats a marker without content (content lost) as not found", async () => {
    const root = await tempRoot();
    const store = new FsBlobStore(root);
    const { cid } = await store.put("alice", pieces(sampleBytes(10)), { maxBytes: 100 });
    await rm(store.pathOf(cid) ?? "");
    assert.equal(await store.stat("alice", cid), undefined);
    await assert.rejects(store.read("alice", cid), { code: "STYX_NOT_FOUND" });
  });
});
