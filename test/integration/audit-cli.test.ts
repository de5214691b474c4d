import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("styx audit verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-audit-"));
  let s: TestServer;
  let env: Record<string, string>;
  let records = 0;

  before(async () => {
    s = await startTestServer({ dataDir: dir });
    env = storeEnv(s.styx.config);
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
    // The CLI reads the store offline; the kept copy puts the log back after each edit.
    await s.close();
    await s.sql("CREATE TABLE audit_kept AS SELECT * FROM audit_log");
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const { cluster, profile } = s.styx.config;
    if (profile === "macro") await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
  });

  const verify = () => runCliAsync(["audit", "verify"], { env });

  /**
   * Runs `verify` after `edits` were made to the store's audit table behind Styx's back (the
   * SQLite file or the cluster's PostgreSQL schema), then puts the intact log back.
   */
  async function tampered(...edits: string[]) {
    try {
      for (const edit of edits) await s.sql(edit);
      return await verify();
    } finally {
      await s.sql("DELETE FROM audit_log");
      await s.sql("INSERT INTO audit_log SELECT * FROM audit_kept");
    }
  }

  it("passes on an intact log", async () => {
    const r = await verify();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`intact: ${records} records`));
  });

  it("fails naming the record whose content was altered", async () => {
    const r = await tampered("UPDATE audit_log SET actor = 'user:mallory' WHERE seq = 6");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN at record 6: record 6 was altered/);
  });

  it("fails naming a deleted record in the middle", async () => {
    const r = await tampered("DELETE FROM audit_log WHERE seq = 3");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN at record 3: record 3 is missing/);
  });

  it("fails naming the newest record when it was deleted", async () => {
    const r = await tampered(`DELETE FROM audit_log WHERE seq = ${records}`);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`BROKEN at record ${records}`));
  });

  it("fails when any single row is altered, whichever it is", async () => {
    for (let seq = 1; seq <= records; seq++) {
      const r = await tampered(`UPDATE audit_log SET ts = ts + 1 WHERE seq = ${seq}`);
      assert.equal(r.code, 1, `record ${seq}`);
      assert.match(r.stderr, new RegExp(`BROKEN at record ${seq}:`));
    }
    assert.equal((await verify()).code, 0, "the log was put back intact after each edit");
  });
});
