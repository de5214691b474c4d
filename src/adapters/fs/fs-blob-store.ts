import { createHash, randomBytes } from "node:crypto";
import { access, type FileHandle, mkdir, open, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import {
  BLOB_CHUNK_BYTES,
  type BlobFile,
  type BlobPutOptions,
  type BlobPutResult,
  type BlobRead,
  type BlobStore,
  type ByteRange,
  blobCorrupt,
  blobNotFound,
  cidDigest,
  digestCid,
  ingest,
  resolveRange,
} from "../../core/platform/blob-store.js";

/** What a file below the store's root (`/` separators) holds; undefined for anything else (`tmp/`). */
export function fsBlobFile(rel: string): BlobFile | undefined {
  const content = /^([0-9a-f]{2})\/([0-9a-f]{2})\/(\1\2[0-9a-f]{60})$/.exec(rel);
  if (content) return { kind: "content", hex: content[3] as string };
  const ref = /^refs\/([0-9a-f]{64})\/([0-9a-f]{64})$/.exec(rel);
  if (ref) return { kind: "ref", hex: ref[2] as string, owner: ref[1] as string };
  return undefined;
}

/** Where `f` lives below the store's root (`/` separators): the inverse of `fsBlobFile`. */
export function fsBlobPath(f: BlobFile): string {
  return f.kind === "content" ? `${f.hex.slice(0, 2)}/${f.hex.slice(2, 4)}/${f.hex}` : `refs/${f.owner}/${f.hex}`;
}

/**
 * Blobs as files under `root` (the micronode uses `<dataDir>/blobs`):
 * - content at `<root>/<hex[0:2]>/<hex[2:4]>/<hex>`, written to `<root>/tmp/` first, then
 *   fsynced and renamed into place (a reader never sees a partial blob; a crash leaves at most
 *   a stray temp file);
 * - ownership as empty marker files `<root>/refs/<sha256(userId) hex>/<hex>` (user ids never
 *   reach a path; the marker is written after the content, so it never points at nothing).
 * A put of bytes that already exist renames the fresh copy over the old one, which also
 * repairs a corrupted file.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;

  /** `root` is created on the first put. */
  constructor(root: string) {
    this.#root = root;
  }

  /** The directory holding everything of this store. */
  get root(): string {
    return this.#root;
  }

  /** Where the content of `cid` lives (whether or not it exists); undefined for a malformed cid. */
  pathOf(cid: string): string | undefined {
    const hex = cidDigest(cid);
    return hex && this.#contentPath(hex);
  }

  async put(userId: string, source: AsyncIterable<Uint8Array>, options: BlobPutOptions): Promise<BlobPutResult> {
    const tmpDir = join(this.#root, "tmp");
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(tmpDir, `${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`);
    const fh = await open(tmp, "wx", 0o600);
    let handleOpen = true;
    let placed = false;
    try {
      const { cid, size } = await ingest(source, options.maxBytes, (chunk) => writeAll(fh, chunk));
      await fh.sync();
      handleOpen = false;
      await fh.close();
      const target = this.#contentPath(cid.slice(3));
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await rename(tmp, target);
      placed = true;
      await fsyncDir(dirname(target));
      const created = await this.#addMarker(userId, cid.slice(3));
      return { cid, size, created };
    } finally {
      if (handleOpen) await fh.close().catch(() => {});
      if (!placed) await rm(tmp, { force: true });
    }
  }

  async stat(userId: string, cid: string): Promise<{ size: number } | undefined> {
    const hex = cidDigest(cid);
    if (!hex || !(await exists(this.#markerPath(userId, hex)))) return undefined;
    try {
      return { size: (await stat(this.#contentPath(hex))).size };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async read(userId: string, cid: string, range?: ByteRange): Promise<BlobRead> {
    const hex = cidDigest(cid);
    if (!hex || !(await exists(this.#markerPath(userId, hex)))) throw blobNotFound();
    let fh: FileHandle;
    try {
      fh = await open(this.#contentPath(hex), "r");
    } catch (err) {
      if (isMissing(err)) throw blobNotFound();
      throw err;
    }
    try {
      // One handle for checking and serving: a file swapped in after the check is never served.
      const { size } = await fh.stat();
      const served = resolveRange(range, size);
      if ((await digestCid(readChunks(fh, size))) !== cid) throw blobCorrupt(cid);
      if (served.end < served.start) {
        await fh.close();
        return { size, range: served, body: Readable.from([]) };
      }
      const body = fh.createReadStream({ start: served.start, end: served.end, highWaterMark: BLOB_CHUNK_BYTES, autoClose: true });
      return { size, range: served, body };
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  async release(userId: string, cid: string): Promise<boolean> {
    const hex = cidDigest(cid);
    if (!hex) return false;
    try {
      await unlink(this.#markerPath(userId, hex));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    if (!(await this.#referenced(hex))) await rm(this.#contentPath(hex), { force: true });
    return true;
  }

  async *owned(userId: string): AsyncIterable<string> {
    let names: string[];
    try {
      names = await readdir(dirname(this.#markerPath(userId, "0")));
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const hex of names) yield `b3:${hex}`;
  }

  /** Whether any user still holds a marker for the blob (one directory per user to look in). */
  async #referenced(hex: string): Promise<boolean> {
    let owners: string[];
    try {
      owners = await readdir(join(this.#root, "refs"));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    for (const owner of owners) if (await exists(join(this.#root, "refs", owner, hex))) return true;
    return false;
  }

  /** Temp files left by interrupted puts (a crash between write and rename); for operators and tests. */
  async strayTempFiles(): Promise<string[]> {
    try {
      return await readdir(join(this.#root, "tmp"));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  #contentPath(hex: string): string {
    return join(this.#root, ...fsBlobPath({ kind: "content", hex }).split("/"));
  }

  #markerPath(userId: string, hex: string): string {
    return join(
      this.#root,
      ...fsBlobPath({ kind: "ref", hex, owner: createHash("sha256").update(userId, "utf8").digest("hex") }).split("/"),
    );
  }

  /** Records that `userId` references the blob; false when it already did. */
  async #addMarker(userId: string, hex: string): Promise<boolean> {
    const marker = this.#markerPath(userId, hex);
    await mkdir(dirname(marker), { recursive: true, mode: 0o700 });
    try {
      await writeFile(marker, "", { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
    await fsyncDir(dirname(marker));
    return true;
  }
}

/** Writes the whole chunk at the handle's position (a write may be partial). */
async function writeAll(fh: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset, null);
    offset += bytesWritten;
  }
}

/** The first `size` bytes of a file in 64 KiB chunks (one reused buffer: consume each chunk at once). */
async function* readChunks(fh: FileHandle, size: number): AsyncGenerator<Uint8Array> {
  const buf = Buffer.allocUnsafe(BLOB_CHUNK_BYTES);
  let position = 0;
  while (position < size) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(BLOB_CHUNK_BYTES, size - position), position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buf.subarray(0, bytesRead);
  }
}

/** Makes a rename or a new entry in `dir` durable (best effort where directories cannot be fsynced). */
async function fsyncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Some platforms and filesystems refuse fsync on a directory; the data itself was synced.
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}
