import { blake3Stream } from "./crypto.js";
import { StyxError } from "./errors.js";

/** Bytes per chunk when a blob is streamed in or out (64 KiB). */
export const BLOB_CHUNK_BYTES = 64 * 1024;

/** A blob address as a regular-expression source: `b3:` + 64 lowercase hex (BLAKE3-256). */
export const BLOB_CID_PATTERN = "^b3:[0-9a-f]{64}$";

const CID_RE = /^b3:([0-9a-f]{64})$/;

/**
 * One stored piece of a blob store, as a backup moves it from one store's layout to another's:
 * the content of blob `hex` (the BLAKE3 of its bytes), or the reference that an owner holds on
 * it (`owner`: sha256 hex of the user id, as both stores name owners).
 */
export type BlobFile =
  | { readonly kind: "content"; readonly hex: string }
  | { readonly kind: "ref"; readonly hex: string; readonly owner: string };

/** The answer of `BlobStore.put`. */
export interface BlobPutResult {
  /** `b3:<hex>`, the BLAKE3-256 of the bytes. */
  readonly cid: string;
  readonly size: number;
  /** False when this user already referenced this cid (the put changed nothing for them). */
  readonly created: boolean;
}

/** A byte range, both ends inclusive (as in HTTP `Range` and `Content-Range`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** A verified blob, ready to stream: the whole blob's digest matched before this resolved. */
export interface BlobRead {
  /** Size of the whole blob. */
  readonly size: number;
  /** The range served (the whole blob when none was asked; `end` is -1 for an empty blob). */
  readonly range: ByteRange;
  /** The bytes of `range`, in chunks of at most 64 KiB. */
  readonly body: AsyncIterable<Uint8Array>;
}

/** Options of `BlobStore.put`. */
export interface BlobPutOptions {
  /** Largest blob accepted; the put fails with STYX_PAYLOAD_TOO_LARGE as soon as it is passed. */
  readonly maxBytes: number;
}

/**
 * Content-addressed, owned blob storage (SPEC §10).
 * Obligations of every adapter:
 * - `put` streams the source in 64 KiB chunks, hashing while it writes; it enforces `maxBytes`
 *   while streaming and, when refused or failed, leaves nothing behind. Identical content
 *   is stored once; every put records that the user references the cid.
 * - A user who never put a cid gets "not found" for it from `stat` and `read`,
 *   exactly as for a cid nobody stored: knowing a hash never grants the bytes.
 * - `read` verifies the whole blob's BLAKE3 before yielding any byte and throws
 *   STYX_BLOB_CORRUPT on a mismatch; a corrupted blob is never served, not even in part.
 */
export interface BlobStore {
  /** Stores the bytes of `source` for `userId`; idempotent for identical content. */
  put(userId: string, source: AsyncIterable<Uint8Array>, options: BlobPutOptions): Promise<BlobPutResult>;
  /** The blob's size, or undefined when absent or not referenced by `userId`. */
  stat(userId: string, cid: string): Promise<{ size: number } | undefined>;
  /** A verified read of the blob (or of `range`); STYX_NOT_FOUND, STYX_RANGE_NOT_SATISFIABLE or STYX_BLOB_CORRUPT otherwise. */
  read(userId: string, cid: string, range?: ByteRange): Promise<BlobRead>;
  /**
   * Drops `userId`'s reference to `cid`; the bytes go once no user references them. False when
   * the user held no reference. A put racing a release may leave the bytes to a later release.
   */
  release(userId: string, cid: string): Promise<boolean>;
  /** The cids `userId` references, read lazily (an erasure releases them while reading). */
  owned(userId: string): AsyncIterable<string>;
}

/** The hex digest inside a cid, or undefined when `cid` is not a well-formed `b3:<64 hex>`. */
export function cidDigest(cid: string): string | undefined {
  return CID_RE.exec(cid)?.[1];
}

/** The cid of a BLAKE3-256 hex digest. */
export function cidOf(hexDigest: string): string {
  return `b3:${hexDigest}`;
}

/** Re-chunks a byte stream into pieces of exactly `size` bytes (the last may be shorter). */
export async function* chunked(source: AsyncIterable<Uint8Array>, size = BLOB_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  let pending: Uint8Array | undefined;
  let fill = 0;
  for await (const input of source) {
    let chunk = input;
    while (chunk.length > 0) {
      if (fill === 0 && chunk.length >= size) {
        yield chunk.subarray(0, size);
        chunk = chunk.subarray(size);
        continue;
      }
      pending ??= new Uint8Array(size);
      const n = Math.min(size - fill, chunk.length);
      pending.set(chunk.subarray(0, n), fill);
      fill += n;
      chunk = chunk.subarray(n);
      if (fill === size) {
        yield pending;
        pending = undefined;
        fill = 0;
      }
    }
  }
  if (pending && fill > 0) yield pending.subarray(0, fill);
}

/**
 * Streams `source` in 64 KiB chunks through BLAKE3, handing each chunk to `sink` after
 * counting it, and fails with STYX_PAYLOAD_TOO_LARGE the moment `maxBytes` is passed
 * (before the offending chunk reaches the sink). Cleaning up is the caller's job.
 */
export async function ingest(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  sink: (chunk: Uint8Array) => Promise<void> | void,
): Promise<{ cid: string; size: number }> {
  const hasher = await blake3Stream();
  let size = 0;
  for await (const chunk of chunked(source)) {
    size += chunk.length;
    if (size > maxBytes) throw blobTooLarge(maxBytes);
    hasher.update(chunk);
    await sink(chunk);
  }
  return { cid: cidOf(hasher.hex()), size };
}

/** The cid of a byte stream (BLAKE3-256 over every chunk). */
export async function digestCid(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<string> {
  const hasher = await blake3Stream();
  for await (const chunk of chunks) hasher.update(chunk);
  return cidOf(hasher.hex());
}

/** The range to serve of a blob of `size` bytes; STYX_RANGE_NOT_SATISFIABLE when it lies outside. */
export function resolveRange(range: ByteRange | undefined, size: number): ByteRange {
  if (!range) return { start: 0, end: size - 1 };
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end >= size) {
    throw new StyxError("STYX_RANGE_NOT_SATISFIABLE", `The range ${start}-${end} is outside the blob's ${size} bytes.`, {
      details: { size },
    });
  }
  return range;
}

/** The refusal of a blob larger than `maxBytes`. */
export function blobTooLarge(maxBytes: number): StyxError {
  return new StyxError("STYX_PAYLOAD_TOO_LARGE", `The blob is larger than the ${maxBytes}-byte limit.`, {
    details: { max_bytes: maxBytes },
  });
}

/** The refusal to serve a blob whose bytes no longer match its cid. */
export function blobCorrupt(cid: string): StyxError {
  return new StyxError("STYX_BLOB_CORRUPT", `The stored blob ${cid} failed its integrity check and was not served.`);
}

/** The answer for a blob that is absent or not the caller's (indistinguishable on purpose). */
export function blobNotFound(): StyxError {
  return new StyxError("STYX_NOT_FOUND", "No such blob.");
}
