import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fsBlobFile } from "../../adapters/fs/fs-blob-store.js";
import { epochOf, jetStreamName } from "../../adapters/nats/event-codec.js";
import { eventBatches, eventStreamExtent, eventStreamWriter } from "../../adapters/nats/jetstream-backup.js";
import { migratePostgres, type PgSql, POSTGRES_SCHEMA_VERSION } from "../../adapters/postgres/database.js";
import { PostgresAuditLog } from "../../adapters/postgres/postgres-audit-log.js";
import { backupTables, countRows, loadSession, rowInserter } from "../../adapters/postgres/postgres-backup.js";
import { PostgresSecretStore } from "../../adapters/postgres/postgres-secret-store.js";
import { objectBody, putObject } from "../../adapters/s3/s3-backup.js";
import { s3BlobPath } from "../../adapters/s3/s3-blob-store.js";
import { MIGRATIONS as SQLITE_MIGRATIONS } from "../../adapters/sqlite/migrations.js";
import { HISTORY_TABLES, historyArchive, historyEvent, ROWID_COLUMN } from "../../adapters/sqlite/sqlite-backup.js";
import { type Config, ConfigError } from "../../config/load.js";
import type { ArchiveRef, LoggedEvent } from "../../core/fabric/event-log.js";
import { decodeArchive } from "../../core/fabric/tiered-history.js";
import { cidDigest } from "../../core/platform/blob-store.js";
import { systemClock } from "../../core/platform/clock.js";
import { blake3Stream, initCrypto } from "../../core/platform/crypto.js";
import { readSecretKey, SECRET_KEY_FILE } from "../secret-key.js";
import { VERSION } from "../version.js";
import { BackupError, type BackupRow, type BackupSummary, readBackup } from "./archive.js";
import { assertEmptyCluster, openServices, undoRestore } from "./macro-backup.js";
import { backupRestored, type Progress, type RestoreReport } from "./report.js";

/** The schema version of the newest micronode database: the only one a cluster can take as it is. */
const MICRO_SCHEMA_VERSION = SQLITE_MIGRATIONS.at(-1)?.version ?? 0;

/** Where a data dir's blobs live, relative to it (app/storage.ts: `<dataDir>/blobs`). */
const BLOBS_DIR = "blobs/";

/** Warm events of one stream published per round (each round cut into batch messages). */
const EVENTS_PER_ROUND = 1000;

/**
 * Restores a verified micronode backup into the cluster STYX_CLUSTER names, which must be
 * empty: the way from one machine to a fleet of gateways. Three passes over the file (after
 * the verification restoreMacro did):
 *
 * 1. the tables into PostgreSQL, in one transaction, in the backup's order (SQLite creation
 *    order: parents first): each row translated by the PostgreSQL adapter (booleans from 0/1;
 *    SQLite's implicit `rowid` left out; seqs kept; generated columns such as the full-text
 *    `search` computed by PostgreSQL); the data dir's secret files become `server_secrets` rows
 *    (never STYX_SECRET_KEY itself: a cluster's key lives in the gateways' environment); the
 *    blobs into S3 in its layout (`blobs/<hex>`, `refs/<hex>/<owner>`), each hashed on the way
 *    and refused when its bytes are not its name; the cold history archives (blobs of the
 *    history's own owner) kept aside in a temporary directory, not in the bucket;
 * 2. the stream history into a new JetStream event stream (a new epoch): per Styx stream, its
 *    archived events then its warm ones, in seq order, as the batch messages the gateways write,
 *    so every position keeps its seq;
 * 3. verification: rows per table counted in PostgreSQL (inside the load transaction, before
 *    it commits), events and messages per stream counted, every object read back and hashed.
 *
 * The backup must be of the newest micronode schema (an older one: restore it into a micronode
 * with this Styx, which migrates it, and back it up again). When a step fails, what the restore
 * wrote is removed again, as restoreMacro does.
 */
export async function restoreMicroIntoMacro(
  config: Config,
  file: string,
  summary: BackupSummary,
  progress: Progress,
  started: number,
): Promise<RestoreReport> {
  const { header } = summary;
  if (header.schema !== MICRO_SCHEMA_VERSION)
    throw new BackupError(
      `${file} is a micronode backup of schema version ${header.schema} (Styx ${header.styx}); a cluster takes one of version ${MICRO_SCHEMA_VERSION} only: restore it into a micronode with this Styx (${VERSION}), which migrates it, back that up and restore the new backup here`,
    );
  if (!config.secretKey) throw new BackupError("STYX_SECRET_KEY is required: give the micronode's key (its data dir's secret-key file)");
  await initCrypto();
  const svc = await openServices(config);
  const { cluster } = config;
  const written: string[] = [];
  let streamCreated = false;
  let committed = false;
  const spool = await mkdtemp(join(tmpdir(), "styx-scale-out-"));
  const load = await loadSession(svc.sql);
  try {
    await assertEmptyCluster(svc, cluster);
    await migratePostgres(svc.sql, cluster, POSTGRES_SCHEMA_VERSION);
    const tables = new Map((await backupTables(svc.sql, cluster)).map((t) => [t.name, t]));
    const secrets = tables.get("server_secrets");
    if (!secrets) throw new Error("the cluster's schema has no server_secrets table");

    // Pass 1: tables, secrets, blobs; the history's index and archives kept for pass 2.
    const archives: ArchiveRef[] = [];
    const archiveHexes = new Set<string>();
    const expected = new Map<string, number>();
    let warmEvents = 0;
    let rows = 0;
    let files = 0;
    let bytes = 0;
    const blobs: string[] = [];
    await load.begin();
    progress.start(
      "restore",
      summary.sections.filter((s) => s.section !== "table" || s.name !== HISTORY_TABLES.events).reduce((n, s) => n + s.rows, 0),
    );
    type Sink = {
      row(values: BackupRow): Promise<void>;
      end(): Promise<void>;
    };
    let sink: Sink | undefined;
    const collect = (done: (bytes: Buffer) => Promise<void>): Sink => {
      const chunks: Uint8Array[] = [];
      return {
        async row([c]) {
          if (!(c instanceof Uint8Array)) throw new BackupError(`${file}: a file chunk is not bytes`);
          chunks.push(c);
        },
        end: () => done(Buffer.concat(chunks)),
      };
    };
    const ignore: Sink = { row: async () => {}, end: async () => {} };
    await readBackup(file, async (item) => {
      if (item.kind === "row") {
        await sink?.row(item.values);
        if (item.section.section !== "table" || item.section.name !== HISTORY_TABLES.events) progress.advance(1);
        return;
      }
      await sink?.end();
      sink = undefined;
      const s = item.header;
      const columns = s.columns ?? [];
      if (s.section === "table") {
        if (s.name === HISTORY_TABLES.archives) {
          sink = {
            async row(values) {
              const ref = historyArchive(columns, values);
              const hex = cidDigest(ref.cid);
              if (!hex) throw new BackupError(`${file}: archive of ${ref.stream} has a malformed cid ${ref.cid}`);
              archives.push(ref);
              archiveHexes.add(hex);
            },
            end: async () => {},
          };
        } else if (s.name === HISTORY_TABLES.events) {
          progress.section(`history ${s.name} (published after the tables)`, 0);
          warmEvents += s.rows;
          sink = ignore;
        } else if (s.name === HISTORY_TABLES.streams || s.name === HISTORY_TABLES.meta) {
          // Each stream's last seq is its last event's; the epoch is the new stream's.
          sink = ignore;
        } else {
          const t = tables.get(s.name);
          if (!t) throw new BackupError(`${file} holds a table ${s.name} that a cluster's schema does not have`);
          const keep = columns.flatMap((c, i) => (c === ROWID_COLUMN ? [] : [i]));
          const names = keep.map((i) => columns[i] as string);
          const unknown = names.filter((c) => !t.columns.includes(c));
          if (unknown.length > 0)
            throw new BackupError(`${file}: table ${s.name} has columns ${unknown.join(", ")} a cluster's schema does not have`);
          const inserter = rowInserter(load.db, cluster, t, names);
          progress.section(`table ${s.name}`, s.rows);
          expected.set(s.name, s.rows);
          rows += s.rows;
          sink = {
            row: (values) => inserter.add(keep.map((i) => values[i] ?? null)),
            end: () => inserter.flush(),
          };
        }
        return;
      }
      if (s.section !== "file") throw new BackupError(`${file} holds a ${s.section} section, which a micronode backup never has`);
      if (!s.name.includes("/")) {
        // A secret of the data dir. STYX_SECRET_KEY never enters the cluster (its check value does).
        if (s.name === SECRET_KEY_FILE) {
          sink = ignore;
          return;
        }
        const inserter = rowInserter(load.db, cluster, secrets, ["name", "value", "created_at"]);
        expected.set("server_secrets", (expected.get("server_secrets") ?? 0) + 1);
        sink = collect(async (content) => {
          await inserter.add([s.name, content.toString("utf8").trim(), Date.now()]);
          await inserter.flush();
        });
        return;
      }
      const blob = s.name.startsWith(BLOBS_DIR) ? fsBlobFile(s.name.slice(BLOBS_DIR.length)) : undefined;
      if (!blob) {
        // Nothing a cluster has a place for (a stray file of the data dir): said, not copied.
        progress.section(`skipped ${s.name}`, s.rows);
        sink = ignore;
        return;
      }
      progress.section(`file ${s.name}`, s.rows);
      if (archiveHexes.has(blob.hex)) {
        // The history's cold archives go to JetStream (pass 2), not into the bucket.
        sink = blob.kind === "ref" ? ignore : collect((content) => writeFile(join(spool, blob.hex), content));
        return;
      }
      if (blob.kind === "ref") {
        sink = collect(async () => {
          const rel = s3BlobPath(blob);
          await putObject(svc.s3, svc.bucket, svc.prefix, rel, new Uint8Array(0));
          written.push(rel);
          files++;
        });
        return;
      }
      const hash = await blake3Stream();
      const inner = collect(async (content) => {
        if (hash.hex() !== blob.hex) throw new BackupError(`${file}: blob ${blob.hex} does not hash to its name: its bytes were altered`);
        const rel = s3BlobPath(blob);
        await putObject(svc.s3, svc.bucket, svc.prefix, rel, content);
        written.push(rel);
        blobs.push(blob.hex);
        files++;
        bytes += content.byteLength;
      });
      sink = {
        async row(values) {
          if (values[0] instanceof Uint8Array) hash.update(values[0]);
          await inner.row(values);
        },
        end: inner.end,
      };
    });
    await sink?.end();
    progress.done();

    // Verification of the tables, inside the load transaction: what each section announced is there.
    progress.start("verify tables", expected.size);
    for (const [name, want] of expected) {
      progress.section(`table ${name}`, 1);
      const got = Number(await countRows(load.db, cluster, { name }));
      if (got !== want) throw new BackupError(`table ${name}: ${got} rows in the cluster after the load, the backup holds ${want}`);
      progress.advance(1);
    }
    progress.done();
    // The restored check value names the key the store was written with: STYX_SECRET_KEY must be it.
    const { key } = await readSecretKey(config, new PostgresSecretStore(load.db as PgSql, cluster)).catch((err: unknown) => {
      if (!(err instanceof ConfigError)) throw err;
      throw new BackupError(
        `STYX_SECRET_KEY is not the key the micronode in ${file} was written with: give its key (its data dir's secret-key file)`,
      );
    });
    await load.commit();
    committed = true;

    // Pass 2: the history, per stream: its archives (oldest first), then its warm events.
    let archivedEvents = archives.reduce((n, a) => n + a.lastSeq - a.firstSeq + 1, 0);
    progress.start("history", archivedEvents + warmEvents);
    const stream = await eventStreamWriter(svc.nats, cluster, { retentionMs: config.historyRetentionMs });
    streamCreated = true;
    const byStream = new Map<string, ArchiveRef[]>();
    for (const a of archives.sort((x, y) => x.firstSeq - y.firstSeq)) byStream.set(a.stream, [...(byStream.get(a.stream) ?? []), a]);
    let messages = 0;
    let events = 0;
    const tips = new Map<string, number>();
    const publish = async (name: string, batch: readonly LoggedEvent[]) => {
      for (const e of batch) {
        const tip = tips.get(name) ?? 0;
        if (e.seq <= tip) throw new BackupError(`${file}: stream ${name} has seq ${e.seq} after ${tip}`);
        tips.set(name, e.seq);
      }
      for (const m of eventBatches(name, batch, stream.maxBatchBytes)) {
        await stream.add(m);
        messages++;
      }
      events += batch.length;
      progress.advance(batch.length);
    };
    const publishArchives = async (name: string) => {
      const refs = byStream.get(name);
      if (!refs) return;
      byStream.delete(name);
      progress.section(
        `stream ${name}: ${refs.length} archives`,
        refs.reduce((n, a) => n + a.lastSeq - a.firstSeq + 1, 0),
      );
      for (const ref of refs) {
        const hex = cidDigest(ref.cid) as string;
        const content = await readFile(join(spool, hex)).catch(() => undefined);
        if (!content) {
          // Retention may drop the oldest archives between the backup's table snapshot and its copy
          // of the files: the history then starts later, as it would have on the micronode. A hole
          // after history that is there would lose events in the middle: refused.
          if (tips.has(name))
            throw new BackupError(`${file}: the archive of ${ref.stream} seqs ${ref.firstSeq}–${ref.lastSeq} is not in the backup`);
          progress.section(`stream ${name}: seqs ${ref.firstSeq}–${ref.lastSeq} expired during the backup, left out`, 0);
          archivedEvents -= ref.lastSeq - ref.firstSeq + 1;
          continue;
        }
        const hash = await blake3Stream();
        hash.update(content);
        if (hash.hex() !== hex) throw new BackupError(`${file}: the archive ${hex} does not hash to its name: its bytes were altered`);
        await publish(
          name,
          decodeArchive(content, "").map((e) => ({ stream: name, seq: e.seq, ts: e.ts, channel: e.channel, payloadJson: e.payloadJson })),
        );
      }
    };
    let current: string | undefined;
    let pending: LoggedEvent[] = [];
    const flushPending = async () => {
      if (current !== undefined && pending.length > 0) await publish(current, pending);
      pending = [];
    };
    await readBackup(file, async (item) => {
      if (item.kind !== "row" || item.section.section !== "table" || item.section.name !== HISTORY_TABLES.events) return;
      const e = historyEvent(item.section.columns ?? [], item.values);
      if (e.stream !== current) {
        await flushPending();
        current = e.stream;
        await publishArchives(e.stream);
        progress.section(`stream ${e.stream}`, 0);
      }
      pending.push(e);
      if (pending.length >= EVENTS_PER_ROUND) await flushPending();
    });
    await flushPending();
    for (const name of [...byStream.keys()]) await publishArchives(name);
    await stream.flush();
    progress.done();

    // Verification of the history and the blobs.
    progress.start("verify", blobs.length);
    if (events !== archivedEvents + warmEvents)
      throw new BackupError(`${events} events published, the backup holds ${archivedEvents + warmEvents}`);
    const extent = await eventStreamExtent(svc.nats, cluster);
    if (extent.messages !== messages)
      throw new BackupError(`${jetStreamName(cluster)} holds ${extent.messages} messages, ${messages} were published`);
    for (const hex of blobs) {
      progress.section(`blob ${hex.slice(0, 12)}`, 1);
      const hash = await blake3Stream();
      for await (const c of await objectBody(svc.s3, svc.bucket, svc.prefix, s3BlobPath({ kind: "content", hex }))) hash.update(c);
      if (hash.hex() !== hex)
        throw new BackupError(`object ${s3BlobPath({ kind: "content", hex })} reads back with other bytes than were written`);
      progress.advance(1);
    }
    progress.done();

    const migrated = await migratePostgres(svc.sql, cluster);
    const epoch = epochOf(jetStreamName(cluster), stream.created);
    await new PostgresAuditLog(svc.sql, systemClock, key).append(
      backupRestored({ created_at: header.created_at, blake3: summary.blake3 }, epoch, "micro"),
    );
    return {
      file,
      target: `cluster ${cluster} (from a micronode)`,
      tables: expected.size,
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
    await rm(spool, { recursive: true, force: true });
  }
}
