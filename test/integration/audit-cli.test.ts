import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { runCli } from "../../src/testing/spawn.js";
import { microOnly, startTestServer } from "../../src/testing/test-server.js";

describe("styx audit verify", microOnly("edits the SQLite file (PostgreSQL: test/services/cli-macro.test.ts)"), () => {
  const root = mkdtempSync(join(tmpdir(), "styx-audit-"));
  const original = join(root, "original");
  let records = 0;

  before(async () => {
    const s = await startTestServer({ dataDir: original });
    const alice = await s.user("alice");
    const bob = await s.user("bob");
    await s.golem(alice.key, { id: "ga" });
    assert.equal((await s.request("GET", "/v1/styx/golems/ga", { token: bob.key })).status, 404);
    assert.equal((await s.request("DELETE", `/v1/admin/keys/${bob.keyId}`, { token: s.adminToken })).status, 200);
    assert.equal((await s.request("GET", "/v1/admin/users/alice/keys", { token: s.adminToken })).status, 200);
    const actions = (await s.styx.audit.list(0, 100)).map((r) => `${r.actor} ${r.action}`);
    assert.deepEqual(actions, [
      "admin user.create",
      "admin key.create",
      "admin user.create",
      "admin key.create",
      "user:alice golem.create",
      "user:bob tenancy.denied",
      "admin key.revoke",
      "admin key.list",
    ]);
    records = actions.length;
    await s.close();
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** A copy of the intact data dir, edited by `edit` through SQLite directly. */
  function tampered(name: string, edit: (db: Database.Database) => void): string {
    const dir = join(root, name);
    mkdirSync(dir);
    copyFileSync(join(original, "styx.db"), join(dir, "styx.db"));
    const db = new Database(join(dir, "styx.db"));
    edit(db);
    db.close();
    return dir;
  }

  it("passes on an intact log", () => {
    const r = runCli(["audit", "verify", "--data-dir", original]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`intact: ${records} records`));
  });

  it("fails naming the record whose content was altered", () => {
    const dir = tampered("altered", (db) => db.prepare("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 6").run());
    const r = runCli(["audit", "verify", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN at record 6: record 6 was altered/);
  });

  it("fails naming a deleted record in the middle", () => {
    const dir = tampered("deleted", (db) => db.prepare("DELETE FROM audit_log WHERE seq = 3").run());
    const r = runCli(["audit", "verify", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN at record 3: record 3 is missing/);
  });

  it("fails naming the newest record when it was deleted", () => {
    const dir = tampered("truncated", (db) => db.prepare("DELETE FROM audit_log WHERE seq = ?").run(records));
    const r = runCli(["audit", "verify", "--data-dir", dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`BROKEN at record ${records}`));
  });

  it("fails when any single row is altered, whichever it is", () => {
    for (let seq = 1; seq <= records; seq++) {
      const dir = tampered(`ts-${seq}`, (db) => db.prepare("UPDATE audit_log SET ts = ts + 1 WHERE seq = ?").run(seq));
      const r = runCli(["audit", "verify", "--data-dir", dir]);
      assert.equal(r.code, 1, `record ${seq}`);
      assert.match(r.stderr, new RegExp(`BROKEN at record ${seq}:`));
    }
  });
});
