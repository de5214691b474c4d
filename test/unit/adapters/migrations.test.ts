import assert from "node:assert/strict";
import { test } from "node:test";
import { MIGRATIONS as POSTGRES } from "../../../src/adapters/postgres/migrations.js";
import { MIGRATIONS as SQLITE } from "../../../src/adapters/sqlite/migrations.js";

// Two branches that each add "the next" migration merge without a textual conflict and leave two
// of the same version: the runner would skip one on every database that has the other.
test("migrations are numbered 1, 2, 3, … without a gap or a repeat, on both dialects", () => {
  for (const [name, list] of [
    ["SQLite", SQLITE],
    ["PostgreSQL", POSTGRES],
  ] as const) {
    assert.deepEqual(
      list.map((m) => m.version),
      list.map((_, i) => i + 1),
      name,
    );
    assert.equal(new Set(list.map((m) => m.name)).size, list.length, `${name}: names are unique`);
  }
});
