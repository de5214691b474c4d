import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openDatabase, type SqliteDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { candidateFixture, entryFixture, T } from "../../../src/testing/contracts/entry-fixtures.js";

/** Migration 21: FTS5's segments merged by the indexer a bounded step per turn, never inside an insert. */

const turn = () => new Promise<void>((r) => setImmediate(r));

/** The number of segments of an FTS5 index: its structure record (id 10) is a 4-byte cookie, then varints nLevel, nSegment. */
function segments(db: SqliteDatabase, table: string): number {
  const block = db.prepare(`SELECT block FROM ${table}_data WHERE id = 10`).pluck(true).get() as Buffer;
  let at = 4;
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = block[at++] as number;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  varint(); // nLevel
  return varint();
}

/** Turns until `check` holds (at most `max`). */
async function until(check: () => boolean, max = 2_000): Promise<void> {
  for (let i = 0; i < max && !check(); i++) await turn();
}

describe("SQLite full-text segment merging (migration 21)", () => {
  it("turns FTS5's automerge off in both indexes", () => {
    const db = openDatabase(":memory:");
    for (const table of ["entries_fts", "lethe_fts"]) {
      assert.equal(db.prepare(`SELECT v FROM ${table}_config WHERE k = 'automerge'`).pluck(true).get(), 0, table);
    }
  });

  for (const index of ["entries", "lethe"] as const) {
    it(`merges the ${index} index's segments in the background once its rows are indexed`, async () => {
      const db = openDatabase(":memory:");
      const store = new SqliteEntryStore(db);
      const table = `${index}_fts`;
      // Each row indexed in a transaction of its own: one segment each, which nothing merges inside an insert now.
      for (let i = 0; i < 12; i++) {
        if (index === "entries") await store.insert(entryFixture(`e${i}`, { content: `swap route ${i} `.repeat(50) }));
        else {
          const c = candidateFixture(`c${i}`, { content: `swap route ${i} `.repeat(50) });
          await store.queueLethe(c);
          await store.publishLethe(c, `h${i}`, T);
        }
        await until(() => store.ftsBacklog(index) === 0);
      }
      let seen = -1;
      let stable = 0;
      await until(() => {
        const n = segments(db, table);
        stable = n === seen ? stable + 1 : 0;
        seen = n;
        return stable >= 20;
      });
      assert.ok(seen < 4, `12 one-row segments (under FTS5's crisis merge at 16) merged down to ${seen} (FTS5 merges a level of 4)`);
      const search =
        index === "entries"
          ? await store.searchText("route", { userId: "u1", cladeOnly: false, now: T }, 100)
          : await store.searchLetheText("route", {}, 100);
      assert.equal(search.length, 12);
    });
  }
});
