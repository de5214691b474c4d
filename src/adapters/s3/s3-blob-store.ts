import { createHash, randomBytes } from "node:crypto";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
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
  chunked,
  cidDigest,
  digestCid,
  ingest,
  resolveRange,
} from "../../core/platform/blob-store.js";
import { type DependencyStatus, probe } from "../../core/platform/health.js";

/** The SDK's client, as the blob store and the backup hold it. */
export type { S3Client };

/** Where and as whom to reach an S3-compatible service. */
export interface S3ClientOptions {
  readonly region: string;
  /** Omit for AWS itself; set for MinIO, R2, Ceph, s3rver… (path-style addressing is used). */
  readonly endpoint?: string;
  /** Omit to use the SDK's default credential chain (environment, instance role…). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Options of `S3BlobStore`. */
export interface S3BlobStoreOptions extends S3ClientOptions {
  readonly bucket: string;
  /** Prepended to every key: `<cluster>/`. */
  readonly prefix: string;
  /**
   * Up to this size (default 8 MiB) a put is one PutObject from memory and a read is verified
   * from memory; larger blobs are uploaded in multipart parts of this size (S3 wants ≥ 5 MiB)
   * and read twice: once to verify, once to serve. Memory per request stays under it.
   */
  readonly spoolBytes?: number;
  /** A ready client instead of one built from the options above (tests, shared clients). */
  readonly client?: S3Client;
}

/**
 * A client for S3-compatible servers: path-style addressing, checksums only where the API
 * requires them (many servers reject or mangle the newer default CRC headers), and requests on
 * the bucket itself sent as `/<bucket>` instead of `/<bucket>/` — the same resource to S3, but
 * s3rver 5 signs the path without the slash, so the SDK's `/<bucket>/` fails with
 * SignatureDoesNotMatch there (CreateBucket, HeadBucket, ListObjects).
 */
export function openS3Client(opts: S3ClientOptions): S3Client {
  const client = new S3Client({
    region: opts.region,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { path?: string };
      if (typeof request.path === "string" && /^\/[^/]+\/$/.test(request.path)) request.path = request.path.slice(0, -1);
      return next(args);
    },
    { step: "build", name: "styxBucketPathWithoutSlash" },
  );
  return client;
}

/** The object (below the cluster's prefix) holding `f`: `blobs/<hex>` or `refs/<hex>/<owner>`. */
export function s3BlobPath(f: BlobFile): string {
  return f.kind === "content" ? `blobs/${f.hex}` : `refs/${f.hex}/${f.owner}`;
}

/** What an object (by its key below the cluster's prefix) holds: the inverse of `s3BlobPath`; undefined for anything else (`tmp/`). */
export function s3BlobFile(rel: string): BlobFile | undefined {
  const content = /^blobs\/([0-9a-f]{64})$/.exec(rel);
  if (content) return { kind: "content", hex: content[1] as string };
  const ref = /^refs\/([0-9a-f]{64})\/([0-9a-f]{64})$/.exec(rel);
  if (ref) return { kind: "ref", hex: ref[1] as string, owner: ref[2] as string };
  return undefined;
}

/** An owner as the reference objects name it: sha256 of the user id (a user id never reaches a key). */
function ownerHash(userId: string): string {
  return createHash("sha256").update(userId, "utf8").digest("hex");
}

/**
 * Blobs in an S3 bucket (macronode), under `<prefix>`:
 * - content at `blobs/<hex>`, written only once its digest is known: small blobs in one
 *   PutObject from memory, large ones as a multipart upload to `tmp/<random>` copied into place
 *   (a reader never sees a partial blob; a crash leaves at most a `tmp/` object or an
 *   incomplete upload — give the bucket a lifecycle rule that aborts those after a day);
 * - ownership as empty objects `refs/<hex>/<sha256(userId)>` (user ids never reach a key;
 *   "does anyone still hold it" is one listing of `refs/<hex>/`).
 * A put of bytes that already exist rewrites them, which also repairs a corrupted object.
 */
export class S3BlobStore implements BlobStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #spoolBytes: number;

  /** Builds its client from `opts` unless `opts.client` is given. */
  constructor(opts: S3BlobStoreOptions) {
    this.#s3 = opts.client ?? openS3Client(opts);
    this.#bucket = opts.bucket;
    this.#prefix = opts.prefix;
    this.#spoolBytes = Math.max(BLOB_CHUNK_BYTES, opts.spoolBytes ?? 8 * 1024 * 1024);
  }

  /** Named for the health report. */
  readonly name = "s3";

  /** HeadBucket round trip: up with its latency, or down with the reason; never throws. */
  /** HeadBucket within `timeoutMs` (default 1 s: readiness samples every second; a one-shot check may allow more). */
  check(timeoutMs = 1000): Promise<DependencyStatus> {
    return probe(async () => {
      await this.#s3.send(new HeadBucketCommand({ Bucket: this.#bucket }), { abortSignal: AbortSignal.timeout(timeoutMs) });
      return `bucket ${this.#bucket}`;
    });
  }

  /** Closes the client's sockets. */
  close(): void {
    this.#s3.destroy();
  }

  /** The object key holding the content of `cid` (whether or not it exists); undefined for a malformed cid. */
  keyOf(cid: string): string | undefined {
    const hex = cidDigest(cid);
    return hex && this.#blobKey(hex);
  }

  async put(userId: string, source: AsyncIterable<Uint8Array>, options: BlobPutOptions): Promise<BlobPutResult> {
    const parts: Uint8Array[] = [];
    let buffered = 0;
    let upload: { key: string; id: string; done: { PartNumber: number; ETag: string }[] } | undefined;
    const flushPart = async (): Promise<void> => {
      if (!upload) {
        const key = `${this.#prefix}tmp/${Date.now().toString(36)}-${randomBytes(8).toString("hex")}`;
        const created = await this.#s3.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: key }));
        upload = { key, id: required(created.UploadId, "UploadId"), done: [] };
      }
      const PartNumber = upload.done.length + 1;
      const body = concat(parts.splice(0), buffered);
      buffered = 0;
      const r = await this.#s3.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: upload.key,
          UploadId: upload.id,
          PartNumber,
          Body: body,
          ContentLength: body.length,
        }),
      );
      upload.done.push({ PartNumber, ETag: required(r.ETag, "ETag") });
    };
    try {
      const { cid, size } = await ingest(source, options.maxBytes, async (chunk) => {
        parts.push(chunk.slice()); // the source may reuse its buffers
        buffered += chunk.length;
        if (buffered >= this.#spoolBytes) await flushPart();
      });
      const hex = cid.slice(3);
      const target = this.#blobKey(hex);
      if (!upload) {
        const body = concat(parts, buffered);
        await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: target, Body: body, ContentLength: body.length }));
      } else {
        if (buffered > 0) await flushPart();
        const { key, id, done } = upload;
        await this.#s3.send(
          new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: id, MultipartUpload: { Parts: done } }),
        );
        upload = undefined;
        try {
          await this.#s3.send(new CopyObjectCommand({ Bucket: this.#bucket, Key: target, CopySource: copySource(this.#bucket, key) }));
        } finally {
          await this.#delete(key);
        }
      }
      return { cid, size, created: await this.#addRef(userId, hex) };
    } finally {
      if (upload) {
        const { key, id } = upload;
        // Best effort: some S3-compatible servers (s3rver) do not implement abort.
        await this.#s3.send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: key, UploadId: id })).catch(() => {});
      }
    }
  }

  async stat(userId: string, cid: string): Promise<{ size: number } | undefined> {
    const hex = cidDigest(cid);
    if (!hex || !(await this.#exists(this.#refKey(userId, hex)))) return undefined;
    const head = await this.#head(this.#blobKey(hex));
    return head && { size: head.size };
  }

  async read(userId: string, cid: string, range?: ByteRange): Promise<BlobRead> {
    const hex = cidDigest(cid);
    if (!hex || !(await this.#exists(this.#refKey(userId, hex)))) throw blobNotFound();
    const key = this.#blobKey(hex);
    const whole = await this.#get(key);
    if (!whole) throw blobNotFound();
    const size = whole.ContentLength ?? 0;
    let served: ByteRange;
    try {
      served = resolveRange(range, size);
    } catch (err) {
      await discard(whole);
      throw err;
    }
    if (size <= this.#spoolBytes) {
      const bytes = await whole.Body?.transformToByteArray();
      if (!bytes || bytes.length !== size || (await digestCid([bytes])) !== cid) throw blobCorrupt(cid);
      return { size, range: served, body: slices(bytes.subarray(served.start, served.end + 1)) };
    }
    const body = whole.Body as AsyncIterable<Uint8Array> | undefined;
    if (!body || (await digestCid(body)) !== cid) throw blobCorrupt(cid);
    // Serve the very object that was verified: a different ETag means it changed in between.
    const again = await this.#get(key, { ...(whole.ETag ? { IfMatch: whole.ETag } : {}), Range: `bytes=${served.start}-${served.end}` });
    if (!again || again.ETag !== whole.ETag) {
      if (again) await discard(again);
      throw blobCorrupt(cid);
    }
    // Some servers answer a range with more than asked (s3rver: all of it for `bytes=0-0`).
    const from = rangeStart(again.ContentRange);
    const take = served.end - served.start + 1;
    const got = again.ContentLength ?? 0;
    if (from > served.start || from + got < served.start + take) {
      await discard(again);
      throw new Error(`S3 answered bytes ${from}+${got} for the range ${served.start}-${served.end} of ${key}`);
    }
    return { size, range: served, body: chunked(window(again.Body as AsyncIterable<Uint8Array>, served.start - from, take)) };
  }

  async release(userId: string, cid: string): Promise<boolean> {
    const hex = cidDigest(cid);
    if (!hex) return false;
    const ref = this.#refKey(userId, hex);
    if (!(await this.#exists(ref))) return false;
    await this.#delete(ref);
    const left = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: `${this.#prefix}refs/${hex}/`, MaxKeys: 1 }));
    if ((left.KeyCount ?? left.Contents?.length ?? 0) === 0) await this.#delete(this.#blobKey(hex));
    return true;
  }

  /** Every reference key ends in the owner's hash: one listing of `refs/` (an erasure's rare walk). */
  async *owned(userId: string): AsyncIterable<string> {
    const suffix = `/${createHash("sha256").update(userId, "utf8").digest("hex")}`;
    const prefix = `${this.#prefix}refs/`;
    let token: string | undefined;
    do {
      const page = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const key = o.Key ?? "";
        if (key.endsWith(suffix)) yield `b3:${key.slice(prefix.length, key.length - suffix.length)}`;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  #blobKey(hex: string): string {
    return this.#prefix + s3BlobPath({ kind: "content", hex });
  }

  #refKey(userId: string, hex: string): string {
    return this.#prefix + s3BlobPath({ kind: "ref", hex, owner: ownerHash(userId) });
  }

  /** Records that `userId` references the blob; false when it already did. */
  async #addRef(userId: string, hex: string): Promise<boolean> {
    const ref = this.#refKey(userId, hex);
    if (await this.#exists(ref)) return false;
    try {
      // Conditional on S3 and MinIO (two racing first puts: one creates); servers that ignore it fall back to the check above.
      await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: ref, Body: new Uint8Array(0), IfNoneMatch: "*" }));
      return true;
    } catch (err) {
      const status = httpStatus(err);
      if (status === 412 || status === 409) return false;
      throw err;
    }
  }

  async #head(key: string): Promise<{ size: number } | undefined> {
    try {
      const h = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return { size: h.ContentLength ?? 0 };
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async #exists(key: string): Promise<boolean> {
    return (await this.#head(key)) !== undefined;
  }

  async #get(key: string, extra: { IfMatch?: string; Range?: string } = {}): Promise<GetObjectCommandOutput | undefined> {
    try {
      return await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key, ...extra }));
    } catch (err) {
      const status = httpStatus(err);
      if (status === 404) return undefined;
      if (status === 412) throw blobCorrupt(`b3:${key.slice(key.lastIndexOf("/") + 1)}`);
      throw err;
    }
  }

  async #delete(key: string): Promise<void> {
    await this.#s3.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: key }));
  }
}

function required<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`S3 answered without ${what}`);
  return v;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** `CopySource` is `<bucket>/<key>` with the key URL-encoded (slashes kept). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

function concat(parts: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

async function* slices(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += BLOB_CHUNK_BYTES) yield bytes.subarray(i, i + BLOB_CHUNK_BYTES);
}

/** The first byte of a `Content-Range: bytes a-b/size` answer (0 for a whole-object answer). */
function rangeStart(contentRange: string | undefined): number {
  const m = contentRange ? /^bytes (\d+)-/.exec(contentRange) : null;
  return m ? Number(m[1]) : 0;
}

/** `take` bytes of `body` after skipping `skip`. */
async function* window(body: AsyncIterable<Uint8Array>, skip: number, take: number): AsyncGenerator<Uint8Array> {
  let toSkip = skip;
  let left = take;
  for await (const chunk of body) {
    if (left <= 0) break;
    let c = chunk;
    if (toSkip > 0) {
      const n = Math.min(toSkip, c.length);
      c = c.subarray(n);
      toSkip -= n;
    }
    if (c.length === 0) continue;
    if (c.length > left) c = c.subarray(0, left);
    left -= c.length;
    yield c;
  }
}

/** Releases a response body that will not be read (its socket goes back to the pool). */
async function discard(r: GetObjectCommandOutput): Promise<void> {
  const body = r.Body as { destroy?: () => void } | undefined;
  body?.destroy?.();
}
