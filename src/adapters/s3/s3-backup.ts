import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

/** An object of the cluster's prefix, by its key below the prefix (`blobs/<hex>`, `refs/<hex>/<user hash>`). */
export interface S3BackupObject {
  readonly rel: string;
  readonly size: number;
}

/** Every object under `prefix` but upload temporaries (`tmp/`), in key order. */
export async function listObjects(s3: S3Client, bucket: string, prefix: string): Promise<S3BackupObject[]> {
  const out: S3BackupObject[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const rel = (o.Key ?? "").slice(prefix.length);
      if (rel && !rel.startsWith("tmp/")) out.push({ rel, size: o.Size ?? 0 });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** The bytes of object `rel` under `prefix`, as a stream of chunks. */
export async function objectBody(s3: S3Client, bucket: string, prefix: string, rel: string): Promise<AsyncIterable<Uint8Array>> {
  const r = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + rel }));
  if (!r.Body) throw new Error(`object ${prefix + rel} has no body`);
  return r.Body as AsyncIterable<Uint8Array>;
}

/** Stores `bytes` as object `rel` under `prefix`. */
export async function putObject(s3: S3Client, bucket: string, prefix: string, rel: string, bytes: Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: prefix + rel, Body: bytes, ContentLength: bytes.byteLength }));
}

/** Deletes object `rel` under `prefix` (what a failed restore wrote). */
export async function deleteObject(s3: S3Client, bucket: string, prefix: string, rel: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + rel }));
}
