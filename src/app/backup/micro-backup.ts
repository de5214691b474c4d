import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { dirname, join, normalize, relative, resolve, sep } from "node:path";
import { LATEST_SCHEMA_VERSION, migrate, openDatabase, type SqliteDatabase, schemaVersion } from "../../adapters/sqlite/database.js";
import { SqliteAuditLog } from "../../adapters/sqlite/sqlite-audit-log.js";
import {
  backupTables,
  countRows,
  enforceForeignKeys,
  foreignKeyViolations,
  rowInserter,
  setStreamEpoch,
  tableRows,
} from "../../adapters/sqlite/sqlite-backup.js";
import { ConfigError } from "../../config/load.js";
import { systemClock } from "../../core/platform/clock.js";
import { type Blake3Stream, initCrypto, newId } from "../../core/platform/crypto.js";
import { readSecretKey, SECRET_KEY_FILE } from "../secret-key.js";
import { fileSecrets } from "../secrets.js";
import { DATABASE_FILE } from "../storage.js";
import { VERSION } from "../version.js";
import { BackupError, type BackupRow, BackupWriter, FILE_CHUNK_BYTES, readBackup, type SectionHeader } from "./archive.js";
import { type BackupReport, backupCreated, backupRestored, type Progress, type RestoreReport } from "./report.js";

/** Files of the data dir that are not copied: the database (copied by rows) and caches rebuilt at start. */
const NOT_COPIED = new Set([DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`, "vectors", join("blobs", "tmp")]);

interface DirFile {
  /** Path relative to the data dir, with `/` separators. */
  readonly rel: string;
  readonly size: number;
  readonly mode: number;
  readonly chunks: number;
}

async function listFiles(root: string): Promise<DirFile[]> {
  const out: DirFile[] = [];
  const walk = async (rel: string) => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? join(rel, e.name) : e.name;
      if (NOT_COPIED.has(r) || e.name.endsWith(".partial")) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const st = await stat(join(root, r));
        out.push({ rel: r.split(sep).join("/"), size: st.size, mode: st.mode & 0o777, chunks: Math.ceil(st.size / FILE_CHUNK_BYTES) });
      }
    }
  };
  await walk("");
  return out.sort((a, b) => a.rel.localeCompare(b.rel));
}

async function copyFileInto(writer: BackupWriter, root: string, f: DirFile, progress: Progress, counted: (n: number) => void) {
  const fh = await open(join(root, f.rel), "r");
  try {
    // The announced size bounds what is read: a file that grew since it was listed is cut there
    // (blobs never change; only a secret file could, and it is written once).
    await writer.section({ section: "file", name: f.rel, rows: f.chunks, size: f.size, mode: f.mode });
    const buf = Buffer.alloc(FILE_CHUNK_BYTES);
    let pos = 0;
    for (let i = 0; i < f.chunks; i++) {
      const want = Math.min(FILE_CHUNK_BYTES, f.size - pos);
      const { bytesRead } = await fh.read(buf, 0, want, pos);
      if (bytesRead !== want) throw new Error(`${f.rel} shrank while it was copied`);
      pos += bytesRead;
      await writer.row([buf.subarray(0, bytesRead)]);
      counted(bytesRead);
      progress.advance(1);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Backs up a micronode's data dir — online: the server may be running. Every table is read
 * inside one SQLite read transaction (a snapshot: writes committed after it began are not in
 * the backup, and none is half in), while the server keeps writing to the WAL. Then the files:
 * blobs (content-addressed, immutable, so a copy made later is still the content the snapshot
 * names), cold stream archives, the server's secrets. The vector cache is not copied: a server
 * rebuilds it from the entries. `STYX_SECRET_KEY`'s file is copied only `withSecrets` (SPEC §3:
 * without it, the backup links no source hash to a golem; the restored store then needs the
 * key in STYX_SECRET_KEY). The key (`opts.secretKey`, else the data dir's) also keys the
 * `backup.created` audit record.
 */
export async function backupMicro(
  dataDir: string,
  file: string,
  progress: Progress,
  opts: { readonly withSecrets?: boolean; readonly secretKey?: string | undefined } = {},
): Promise<BackupReport> {
  const dir = resolve(dataDir);
  const dbFile = join(dir, DATABASE_FILE);
  if (!existsSync(dbFile)) throw new BackupError(`no database at ${dbFile} (is --data-dir / STYX_DATA_DIR the server's?)`);
  await initCrypto();
  const { key } = await readSecretKey({ secretKey: opts.secretKey }, fileSecrets(dir));
  const db = openDatabase(dbFile, { migrate: false, backgroundCheckpoint: false });
  const started = Date.now();
  let writer: BackupWriter | undefined;
  try {
    db.exec("BEGIN");
    const schema = schemaVersion(db);
    const tables = backupTables(db).map((t) => ({ ...t, rows: countRows(db, t) }));
    const files = (await listFiles(dir)).filter((f) => opts.withSecrets || f.rel !== SECRET_KEY_FILE);
    const total = tables.reduce((n, t) => n + t.rows, 0) + files.reduce((n, f) => n + f.chunks, 0);
    progress.start("backup", total);
    writer = await BackupWriter.create(file, { profile: "micro", schema, styx: VERSION, created_at: new Date().toISOString() });
    for (const t of tables) {
      progress.section(`table ${t.name}`, t.rows);
      await writer.section({ section: "table", name: t.name, columns: t.columns, rows: t.rows });
      for (const row of tableRows(db, t)) {
        await writer.row(row as BackupRow);
        progress.advance(1);
      }
    }
    db.exec("COMMIT");
    let bytes = 0;
    for (const f of files) await copyFileInto(writer, dir, f, progress, (n) => (bytes += n));
    const end = await writer.finish();
    progress.done();
    const report: BackupReport = {
      file,
      tables: tables.length,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      files: files.length,
      bytes,
      messages: 0,
      blake3: end.blake3,
      ms: Date.now() - started,
    };
    await new SqliteAuditLog(db, systemClock, key).append(backupCreated(report));
    return report;
  } catch (err) {
    await writer?.abort();
    throw err;
  } finally {
    if (db.inTransaction) db.exec("ROLLBACK");
    db.close();
  }
}

/** A data dir `restore` may fill: missing, or an empty directory. */
async function assertEmptyTarget(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  const st = await stat(dir);
  if (!st.isDirectory()) throw new BackupError(`${dir} exists and is not a directory`);
  const names = await readdir(dir);
  if (names.length > 0)
    throw new BackupError(
      `${dir} is not empty (it holds ${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}): restore only into an empty or new data dir; move the old one aside first`,
    );
}

/** A file section's path, checked: relative, inside the data dir, not the database or a cache. */
function safePath(root: string, rel: string): string {
  const p = normalize(rel);
  if (p.startsWith("..") || p.startsWith(sep) || p.includes(`..${sep}`) || NOT_COPIED.has(p) || p.includes("\0"))
    throw new BackupError(`the backup names a file outside the data dir or reserved: ${rel}`);
  const full = join(root, p);
  if (relative(root, full).startsWith("..")) throw new BackupError(`the backup names a file outside the data dir: ${rel}`);
  return full;
}

/**
 * Restores a verified micronode backup into `dataDir`, which must be missing or empty. Builds
 * the data dir beside it and renames it into place at the end, so a failed restore leaves
 * nothing under the name. The tables are loaded at the backup's schema version, then the
 * migrations since are applied; the stream epoch is new, so a client resuming from a position
 * it had before the restore is told `recovered: false` (`epoch_changed`) and resyncs rather
 * than missing the events it saw after the backup was taken. The `backup.restored` audit record
 * is keyed by the backup's STYX_SECRET_KEY (taken `--with-secrets`) or else `opts.secretKey`,
 * which must be the key the store was written with. A macronode's backup (of the newest schema)
 * is loaded the same way, its sections translated by macro-to-micro.ts.
 */
export async function restoreMicro(
  file: string,
  dataDir: string,
  progress: Progress,
  opts: { readonly secretKey?: string | undefined } = {},
): Promise<RestoreReport> {
  const target = resolve(dataDir);
  await assertEmptyTarget(target);
  const started = Date.now();
  progress.start("verify", 0);
  const summary = await readBackup(file);
  progress.done();
  const { header } = summary;
  // A macronode's backup crosses back: its rows, history and objects translated (macro-to-micro.ts).
  const crossing = header.profile === "macro" ? await import("./macro-to-micro.js") : undefined;
  if (crossing && header.schema !== crossing.MACRO_SCHEMA_VERSION)
    throw new BackupError(
      `${file} is a macronode backup of schema version ${header.schema} (Styx ${header.styx}); a micronode takes one of version ${crossing.MACRO_SCHEMA_VERSION} only: restore it into a cluster with this Styx (${VERSION}), which migrates it, back that up and restore the new backup here`,
    );
  if (!crossing && header.schema > LATEST_SCHEMA_VERSION)
    throw new BackupError(
      `${file} was taken at schema version ${header.schema} by Styx ${header.styx}; this Styx (${VERSION}) knows versions up to ${LATEST_SCHEMA_VERSION}: restore it with that version or newer`,
    );
  if (crossing && !opts.secretKey)
    throw new BackupError(
      `${file} is a macronode backup, which never holds STYX_SECRET_KEY: set STYX_SECRET_KEY to the cluster's key (the restored audit chain is keyed by it, and the restored server needs it)`,
    );
  if (!opts.secretKey && !summary.sections.some((s) => s.section === "file" && s.name === SECRET_KEY_FILE))
    throw new BackupError(
      `${file} holds no STYX_SECRET_KEY (taken without --with-secrets): set STYX_SECRET_KEY to the original server's key (the restored audit chain is keyed by it, and the restored server needs it)`,
    );

  await initCrypto();
  const staging = join(dirname(target), `.${target.split(sep).at(-1)}.restoring-${randomBytes(4).toString("hex")}`);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await mkdir(staging, { mode: 0o700 });
  let db: SqliteDatabase | undefined;
  try {
    db = openDatabase(join(staging, DATABASE_FILE), { migrate: false, backgroundCheckpoint: false });
    migrate(db, crossing ? LATEST_SCHEMA_VERSION : header.schema);
    enforceForeignKeys(db, false);
    db.exec("BEGIN");
    const from = crossing ? await crossing.macroIntoMicro(db, staging, file) : undefined;
    const known = new Set(backupTables(db).map((t) => t.name));
    const total = summary.sections.reduce((n, s) => n + s.rows, 0);
    progress.start("restore", total);
    let insert: ((v: readonly unknown[]) => void) | undefined;
    let out:
      | {
          fh: Awaited<ReturnType<typeof open>>;
          path: string;
          final: string;
          mode: number;
          hash?: { stream: Blake3Stream; hex: string } | undefined;
        }
      | undefined;
    let files = 0;
    let bytes = 0;
    const closeFile = async () => {
      if (!out) return;
      if (out.hash && out.hash.stream.hex() !== out.hash.hex)
        throw new BackupError(`${file}: blob ${out.hash.hex} does not hash to its name: its bytes were altered`);
      await out.fh.sync();
      await out.fh.close();
      await rename(out.path, out.final);
      out = undefined;
    };
    const database = db;
    await readBackup(file, async (item) => {
      if (item.kind === "section") {
        await closeFile();
        insert = undefined;
        const s: SectionHeader = item.header;
        progress.section(`${s.section} ${s.name}`, s.rows);
        if (s.section === "table") {
          if (from) insert = from.table(s);
          else if (!known.has(s.name))
            throw new BackupError(`${file} holds a table ${s.name} that schema version ${header.schema} does not have`);
          else insert = rowInserter(database, s.name, s.columns ?? []);
        } else if (s.section === "file") {
          const place = from ? await from.file(s.name) : { path: s.name };
          if (!place) {
            progress.section(`skipped ${s.name}`, s.rows);
            return;
          }
          const final = safePath(staging, place.path);
          await mkdir(dirname(final), { recursive: true, mode: 0o700 });
          const path = `${final}.partial`;
          out = { fh: await open(path, "wx", s.mode ?? 0o600), path, final, mode: s.mode ?? 0o600, hash: place.hash };
          files++;
        } else if (from && s.section === "messages") insert = from.messages();
        else throw new BackupError(`${file} holds a ${s.section} section, which a micronode backup never has`);
        return;
      }
      if (insert) insert(item.values);
      else if (out) {
        const chunk = item.values[0];
        if (!(chunk instanceof Uint8Array)) throw new BackupError(`${file}: a chunk of ${item.section.name} is not bytes`);
        await out.fh.write(chunk);
        out.hash?.stream.update(chunk);
        bytes += chunk.byteLength;
      }
      progress.advance(1);
    });
    await closeFile();
    const crossed = from?.finish();
    const epoch = newId("ep");
    setStreamEpoch(db, epoch);
    const broken = foreignKeyViolations(db);
    if (broken > 0) throw new BackupError(`${file}: ${broken} rows refer to rows the backup does not hold`);
    db.exec("COMMIT");
    enforceForeignKeys(db, true);
    const migrated = migrate(db);
    const tables = summary.sections.filter((s) => s.section === "table");
    const { key } = await readSecretKey({ secretKey: opts.secretKey }, fileSecrets(staging)).catch((err: unknown) => {
      if (!(err instanceof ConfigError)) throw err;
      throw new BackupError(`STYX_SECRET_KEY is not the key the store in ${file} was written with: give the original server's key`);
    });
    await new SqliteAuditLog(db, systemClock, key).append(
      backupRestored({ created_at: header.created_at, blake3: summary.blake3 }, epoch, crossing ? "macro" : undefined),
    );
    db.close();
    db = undefined;
    if (existsSync(target)) await rmdir(target);
    await rename(staging, target);
    progress.done();
    return {
      file,
      target: crossed
        ? `${target} (from a macronode: ${crossed.events} events of ${crossed.streams} streams, ${crossed.secrets} secrets)`
        : target,
      tables: tables.length,
      rows: tables.reduce((n, s) => n + s.rows, 0),
      files,
      bytes,
      messages: summary.sections.filter((s) => s.section === "messages").reduce((n, s) => n + s.rows, 0),
      epoch,
      migrated,
      createdAt: header.created_at,
      ms: Date.now() - started,
    };
  } catch (err) {
    if (db?.inTransaction) db.exec("ROLLBACK");
    db?.close();
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
