import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { directoryBytes } from "../../../src/adapters/fs/directory-bytes.js";
import { closeDatabase, openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteStorageMeter } from "../../../src/adapters/sqlite/sqlite-storage-meter.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "styx-meter-"));
  dirs.push(d);
  return d;
}

describe("directoryBytes", () => {
  it("sums the files of a tree, and a missing directory is 0", async () => {
    const d = tempDir();
    mkdirSync(join(d, "ab", "cd"), { recursive: true });
    writeFileSync(join(d, "ab", "one"), Buffer.alloc(1000));
    writeFileSync(join(d, "ab", "cd", "two"), Buffer.alloc(2345));
    writeFileSync(join(d, "three"), Buffer.alloc(1));
    assert.equal(await directoryBytes(d), 3346);
    assert.equal(await directoryBytes(join(d, "nothing-here")), 0);
  });
});

describe("SqliteStorageMeter", () => {
  it("splits the file into database and warm history (read by the checkpoint thread), and counts blobs as given", async () => {
    const d = tempDir();
    const file = join(d, "styx.db");
    const db = openDatabase(file);
    try {
      const meter = new SqliteStorageMeter({ db, file, blobBytes: async () => 4242 });
      const before = await meter.measure();
      const insert = db.prepare("INSERT INTO stream_events (stream, seq, ts, channel, payload) VALUES (?, ?, ?, ?, ?)");
      db.transaction(() => {
        for (let i = 1; i <= 2000; i++) insert.run("user:u1", i, i, "golem:tick", JSON.stringify({ pad: "x".repeat(200), i }));
      })();
      const later = await meter.measure();
      assert.equal(later.blobs, 4242);
      assert.ok(later.history >= before.history + 2000 * 200, `history grew by the events: ${before.history} → ${later.history}`);
      const whole = ["", "-wal", "-shm"].reduce((n, s) => {
        try {
          return n + statSync(`${file}${s}`).size;
        } catch {
          return n;
        }
      }, 0);
      // The checkpoint thread may copy the WAL into the file between the two readings: files only grow meanwhile.
      assert.ok(later.database > 0 && later.database + later.history <= whole, "disjoint: together they are the files");
    } finally {
      await closeDatabase(db);
    }
  });

  it("measures a database in RAM by its pages", async () => {
    const db = openDatabase(":memory:");
    const u = await new SqliteStorageMeter({ db, file: undefined, blobBytes: async () => 0 }).measure();
    assert.ok(u.database > 0);
    assert.ok(u.history > 0, "the history tables' (empty) pages");
    db.close();
  });
});
