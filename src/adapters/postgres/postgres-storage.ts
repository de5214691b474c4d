import type { PgSql } from "./database.js";

/** Bytes of the cluster's tables in its schema: heap, indexes and TOAST (`pg_total_relation_size`). */
export async function schemaBytes(sql: PgSql, schema: string): Promise<number> {
  const [row] = await sql<{ bytes: number }[]>`
    SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND c.relkind IN ('r', 'm', 'p')`;
  return row?.bytes ?? 0;
}

/**
 * The blob bytes Styx tracks (each owner's stored blobs, `user_quotas.blob_bytes`): no listing
 * of the bucket. A blob stored by several owners counts once per owner, so this bounds the
 * bucket from above.
 */
export async function trackedBlobBytes(sql: PgSql): Promise<number> {
  const [row] = await sql<{ bytes: number }[]>`SELECT coalesce(sum(blob_bytes), 0)::bigint AS bytes FROM user_quotas`;
  return row?.bytes ?? 0;
}

/**
 * How long this process waited for an idle connection of its pool (seconds), at most
 * `timeoutMs` (then the timeout itself: the pool stayed exhausted, or PostgreSQL is down). A
 * pool whose every connection is busy makes every query queue: this is that wait, sampled.
 */
export async function poolWaitSeconds(sql: PgSql, timeoutMs: number): Promise<number> {
  const start = performance.now();
  const reserved = sql.reserve();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const got = await Promise.race([reserved, timedOut]);
    if (got === "timeout") {
      // Given back whenever it comes.
      reserved.then((c) => c.release()).catch(() => {});
      return timeoutMs / 1000;
    }
    got.release();
    return (performance.now() - start) / 1000;
  } catch {
    return timeoutMs / 1000;
  } finally {
    clearTimeout(timer);
  }
}
