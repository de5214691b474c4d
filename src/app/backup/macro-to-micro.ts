import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fsBlobPath } from "../../adapters/fs/fs-blob-store.js";
import { decodeBatch } from "../../adapters/nats/event-codec.js";
import { MIGRATIONS as POSTGRES_MIGRATIONS } from "../../adapters/postgres/migrations.js";
import { POSTGRES_ONLY_COLUMNS, SERVER_SECRETS_TABLE } from "../../adapters/postgres/postgres-backup.js";
import { s3BlobFile } from "../../adapters/s3/s3-blob-store.js";
import type { SqliteDatabase } from "../../adapters/sqlite/database.js";
import { backupTables, countRows, historyWriter, rowInserter } from "../../adapters/sqlite/sqlite-backup.js";
import type { BlobFile } from "../../core/platform/blob-store.js";
import { type Blake3Stream, blake3Stream } from "../../core/platform/crypto.js";
import { BackupError, type SectionHeader } from "./archive.js";

/** The schema version of the newest cluster: the only one a micronode can take as it is. */
export const MACRO_SCHEMA_VERSION = Math.max(...POSTGRES_MIGRATIONS.map((m) => m.version));

/** Where a data dir's blobs live, relative to it (app/storage.ts: `<dataDir>/blobs`). */
const BLOBS_DIR = "blobs/";

/** A data dir secret's file name (admin-token, challenge-key, instance-id, secret-key-check). */
const SECRET_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * A macronode backup's sections translated for restoreMicro, which loads them into a new data
 * dir (the way back from a cluster to one machine): table rows into the SQLite table of the
 * same name, columns only PostgreSQL has left out (POSTGRES_ONLY_COLUMNS), booleans as 0/1 (the
 * SQLite inserter); `server_secrets` rows as the data dir's secret files; the event stream's batch
 * messages as warm history rows with their seqs; the bucket's objects as the blob dir's files,
 * each content hashed against its name. `verify` then counts what each table received.
 */
export async function macroIntoMicro(db: SqliteDatabase, staging: string, file: string) {
  const tables = new Map(backupTables(db).map((t) => [t.name, t]));
  const history = historyWriter(db);
  const expected = new Map<string, number>();
  let secrets = 0;
  return {
    /** The inserter of a table section's rows. */
    table(s: SectionHeader): (values: readonly unknown[]) => void {
      const columns = s.columns ?? [];
      if (s.name === SERVER_SECRETS_TABLE) {
        const name = columns.indexOf("name");
        const value = columns.indexOf("value");
        return (values) => {
          const n = String(values[name]);
          if (!SECRET_NAME.test(n)) throw new BackupError(`${file}: a server secret has a name no data-dir file can take: ${n}`);
          writeFileSync(join(staging, n), `${String(values[value])}\n`, { mode: 0o600, flag: "wx" });
          secrets++;
        };
      }
      const t = tables.get(s.name);
      if (!t) throw new BackupError(`${file} holds a table ${s.name} that a micronode's schema does not have`);
      const extra = POSTGRES_ONLY_COLUMNS[s.name] ?? [];
      const keep = columns.flatMap((c, i) => (t.columns.includes(c) ? [i] : []));
      const unknown = columns.filter((c) => !t.columns.includes(c) && !extra.includes(c));
      if (unknown.length > 0)
        throw new BackupError(`${file}: table ${s.name} has columns ${unknown.join(", ")} a micronode's schema does not have`);
      const insert = rowInserter(
        db,
        s.name,
        keep.map((i) => columns[i] as string),
      );
      expected.set(s.name, s.rows);
      return (values) => insert(keep.map((i) => values[i] ?? null));
    },
    /** The handler of the event stream's messages: each batch's events into the warm history. */
    messages(): (values: readonly unknown[]) => void {
      return ([stream, first, last, body]) => {
        const events = decodeBatch(String(stream), "", String(body));
        if (events[0]?.seq !== first || events.at(-1)?.seq !== last)
          throw new BackupError(`${file}: a message of stream ${String(stream)} says seqs ${first}–${last} and holds others`);
        for (const e of events) history.add(e);
      };
    },
    /**
     * The data-dir path of an object of the bucket, and the hash its bytes must have (contents);
     * undefined for an object a micronode has no place for.
     */
    async file(name: string): Promise<{ path: string; hash?: { stream: Blake3Stream; hex: string } } | undefined> {
      const f: BlobFile | undefined = s3BlobFile(name);
      if (!f) return undefined;
      const path = BLOBS_DIR + fsBlobPath(f);
      return f.kind === "content" ? { path, hash: { stream: await blake3Stream(), hex: f.hex } } : { path };
    },
    /** Records the streams of the history, then checks that every table holds the rows its section announced. */
    finish(): { events: number; streams: number; secrets: number } {
      const h = history.finish();
      for (const [name, want] of expected) {
        const got = countRows(db, { name, columns: [] });
        if (got !== want) throw new BackupError(`table ${name}: ${got} rows after the load, the backup holds ${want}`);
      }
      return { ...h, secrets };
    },
  };
}
