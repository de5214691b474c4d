import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { tablePagesBytes } from "./table-bytes.js";

/**
 * The thread that checkpoints a WAL database (see `openDatabase`). It holds its own connection
 * and runs a PASSIVE checkpoint every `intervalMs`: frames are copied into the database file
 * and both files are synced here, so the connection that writes (on the event loop) never
 * waits for a checkpoint's fsyncs inside a commit. PASSIVE never takes the writer's lock nor
 * waits for readers. The writer starts the WAL over from its beginning only after a complete
 * checkpoint, so a run that commits landed during goes again at once (a few new frames), a
 * bounded number of times; what is left is copied on the next run.
 */
export interface CheckpointWorkerData {
  readonly file: string;
  readonly intervalMs: number;
}

const { file, intervalMs } = workerData as CheckpointWorkerData;
let db: Database.Database | undefined;
try {
  db = new Database(file, { fileMustExist: true });
  // The same sync level as the writer: a checkpoint syncs the WAL before copying and the database after.
  db.pragma("synchronous = NORMAL");
  // This connection never writes, so it never checkpoints on a commit either.
  db.pragma("wal_autocheckpoint = 0");
} catch {
  db = undefined;
}

const stop = () => {
  clearInterval(timer);
  try {
    db?.close();
  } catch {
    // already gone
  }
  db = undefined;
  parentPort?.close();
};

/** Passes per run at most (more only while commits keep landing during a pass). */
const MAX_PASSES = 4;

const timer = setInterval(() => {
  try {
    // A pass reports the WAL as it was when the pass began: it is complete once a pass finds
    // every frame copied and none added since the pass before.
    let before = -1;
    for (let pass = 0; pass < MAX_PASSES && db; pass++) {
      const [r] = db.pragma("wal_checkpoint(PASSIVE)") as { busy: number; log: number; checkpointed: number }[];
      if (r === undefined) break;
      if (r.busy !== 0 || (r.checkpointed >= r.log && r.log === before)) break;
      before = r.log;
    }
  } catch {
    // The database went away (closed, deleted with its directory): nothing left to checkpoint.
    stop();
  }
}, intervalMs);

if (!db) stop();
parentPort?.on("message", (m: unknown) => {
  if (m === "close") return stop();
  // A measurement of some tables' pages (the storage gauge), on this thread so the event loop never reads them.
  const ask = m as { type?: unknown; id?: unknown; tables?: unknown } | null;
  if (ask && ask.type === "measure" && Array.isArray(ask.tables)) {
    let bytes: number | null = null;
    try {
      if (db) bytes = tablePagesBytes(db, ask.tables as string[]);
    } catch {
      bytes = null;
    }
    parentPort?.postMessage({ type: "measured", id: ask.id, bytes });
  }
});
