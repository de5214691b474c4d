import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { migrate, openDatabase, type SqliteDatabase } from "../../../src/adapters/sqlite/database.js";
import { MIGRATIONS } from "../../../src/adapters/sqlite/migrations.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { FTS_CHUNK, FTS_CHUNK_BYTES } from "../../../src/adapters/sqlite/sqlite-fts-indexer.js";
import { candidateFixture, entryFixture, T } from "../../../src/testing/contracts/entry-fixtures.js";

/** Migration 20: a published lethe row's full-text row is indexed after the publication, never lost to a search. */

const turn = () => new Promise<void>((r) => setImmediate(r));
const indexedLethe = (db: SqliteDatabase) => db.prepare("SELECT count(*) FROM lethe_fts_docsize").pluck(true).get() as number;

async function publish(store: SqliteEntryStore, id: string, content: string): Promise<number> {
  const c = candidateFixture(id, { content });
  await store.queueLethe(c);
  const l = await store.publishLethe(c, `h-${id}`, T);
  assert.ok(l, `${id} was published`);
  return l.seq;
}

/** The lethe backlog after each turn until it is empty (at most `turns` turns). */
async function drain(store: SqliteEntryStore, turns = 200): Promise<number[]> {
  const seen = [store.ftsBacklog("lethe")];
  for (let i = 0; i < turns && store.ftsBacklog("lethe") > 0; i++) {
    await turn();
    seen.push(store.ftsBacklog("lethe"));
  }
  return seen;
}

describe("SQLite lethe full-text rows (migration 20)", () => {
  it("notes a publication's full-text row as pending, and a lethe search right after finds it", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const seq = await publish(store, "c1", "sandwich attacks follow large swaps");
    assert.equal(store.ftsBacklog("lethe"), 1, "the publication's transaction notes the row, it does not index it");
    assert.equal(indexedLethe(db), 0);
    const hits = await store.searchLetheText("sandwich", {}, 5);
    assert.deepEqual(
      hits.map((h) => h.seq),
      [seq],
    );
    assert.equal(store.ftsBacklog("lethe"), 0, "the search indexed it first");
    assert.equal(indexedLethe(db), 1);
  });

  it("indexes pending lethe rows in the background, a bounded chunk per turn", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const big = "liquidity ".repeat(5_000); // 50,000 bytes: two never fit one chunk
    for (let i = 0; i < 4; i++) await publish(store, `big${i}`, `${big} ${i}`);
    const n = FTS_CHUNK + 10;
    for (let i = 0; i < n; i++) await publish(store, `small${i}`, `drift ${i}`);
    const seen = await drain(store);
    assert.equal(seen.at(-1), 0, `the background indexer caught up: ${seen.join(", ")}`);
    const steps = seen.slice(1).map((b, i) => (seen[i] as number) - b);
    assert.ok(
      steps.every((d) => d <= FTS_CHUNK),
      `at most ${FTS_CHUNK} rows a turn: ${steps.join(", ")}`,
    );
    // The 50,000-byte rows go one per chunk (FTS_CHUNK_BYTES): at least 4 turns indexed something.
    assert.ok(50_000 * 2 > FTS_CHUNK_BYTES);
    assert.ok(steps.filter((d) => d > 0).length >= 5, `the large rows went in chunks of their own: ${steps.join(", ")}`);
    assert.equal(indexedLethe(db), 4 + n);
    assert.equal((await store.searchLetheText("liquidity", {}, 10)).length, 4);
    assert.equal((await store.searchLetheText("drift", {}, 1_000)).length, n);
  });

  it("a search indexes every pending lethe row first, however many chunks they make", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const n = FTS_CHUNK * 2 + 5;
    // Published inside one synchronous run: the background indexer has had no turn yet.
    for (let i = 0; i < n; i++) {
      const c = candidateFixture(`c${i}`, { content: `spread ${i}` });
      await store.queueLethe(c);
      await store.publishLethe(c, `h${i}`, T);
    }
    assert.ok(store.ftsBacklog("lethe") > FTS_CHUNK, "more than a chunk pending");
    assert.equal((await store.searchLetheText("spread", {}, 1_000)).length, n);
    assert.equal(store.ftsBacklog("lethe"), 0);
  });

  it("keeps indexing entries and lethe rows written while the other index is being worked on", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    await store.insert(entryFixture("e0", { content: "vault zero" }));
    await publish(store, "l0", "lethe zero");
    for (let i = 1; i < 20; i++) {
      await turn();
      if (i % 2) await store.insert(entryFixture(`e${i}`, { content: `vault ${i}` }));
      else await publish(store, `l${i}`, `lethe ${i}`);
    }
    for (let i = 0; i < 40 && store.ftsBacklog("entries") + store.ftsBacklog("lethe") > 0; i++) await turn();
    assert.equal(store.ftsBacklog("entries"), 0);
    assert.equal(store.ftsBacklog("lethe"), 0);
  });

  it("indexes lethe rows a crash left pending when the file is opened again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-lethe-fts-"));
    try {
      const file = join(dir, "styx.db");
      const first = openDatabase(file, { backgroundCheckpoint: false });
      await publish(new SqliteEntryStore(first), "c1", "bloodstain warning");
      first.close(); // before the background indexer's turn: the row is durable, pending
      const db = openDatabase(file, { backgroundCheckpoint: false });
      const store = new SqliteEntryStore(db);
      assert.equal(store.ftsBacklog("lethe"), 1);
      const seen = await drain(store, 10);
      assert.equal(seen.at(-1), 0, "indexed in the background after the open");
      assert.equal((await store.searchLetheText("bloodstain", {}, 5)).length, 1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the rows indexed before the migration searchable, and defers those published after it", async () => {
    const db = openDatabase(":memory:", { migrate: false });
    migrate(db, 19);
    db.prepare(
      `INSERT INTO lethe_entries (id, domain, category, content, content_hash, regime, confidence, is_bloodstain, metadata, sources,
         confirmation_confidences, bloodstain_confirmed, created_at, updated_at)
       VALUES ('old', 'dex', 'insight', 'volatility before', 'h-old', NULL, 0.4, 0, '{}', '[]', '[]', 0, 0, 0)`,
    ).run();
    assert.equal(indexedLethe(db), 1, "before migration 20 the trigger indexed it in the transaction");
    migrate(db);
    assert.ok(MIGRATIONS.some((m) => m.version === 20));
    const store = new SqliteEntryStore(db);
    await publish(store, "new", "volatility after");
    assert.equal(store.ftsBacklog("lethe"), 1);
    assert.equal((await store.searchLetheText("volatility", {}, 5)).length, 2);
  });

  it("queues a copy's text in a column of its own, not in the payload's JSON, and reads rows queued before as well", async () => {
    const db = openDatabase(":memory:");
    const store = new SqliteEntryStore(db);
    const c = candidateFixture("c1", { content: 'quote "this" \\ and that', metadata: { pair: "x" } });
    await store.queueLethe(c);
    const row = db.prepare("SELECT payload, content FROM lethe_queue WHERE id = 'c1'").get() as { payload: string; content: string };
    assert.equal(row.content, c.content);
    assert.ok(!("content" in JSON.parse(row.payload)), row.payload);
    // A row queued before migration 20: its text in the payload, the column empty.
    const { embedding: _, ...old } = candidateFixture("c0", { content: "queued before", dueAt: T });
    db.prepare("INSERT INTO lethe_queue (id, due_at, payload, domain) VALUES ('c0', ?, ?, 'dex')").run(T, JSON.stringify(old));
    const due = await store.dueLethe(T + 1000, 10);
    assert.deepEqual(
      due.map((d) => [d.id, d.content, d.metadata]),
      [
        ["c0", "queued before", {}],
        ["c1", c.content, { pair: "x" }],
      ],
    );
  });
});
