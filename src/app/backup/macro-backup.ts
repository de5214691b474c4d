import { epochOf, jetStreamName } from "../../adapters/nats/event-codec.js";
import {
  deleteEventStream,
  type EventMessageRow,
  eventMessages,
  eventStreamExtent,
  eventStreamWriter,
} from "../../adapters/nats/jetstream-backup.js";
import { connectNats, type NatsConnection } from "../../adapters/nats/nats-connection.js";
import {
  migratePostgres,
  openPostgres,
  type PgSql,
  POSTGRES_SCHEMA_VERSION,
  postgresSchemaVersion,
} from "../../adapters/postgres/database.js";
import { PostgresAuditLog } from "../../adapters/postgres/postgres-audit-log.js";
import {
  backupTables,
  countRows,
  inSnapshot,
  type LoadSession,
  loadSession,
  rowInserter,
  rowsInSchema,
  tableRows,
  truncateTables,
} from "../../adapters/postgres/postgres-backup.js";
import { PostgresSecretStore } from "../../adapters/postgres/postgres-secret-store.js";
import { deleteObject, listObjects, objectBody, putObject } from "../../adapters/s3/s3-backup.js";
import { openS3Client, type S3Client } from "../../adapters/s3/s3-blob-store.js";
import { type Config, ConfigError } from "../../config/load.js";
import { systemClock } from "../../core/platform/clock.js";
import { initCrypto } from "../../core/platform/crypto.js";
import { s3Options } from "../macro-storage.js";
import { readSecretKey } from "../secret-key.js";
import { VERSION } from "../version.js";
import { BackupError, type BackupRow, BackupWriter, FILE_CHUNK_BYTES, readBackup } from "./archive.js";
import { type BackupReport, backupCreated, backupRestored, type Progress, type RestoreReport } from "./report.js";

/** The services of a cluster as backup and restore reach them. */
export interface Services {
  readonly sql: PgSql;
  readonly nats: NatsConnection;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  close(): Promise<void>;
}

/** Connects to the cluster's PostgreSQL, NATS and S3 as STYX_DATABASE_URL, STYX_NATS_URL and STYX_S3_* name them. */
export async function openServices(config: Config): Promise<Services> {
  const need = <T>(v: T | undefined, name: string): T => {
    if (v === undefined) throw new BackupError(`${name} is required for a macronode backup or restore`);
    return v;
  };
  const url = need(config.databaseUrl, "STYX_DATABASE_URL");
  const natsUrl = need(config.natsUrl, "STYX_NATS_URL");
  const bucket = need(config.s3.bucket, "STYX_S3_BUCKET");
  const sql = openPostgres(url, { schema: config.cluster, max: 2 });
  let nats: NatsConnection;
  try {
    nats = await connectNats({ url: natsUrl, name: `styx-backup-${config.cluster}` });
  } catch (err) {
    await sql.end({ timeout: 5 });
    throw err;
  }
  const opts = s3Options(config, bucket);
  const s3 = openS3Client(opts);
  return {
    sql,
    nats,
    s3,
    bucket,
    prefix: opts.prefix,
    async close() {
      s3.destroy();
      await nats.close().catch(() => {});
      await sql.end({ timeout: 5 });
    },
  };
}

/** `source` as chunks of exactly FILE_CHUNK_BYTES (the last one shorter). */
async function* rechunk(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let buf = Buffer.alloc(0);
  for await (const c of source) {
    buf = Buffer.concat([buf, c]);
    while (buf.length >= FILE_CHUNK_BYTES) {
      yield buf.subarray(0, FILE_CHUNK_BYTES);
      buf = buf.subarray(FILE_CHUNK_BYTES);
    }
  }
  if (buf.length > 0) yield buf;
}

/**
 * Backs up a macronode cluster while its gateways keep running: every table of its
 * PostgreSQL schema read in one REPEATABLE READ transaction (one snapshot), the JetStream
 * event stream up to the message that was last when the snapshot began, then the S3 objects
 * (content-addressed blobs and their owner references: a blob written during the backup may
 * be in it or not, but never half). Redis is not copied: buckets, presence and the pheromone
 * cache rebuild from traffic.
 */
export async function backupMacro(config: Config, file: string, progress: Progress): Promise<BackupReport> {
  await initCrypto();
  const svc = await openServices(config);
  const { cluster } = config;
  const started = Date.now();
  let writer: BackupWriter | undefined;
  try {
    const schema = await postgresSchemaVersion(svc.sql, cluster);
    if (schema === 0) throw new BackupError(`cluster ${cluster} has no PostgreSQL schema (is STYX_CLUSTER the gateways'?)`);
    const { key } = await readSecretKey(config, new PostgresSecretStore(svc.sql, cluster));
    let rows = 0;
    let tableCount = 0;
    let messages = 0;
    let bytes = 0;
    let files = 0;
    const w = await BackupWriter.create(file, { profile: "macro", schema, styx: VERSION, created_at: new Date().toISOString(), cluster });
    writer = w;
    await inSnapshot(svc.sql, async (tx) => {
      const tables = await backupTables(tx, cluster);
      const counted = [];
      for (const t of tables) counted.push({ ...t, rows: await countRows(tx, cluster, t) });
      // The snapshot is taken: now the stream's extent, then the objects.
      const extent = await eventStreamExtent(svc.nats, cluster);
      const objects = await listObjects(svc.s3, svc.bucket, svc.prefix);
      const chunks = objects.reduce((n, o) => n + Math.ceil(o.size / FILE_CHUNK_BYTES), 0);
      progress.start("backup", counted.reduce((n, t) => n + t.rows, 0) + extent.messages + chunks);
      for (const t of counted) {
        progress.section(`table ${t.name}`, t.rows);
        await w.section({ section: "table", name: t.name, columns: t.columns, rows: t.rows });
        let n = 0;
        for await (const row of tableRows(tx, cluster, t)) {
          if (++n > t.rows) break;
          await w.row(row as BackupRow);
          progress.advance(1);
        }
        rows += t.rows;
        tableCount++;
      }
      progress.section(`stream ${jetStreamName(cluster)}`, extent.messages);
      await w.section({
        section: "messages",
        name: jetStreamName(cluster),
        columns: ["stream", "first", "last", "body"],
        rows: extent.messages,
      });
      for await (const m of eventMessages(svc.nats, cluster, extent.lastSeq)) {
        if (++messages > extent.messages) break;
        await w.row(m);
        progress.advance(1);
      }
      if (messages < extent.messages)
        throw new BackupError(`the event stream lost ${extent.messages - messages} messages to retention during the backup: run it again`);
      for (const o of objects) {
        const n = Math.ceil(o.size / FILE_CHUNK_BYTES);
        await w.section({ section: "file", name: o.rel, rows: n, size: o.size, mode: 0o600 });
        let written = 0;
        for await (const chunk of rechunk(await objectBody(svc.s3, svc.bucket, svc.prefix, o.rel))) {
          if (++written > n) throw new BackupError(`object ${o.rel} grew while it was copied`);
          await w.row([chunk]);
          bytes += chunk.byteLength;
          progress.advance(1);
        }
        if (written !== n) throw new BackupError(`object ${o.rel} shrank while it was copied`);
        files++;
      }
    });
    const end = await w.finish();
    progress.done();
    const report: BackupReport = { file, tables: tableCount, rows, files, bytes, messages, blake3: end.blake3, ms: Date.now() - started };
    await new PostgresAuditLog(svc.sql, systemClock, key).append(backupCreated(report));
    return report;
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    await svc.close();
  }
}

/** Refuses a restore target that holds anything: rows in its schema, messages in its event stream, objects under its prefix. */
export async function assertEmptyCluster(svc: Services, cluster: string): Promise<void> {
  const held = await rowsInSchema(svc.sql, cluster);
  const extent = await eventStreamExtent(svc.nats, cluster);
  const objects = await listObjects(svc.s3, svc.bucket, svc.prefix);
  if (held > 0 || extent.messages > 0 || objects.length > 0)
    throw new BackupError(
      `cluster ${cluster} is not empty (${held} rows in schema ${cluster}, ${extent.messages} messages in ${jetStreamName(cluster)}, ${objects.length} objects under ${svc.bucket}/${svc.prefix}): restore into an empty cluster (another STYX_CLUSTER, or drop this one first)`,
    );
}

/** What a restore into a cluster wrote so far: the committed tables, the stream it created, the objects it put. */
export interface RestoreWrites {
  readonly committed: boolean;
  readonly streamCreated: boolean;
  readonly written: readonly string[];
}

/** Removes what a failed restore into a cluster wrote (its load rolled back, rows truncated, stream and objects deleted); never throws. */
export async function undoRestore(svc: Services, cluster: string, load: LoadSession, w: RestoreWrites): Promise<void> {
  await load.rollback().catch(() => {});
  if (w.committed) await truncateTables(svc.sql, cluster);
  if (w.streamCreated) await deleteEventStream(svc.nats, cluster).catch(() => {});
  for (const rel of w.written) await deleteObject(svc.s3, svc.bucket, svc.prefix, rel).catch(() => {});
}

/**
 * Restores a verified macronode backup into the cluster STYX_CLUSTER names, which must hold
 * nothing yet (no rows in its schema, no event stream messages, no objects under its prefix):
 * the same cluster after it was dropped, or a new name. Tables load in one transaction at the
 * backup's schema version, then later migrations apply; the event stream is created anew (a
 * new epoch), its messages republished in order with their seqs; then the objects. When a step
 * fails, what the restore wrote to the stream and the bucket is removed again. A micronode's
 * backup is restored into the cluster the same way, translated (micro-to-macro.ts).
 */
export async function restoreMacro(config: Config, file: string, progress: Progress): Promise<RestoreReport> {
  const started = Date.now();
  progress.start("verify", 0);
  const summary = await readBackup(file);
  progress.done();
  const { header } = summary;
  // A micronode's backup crosses over: its tables, history and blobs translated (micro-to-macro.ts).
  if (header.profile === "micro")
    return (await import("./micro-to-macro.js")).restoreMicroIntoMacro(config, file, summary, progress, started);
  if (header.schema > POSTGRES_SCHEMA_VERSION)
    throw new BackupError(
      `${file} was taken at schema version ${header.schema} by Styx ${header.styx}; this Styx (${VERSION}) knows versions up to ${POSTGRES_SCHEMA_VERSION}: restore it with that version or newer`,
    );
  await initCrypto();
  const svc = await openServices(config);
  const { cluster } = config;
  const written: string[] = [];
  let streamCreated = false;
  let committed = false;
  const load = await loadSession(svc.sql);
  try {
    await assertEmptyCluster(svc, cluster);
    await migratePostgres(svc.sql, cluster, header.schema);
    const tables = new Map((await backupTables(svc.sql, cluster)).map((t) => [t.name, t]));
    await load.begin();
    progress.start("restore", summary.rows);
    let table: { name: string; inserter: ReturnType<typeof rowInserter> } | undefined;
    let stream: Awaited<ReturnType<typeof eventStreamWriter>> | undefined;
    let object: { rel: string; chunks: Uint8Array[] } | undefined;
    let rows = 0;
    let messages = 0;
    let files = 0;
    let bytes = 0;
    const endSection = async () => {
      if (table) await table.inserter.flush();
      table = undefined;
      if (object) {
        await putObject(svc.s3, svc.bucket, svc.prefix, object.rel, Buffer.concat(object.chunks));
        written.push(object.rel);
        object = undefined;
      }
    };
    const commit = async () => {
      if (committed) return;
      await load.commit();
      committed = true;
    };
    await readBackup(file, async (item) => {
      if (item.kind === "section") {
        await endSection();
        const s = item.header;
        progress.section(`${s.section} ${s.name}`, s.rows);
        if (s.section === "table") {
          if (committed) throw new BackupError(`${file}: table ${s.name} comes after the stream or the objects`);
          const t = tables.get(s.name);
          if (!t) throw new BackupError(`${file} holds a table ${s.name} that schema version ${header.schema} does not have`);
          table = { name: s.name, inserter: rowInserter(load.db, cluster, t, s.columns ?? []) };
          rows += s.rows;
        } else {
          await commit();
          if (s.section === "messages") {
            stream = await eventStreamWriter(svc.nats, cluster, { retentionMs: config.historyRetentionMs });
            streamCreated = true;
          } else {
            if (s.name.startsWith("tmp/") || s.name.includes(".."))
              throw new BackupError(`${file} names an object outside the cluster: ${s.name}`);
            object = { rel: s.name, chunks: [] };
            files++;
          }
        }
        return;
      }
      if (table) await table.inserter.add(item.values);
      else if (object) {
        const c = item.values[0];
        if (!(c instanceof Uint8Array)) throw new BackupError(`${file}: a chunk of ${object.rel} is not bytes`);
        object.chunks.push(c);
        bytes += c.byteLength;
      } else if (stream) {
        await stream.add(item.values as unknown as EventMessageRow);
        messages++;
      }
      progress.advance(1);
    });
    await endSection();
    await commit();
    await stream?.flush();
    if (!stream) {
      // A backup of a cluster whose stream held nothing: the stream is still created, so its epoch is new.
      stream = await eventStreamWriter(svc.nats, cluster, { retentionMs: config.historyRetentionMs });
      streamCreated = true;
    }
    const migrated = await migratePostgres(svc.sql, cluster);
    const epoch = epochOf(jetStreamName(cluster), stream.created);
    // The restored server_secrets name the key the store was written with: STYX_SECRET_KEY must be it.
    const { key } = await readSecretKey(config, new PostgresSecretStore(svc.sql, cluster)).catch((err: unknown) => {
      if (!(err instanceof ConfigError)) throw err;
      throw new BackupError(`STYX_SECRET_KEY is not the key the store in ${file} was written with: give the original cluster's key`);
    });
    await new PostgresAuditLog(svc.sql, systemClock, key).append(
      backupRestored({ created_at: header.created_at, blake3: summary.blake3 }, epoch),
    );
    progress.done();
    return {
      file,
      target: `cluster ${cluster}`,
      tables: summary.sections.filter((s) => s.section === "table").length,
      rows,
      files,
      bytes,
      messages,
      epoch,
      migrated,
      createdAt: header.created_at,
      ms: Date.now() - started,
    };
  } catch (err) {
    await undoRestore(svc, cluster, load, { committed, streamCreated, written });
    throw err;
  } finally {
    load.release();
    await svc.close();
  }
}
