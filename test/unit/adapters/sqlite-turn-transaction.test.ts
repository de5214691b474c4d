import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { closeDatabase, openDatabase, type SqliteDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { TurnTransaction, turnTransaction } from "../../../src/adapters/sqlite/turn-transaction.js";
import type { PheromoneDeposit } from "../../../src/core/coordination/pheromone-store.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { entryFixture } from "../../../src/testing/contracts/entry-fixtures.js";

await initCrypto();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A database file (WAL, as a micronode's) and a second connection to it: what another process would see. */
function fileDatabase(): { db: SqliteDatabase; file: string; other: () => Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), "styx-turn-"));
  dirs.push(dir);
  const file = join(dir, "styx.db");
  const db = openDatabase(file, { backgroundCheckpoint: false });
  db.exec("CREATE TABLE t (n INTEGER NOT NULL UNIQUE)");
  return { db, file, other: () => new Database(file, { readonly: true }) };
}

const rows = (db: Database.Database | SqliteDatabase) => db.prepare("SELECT n FROM t ORDER BY rowid").pluck().all() as number[];

function deposit(i: number): PheromoneDeposit {
  return {
    id: `phe_turn${i}`,
    layer: "threat",
    class: `c${i}`,
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: "src-a",
    metadata: {},
    hv: null,
  };
}

describe("TurnTransaction (group commit per turn of the event loop)", () => {
  it("runs the writes of one turn in one transaction, in arrival order, and resolves them after its commit", async () => {
    const { db, other } = fileDatabase();
    const group = new TurnTransaction(db);
    const reader = other();
    const seenByOther: number[][] = [];
    const results = Promise.all(
      [1, 2, 3].map((n) =>
        group.run(() => {
          db.prepare("INSERT INTO t (n) VALUES (?)").run(n);
          // Still uncommitted: another connection sees none of the group yet.
          seenByOther.push(rows(reader));
          return { n, inTransaction: db.inTransaction, soFar: rows(db) };
        }),
      ),
    );
    assert.equal(group.queued, 3, "nothing runs before the turn's check phase");
    assert.deepEqual(rows(reader), []);
    const done = await results;
    assert.deepEqual(
      done.map((d) => d.soFar),
      [[1], [1, 2], [1, 2, 3]],
      "in arrival order, each seeing the ones before it: one transaction",
    );
    assert.ok(done.every((d) => d.inTransaction));
    assert.deepEqual(seenByOther, [[], [], []]);
    assert.deepEqual(rows(reader), [1, 2, 3], "committed once all resolved");
    reader.close();
    await closeDatabase(db);
  });

  it("rejects a failing write alone: its own statements roll back, its neighbours commit", async () => {
    const { db, file } = fileDatabase();
    const group = new TurnTransaction(db);
    const outcomes = await Promise.allSettled([
      group.run(() => db.prepare("INSERT INTO t (n) VALUES (1)").run()),
      group.run(() => {
        db.prepare("INSERT INTO t (n) VALUES (2)").run();
        db.prepare("INSERT INTO t (n) VALUES (1)").run(); // UNIQUE: fails after a statement of its own
      }),
      group.run(() => {
        throw new Error("refused before any statement");
      }),
      group.run(() => db.prepare("INSERT INTO t (n) VALUES (3)").run()),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "rejected", "rejected", "fulfilled"],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason.code, "SQLITE_CONSTRAINT_UNIQUE");
    assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /refused before any statement/);
    await closeDatabase(db);
    const reopened = new Database(file, { readonly: true });
    assert.deepEqual(rows(reopened), [1, 3], "after a reopen: the neighbours are durable, the failed write's first row is not");
    reopened.close();
  });

  it("rejects the whole group and runs every rolled-back hook when the commit itself fails", async () => {
    const { db, other } = fileDatabase();
    db.exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`);
    const group = new TurnTransaction(db);
    const hooks: string[] = [];
    const outcomes = await Promise.allSettled([
      group.run(
        () => db.prepare("INSERT INTO t (n) VALUES (1)").run(),
        () => hooks.push("first"),
      ),
      // A deferred foreign key is checked at COMMIT only: the savepoint succeeds, the commit fails.
      group.run(
        () => db.prepare("INSERT INTO child (parent) VALUES (42)").run(),
        () => hooks.push("second"),
      ),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["rejected", "rejected"],
    );
    assert.match(String((outcomes[0] as PromiseRejectedResult).reason), /FOREIGN KEY/);
    assert.deepEqual(hooks, ["first", "second"]);
    assert.equal(db.inTransaction, false);
    const reader = other();
    assert.deepEqual(rows(reader), [], "nothing of the group was committed");
    reader.close();
    // The next turn's group starts afresh.
    await group.run(() => db.prepare("INSERT INTO t (n) VALUES (7)").run());
    assert.deepEqual(rows(db), [7]);
    await closeDatabase(db);
  });

  it("groups each turn separately", async () => {
    const { db } = fileDatabase();
    const group = new TurnTransaction(db);
    const first = group.run(() => db.prepare("INSERT INTO t (n) VALUES (1)").run());
    await first;
    assert.equal(group.queued, 0);
    const second = group.run(() => rows(db));
    assert.deepEqual(await second, [1]);
    await closeDatabase(db);
  });
});

describe("SQLite stores in the turn's group", () => {
  it("concurrent single entry writes: each durable when it resolves (file reopened), a failing one alone", async () => {
    const { db, file } = fileDatabase();
    const store = new SqliteEntryStore(db);
    const writes = Array.from({ length: 20 }, (_, i) => store.insert(entryFixture(`ent_turn${i}`)));
    // The same id again in the same turn: the UNIQUE id refuses it, and only it.
    writes.push(store.insert(entryFixture("ent_turn3", { content: "a second entry with a taken id" })));
    const outcomes = await Promise.allSettled(writes);
    assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 20);
    assert.equal(outcomes[20]?.status, "rejected");
    const seqs = outcomes.slice(0, 20).map((o) => (o as PromiseFulfilledResult<{ entry: { seq: number } }>).value.entry.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      "stored in arrival order",
    );
    await closeDatabase(db);
    const reopened = new Database(file, { readonly: true });
    const stored = reopened.prepare("SELECT id, content FROM entries ORDER BY seq").all() as { id: string; content: string }[];
    assert.equal(stored.length, 20);
    assert.equal(stored.find((r) => r.id === "ent_turn3")?.content, "note ent_turn3");
    assert.equal(reopened.prepare("SELECT count(*) FROM entries_fts_pending").pluck().get(), 20, "each entry's full-text row with it");
    reopened.close();
  });

  it("an acknowledged write survives the process killed right after (SIGKILL, no close): the file reopened holds it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-turn-crash-"));
    dirs.push(dir);
    const file = join(dir, "styx.db");
    const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../../src/${p}`, import.meta.url)));
    // 40 concurrent writes in one turn (one group); each id printed the moment its promise resolves; then SIGKILL.
    const code = `
      const { openDatabase } = await import(${src("adapters/sqlite/database.ts")});
      const { SqliteEntryStore } = await import(${src("adapters/sqlite/sqlite-entry-store.ts")});
      const { entryFixture } = await import(${src("testing/contracts/entry-fixtures.ts")});
      const store = new SqliteEntryStore(openDatabase(${JSON.stringify(file)}, { backgroundCheckpoint: false }));
      await Promise.all(Array.from({ length: 40 }, (_, i) =>
        store.insert(entryFixture("ent_crash" + i)).then((s) => process.stdout.write(s.entry.id + "\\n"))));
      process.kill(process.pid, "SIGKILL");`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    const signal = await new Promise((resolve) => child.once("exit", (_code, sig) => resolve(sig)));
    assert.equal(signal, "SIGKILL");
    const acked = out.split("\n").filter(Boolean);
    assert.equal(acked.length, 40);
    const reopened = new Database(file, { readonly: true });
    const stored = new Set(reopened.prepare("SELECT id FROM entries").pluck().all() as string[]);
    reopened.close();
    assert.deepEqual(
      acked.filter((id) => !stored.has(id)),
      [],
      "every acknowledged id is in the file",
    );
  });

  it("entry writes and deposits of the same turn share one group on one database", async () => {
    const db = openDatabase(":memory:");
    const entries = new SqliteEntryStore(db);
    const pheromones = new SqlitePheromoneStore(db);
    const now = Date.now();
    const pending = [
      entries.insert(entryFixture("ent_mixed")),
      pheromones.deposit(deposit(1), now),
      entries.insert(entryFixture("ent_mixed2")),
    ];
    assert.equal(turnTransaction(db).queued, 3);
    const [a, b, c] = await Promise.all(pending);
    assert.ok(a && b && c);
    assert.equal((await pheromones.live(["defi"], undefined, now)).length, 1);
    db.close();
  });

  it("a deposit failing in the group rejects alone and leaves the read mirror true", async () => {
    const db = openDatabase(":memory:");
    const pheromones = new SqlitePheromoneStore(db);
    const now = Date.now();
    await pheromones.deposit(deposit(1), now);
    // Read once, so the store's mirror in RAM is loaded and must follow the group's outcome.
    assert.equal((await pheromones.live(["defi"], undefined, now)).length, 1);
    const outcomes = await Promise.allSettled([
      pheromones.deposit(deposit(2), now),
      pheromones.deposit({ ...deposit(4), id: "phe_turn2" }, now), // a new pheromone with a taken id: the primary key refuses it
      pheromones.deposit(deposit(3), now),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    const live = (await pheromones.live(["defi"], undefined, now)).map((p) => p.class).sort();
    assert.deepEqual(live, ["c1", "c2", "c3"]);
    db.close();
  });
});
