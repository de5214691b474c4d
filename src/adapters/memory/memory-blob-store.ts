import {
  BLOB_CHUNK_BYTES,
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

/**
 * Blobs in process memory, for amnesia: nothing touches the disk and everything is gone at
 * exit. Memory grows with what is stored (each blob is capped by the put's `maxBytes`, the
 * total is not): amnesia is for short-lived nodes. Like the file store, a put of bytes that
 * already exist replaces the stored copy, which repairs a corrupted one.
 */
export class MemoryBlobStore implements BlobStore {
  readonly #blobs = new Map<string, Uint8Array>();
  readonly #refs = new Map<string, Set<string>>();

  /** How many distinct blobs are held (for tests: a refused put leaves nothing). */
  get count(): number {
    return this.#blobs.size;
  }

  /** Bytes of the distinct blobs held (the storage gauge). */
  get bytes(): number {
    let n = 0;
    for (const b of this.#blobs.values()) n += b.length;
    return n;
  }

  async put(userId: string, source: AsyncIterable<Uint8Array>, options: BlobPutOptions): Promise<BlobPutResult> {
    const parts: Uint8Array[] = [];
    const { cid, size } = await ingest(source, options.maxBytes, (chunk) => {
      parts.push(chunk.slice()); // the source may reuse its buffers
    });
    const bytes = new Uint8Array(size);
    let offset = 0;
    for (const p of parts) {
      bytes.set(p, offset);
      offset += p.length;
    }
    this.#blobs.set(cid, bytes);
    const mine = this.#refs.get(userId) ?? new Set<string>();
    this.#refs.set(userId, mine);
    const created = !mine.has(cid);
    mine.add(cid);
    return { cid, size, created };
  }

  async stat(userId: string, cid: string): Promise<{ size: number } | undefined> {
    const bytes = this.#owned(userId, cid);
    return bytes && { size: bytes.length };
  }

  async read(userId: string, cid: string, range?: ByteRange): Promise<BlobRead> {
    const bytes = this.#owned(userId, cid);
    if (!bytes) throw blobNotFound();
    const served = resolveRange(range, bytes.length);
    if ((await digestCid([bytes])) !== cid) throw blobCorrupt(cid);
    return { size: bytes.length, range: served, body: slices(bytes.subarray(served.start, served.end + 1)) };
  }

  async *owned(userId: string): AsyncIterable<string> {
    yield* [...(this.#refs.get(userId) ?? [])];
  }

  async release(userId: string, cid: string): Promise<boolean> {
    const mine = this.#refs.get(userId);
    if (!mine?.delete(cid)) return false;
    if (mine.size === 0) this.#refs.delete(userId);
    if (![...this.#refs.values()].some((refs) => refs.has(cid))) this.#blobs.delete(cid);
    return true;
  }

  /**
   * Test hook: flips one bit of a stored blob in place, so the integrity check can be
   * exercised without a disk. False when no such blob (or `offset` is past its end).
   */
  corruptForTest(cid: string, offset = 0): boolean {
    const bytes = this.#blobs.get(cid);
    if (!bytes || offset >= bytes.length) return false;
    bytes[offset] = (bytes[offset] ?? 0) ^ 0x01;
    return true;
  }

  #owned(userId: string, cid: string): Uint8Array | undefined {
    if (!cidDigest(cid) || !this.#refs.get(userId)?.has(cid)) return undefined;
    return this.#blobs.get(cid);
  }
}

/** The bytes in chunks of at most 64 KiB. */
async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += BLOB_CHUNK_BYTES) yield bytes.subarray(i, i + BLOB_CHUNK_BYTES);
}
