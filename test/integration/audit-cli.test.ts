import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { toAuditRecord } from "../../src/adapters/sql/audit-rows.js";
import { type AuditRecord, type ChainHead, chainRecord } from "../../src/core/platform/audit.js";
import { initCrypto } from "../../src/core/platform/crypto.js";
import { SecretKey } from "../../src/core/platform/secret-key.js";
import { unkeyedChain } from "../../src/testing/contracts/audit-log.contract.js";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("styx audit verify", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-audit-"));
  let s: TestServer;
  let env: Record<string, string>;
  let records = 0;

  before(async () => {
    await initCrypto();
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
    await s.sql("CREATE TABLE audit_head_kept AS SELECT * FROM audit_head");
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    const { cluster, profile } = s.styx.config;
    if (profile === "macro") await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
  });

  const verify = (...flags: string[]) => runCliAsync(["audit", "verify", ...flags], { env });

  /**
   * Runs `verify` after `edits` were made to the store's audit table behind Styx's back (the
   * SQLite file or the cluster's PostgreSQL schema), then puts the intact log back.
   */
  async function tampered(...edits: string[]) {
    try {
      for (const edit of edits) await s.sql(edit);
      return await verify();
    } finally {
      await restore();
    }
  }

  async function restore() {
    await s.sql("DELETE FROM audit_log");
    await s.sql("INSERT INTO audit_log SELECT * FROM audit_kept");
    await s.sql("DELETE FROM audit_head");
    await s.sql("INSERT INTO audit_head SELECT * FROM audit_head_kept");
  }

  /** The stored records, as the CLI reads them. */
  const stored = async (): Promise<AuditRecord[]> => (await s.sql("SELECT * FROM audit_log ORDER BY seq")).map(toAuditRecord);

  /** SQL that replaces the whole log and its head by `records` (what someone with write access to the database can do). */
  function rewrite(records: readonly AuditRecord[]): string[] {
    const q = (v: string | null) => (v === null ? "NULL" : `'${v.replaceAll("'", "''")}'`);
    const last = records.at(-1) as AuditRecord;
    return [
      "DELETE FROM audit_log",
      ...records.map(
        (r) =>
          `INSERT INTO audit_log (seq, ts, actor, action, target, request_id, ip, details, prev_hash, hash) VALUES (${r.seq}, ${r.ts}, ${q(r.actor)}, ${q(r.action)}, ${q(r.target)}, ${q(r.requestId)}, ${q(r.ip)}, ${q(r.details)}, ${q(r.prevHash)}, ${q(r.hash)})`,
      ),
      `UPDATE audit_head SET seq = ${last.seq}, hash = ${q(last.hash)}`,
    ];
  }

  /** `records` with the one at `seq` altered by `edit`, re-chained from there on under `key` (a forger's own key). */
  function forgedUnder(key: SecretKey, records: readonly AuditRecord[], seq: number, edit: Partial<AuditRecord>): AuditRecord[] {
    const out = records.slice(0, seq - 1);
    let prev: ChainHead = out.at(-1) ?? { seq: 0, hash: "0".repeat(64) };
    for (const r of records.slice(seq - 1)) {
      const e = r.seq === seq ? { ...r, ...edit } : r;
      const next = chainRecord(key, prev, e.ts, {
        actor: e.actor,
        action: e.action,
        target: e.target,
        requestId: e.requestId ?? undefined,
        ip: e.ip ?? undefined,
        details: JSON.parse(e.details) as Record<string, unknown>,
      });
      out.push(next);
      prev = next;
    }
    return out;
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

  it("fails when every row and the head are rewritten consistently under a key that is not the server's", async () => {
    const guessed = SecretKey.fromBase64(Buffer.alloc(32, 66).toString("base64"));
    const r = await tampered(...rewrite(forgedUnder(guessed, await stored(), 6, { actor: "user:mallory" })));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /BROKEN at record 6: record 6 was altered/);
  });

  it("fails when every row and the head are rewritten as the unkeyed chain, which needed no secret", async () => {
    const forged = unkeyedChain((await stored()).map((r) => (r.seq === 6 ? { ...r, actor: "user:mallory" } : r)));
    const r = await tampered(...rewrite(forged));
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`BROKEN at record 1: records 1–${records} are not keyed`));
  });

  it("detects the newest record deleted with the head moved back only against the head it printed before", async () => {
    const intact = await verify();
    const kept = /head (\d+:[0-9a-f]+)/.exec(intact.stdout)?.[1];
    assert.equal(kept, `${records}:${(await stored()).at(-1)?.hash}`, intact.stdout);
    try {
      for (const edit of rewrite((await stored()).slice(0, -1))) await s.sql(edit);
      assert.equal((await verify()).code, 0, "a consistent rollback is a shorter valid log: the documented limit");
      const r = await verify("--head", kept as string);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`BROKEN at record ${records}: record ${records} is missing \\(the kept head is at ${records}\\)`));
    } finally {
      await restore();
    }
    assert.equal((await verify("--head", kept as string)).code, 0);
  });

  it("seals a log written before the chain was keyed at the store's next opening for writing", async () => {
    const old = unkeyedChain((await stored()).slice(0, 4));
    try {
      for (const edit of rewrite(old)) await s.sql(edit);
      const unsealed = await verify();
      assert.equal(unsealed.code, 1, "unkeyed records prove nothing until a keyed record seals them");
      assert.match(unsealed.stderr, /records 1–4 are not keyed/);
      const created = await runCliAsync(["users", "create", "--id", "after-upgrade"], { env });
      assert.equal(created.code, 0, created.stderr);
      const sealed = await verify();
      assert.equal(sealed.code, 0, sealed.stderr);
      assert.match(sealed.stdout, /intact: 6 records, .*4 of them predate the keyed chain/);
      const actions = (await stored()).slice(4).map((r) => `${r.actor} ${r.action}`);
      assert.deepEqual(actions, ["styx audit.sealed", "cli user.create"]);
      // An old record edited now, its unkeyed hashes recomputed, no longer links to the seal.
      const forged = unkeyedChain(old.map((r) => (r.seq === 2 ? { ...r, actor: "user:mallory" } : r)));
      for (const edit of rewrite([...forged, ...(await stored()).slice(4)])) await s.sql(edit);
      assert.match((await verify()).stderr, /BROKEN at record 5: record 5 does not link to record 4/);
    } finally {
      await restore();
      await s.sql("DELETE FROM users WHERE id = 'after-upgrade'");
    }
  });
});
