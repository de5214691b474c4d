import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { backupStore, restoreStore } from "../../../src/app/backup/backup.js";
import { silentProgress } from "../../../src/app/backup/report.js";
import { diagnose } from "../../../src/app/doctor.js";
import { migrateStore } from "../../../src/app/migrate.js";
import { createKey, createUser, listKeys, revokeKey, verifyAuditLog } from "../../../src/app/offline.js";
import { OperatorError } from "../../../src/app/operator-error.js";
import { loadConfig } from "../../../src/config/load.js";

describe("the operations of the styx command", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-ops-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const config = loadConfig({ STYX_DATA_DIR: dir });
  const amnesia = loadConfig({ STYX_AMNESIA: "1" });

  it("migrateStore creates the store's schema, then finds it up to date", async () => {
    const first = await migrateStore(config);
    assert.ok(first.applied.length > 0);
    assert.equal(first.schema, undefined, "a micronode's store has no cluster schema");
    const again = await migrateStore(config);
    assert.deepEqual(again.applied, []);
    assert.equal(again.version, first.version);
  });

  it("creates a user and a key, lists and revokes it, and the audit log holds all of it", async () => {
    await createUser(config, { id: "ops-user" });
    const { key, secret } = await createKey(config, "ops-user", { name: "laptop" });
    assert.match(secret, /^styx_/);
    assert.deepEqual(
      (await listKeys(config, "ops-user")).map((k) => k.id),
      [key.id],
    );
    assert.notEqual((await revokeKey(config, key.id)).revokedAt, null);
    const audit = await verifyAuditLog(config);
    assert.equal(audit.ok, true);
    assert.equal(audit.records, 4, "user.create, key.create, key.list, key.revoke");
  });

  it("diagnose finds the data dir (mkdtemp makes it 700), no admin token yet, and the database at this build's version", async () => {
    const findings = await diagnose(config);
    assert.deepEqual(
      findings.map((f) => `${f.level} ${f.what}`),
      ["ok data_dir", "warn admin", "ok sqlite", "ok schema"],
    );
  });

  it("refuses every store operation under amnesia, naming why", async () => {
    const refusals = [
      () => createUser(amnesia, { id: "x" }),
      () => verifyAuditLog(amnesia),
      () => migrateStore(amnesia),
      () => backupStore(amnesia, join(dir, "b"), silentProgress),
      () => restoreStore(amnesia, join(dir, "b"), silentProgress),
    ];
    for (const op of refusals) await assert.rejects(op(), (err) => err instanceof OperatorError && /amnesia/.test(err.message));
  });

  it("verifyAuditLog refuses a data dir without a database instead of creating one", async () => {
    const empty = loadConfig({ STYX_DATA_DIR: join(dir, "nothing-here") });
    await assert.rejects(verifyAuditLog(empty), (err) => err instanceof OperatorError && /no database at/.test(err.message));
  });
});
