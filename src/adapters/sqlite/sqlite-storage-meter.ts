import type { StorageMeter, StorageUsage } from "../../core/platform/storage-usage.js";
import { fileBytes } from "../fs/directory-bytes.js";
import { type SqliteDatabase, tableBytes } from "./database.js";

/** The tables of the warm stream history (the micronode's event log, SPEC §9). */
export const HISTORY_TABLES = ["streams", "stream_events", "stream_archives"] as const;

/**
 * What a micronode's data occupies: `database` is the SQLite file with its WAL and shared-memory
 * files (a database in RAM: its pages) less the warm history's pages, which are `history`; `blobs`
 * is what `blobBytes` counts (the blob dir, whose cold history archives are blobs too). Kinds are
 * disjoint, so their sum is what the data dir holds.
 */
export class SqliteStorageMeter implements StorageMeter {
  readonly #db: SqliteDatabase;
  readonly #file: string | undefined;
  readonly #blobBytes: () => Promise<number>;

  /** `file`: the database file (undefined for a database in RAM). */
  constructor(opts: { db: SqliteDatabase; file: string | undefined; blobBytes: () => Promise<number> }) {
    this.#db = opts.db;
    this.#file = opts.file;
    this.#blobBytes = opts.blobBytes;
  }

  async measure(): Promise<StorageUsage> {
    const file = this.#file;
    const [whole, history, blobs] = await Promise.all([
      file === undefined
        ? Promise.resolve(
            (this.#db.pragma("page_count", { simple: true }) as number) * (this.#db.pragma("page_size", { simple: true }) as number),
          )
        : Promise.all([fileBytes(file), fileBytes(`${file}-wal`), fileBytes(`${file}-shm`)]).then((s) => s.reduce((a, b) => a + b, 0)),
      tableBytes(this.#db, HISTORY_TABLES),
      this.#blobBytes(),
    ]);
    return { database: Math.max(0, whole - history), blobs, history };
  }
}
