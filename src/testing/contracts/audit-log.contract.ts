import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { type AuditLog, GENESIS_HASH } from "../../core/platform/audit.js";

/** The behaviour every AuditLog adapter must show. */
export function describeAuditLogContract(name: string, make: () => Promise<AuditLog> | AuditLog): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    beforeEach(async () => {
      log = await make();
    });

    it("verifies an empty log", async () => {
      assert.deepEqual(await log.verify(), { ok: true, records: 0, head: GENESIS_HASH });
    });

    it("numbers records from 1 without gaps and links each to the previous hash", async () => {
      const a = await log.append({ actor: "admin", action: "user.create", target: "user:u1" });
      const b = await log.append({ actor: "admin", action: "key.create", target: "key:k1", details: { scopes: ["read"] } });
      assert.equal(a.seq, 1);
      assert.equal(b.seq, 2);
      assert.equal(a.prevHash, GENESIS_HASH);
      assert.equal(b.prevHash, a.hash);
      assert.match(b.hash, /^[0-9a-f]{64}$/);
      const v = await log.verify();
      assert.equal(v.ok, true);
      assert.equal(v.records, 2);
    });

    it("lists records after a sequence number, oldest first, up to a limit", async () => {
      for (let i = 0; i < 5; i++) await log.append({ actor: "cli", action: "x", target: `t${i}` });
      assert.deepEqual(
        (await log.list(2, 2)).map((r) => r.seq),
        [3, 4],
      );
    });

    it("keeps what was appended: optional fields as null, details as JSON text", async () => {
      const bare = await log.append({ actor: "anonymous", action: "tenancy.denied", target: "" });
      assert.deepEqual([bare.requestId, bare.ip, bare.details], [null, null, "{}"]);
      const full = await log.append({
        actor: "user:u1",
        action: "key.create",
        target: "key:k1",
        requestId: "req-1",
        ip: "203.0.113.7",
        details: { scopes: ["read"], note: "ünï" },
      });
      assert.deepEqual(JSON.parse(full.details), { scopes: ["read"], note: "ünï" });
      assert.deepEqual(await log.list(0, 10), [bare, full], "records read back as appended");
    });

    it("finds the newest record of an action, and nothing for an action never taken", async () => {
      assert.equal(await log.latest("backup.created"), undefined);
      await log.append({ actor: "cli", action: "backup.created", target: "b1" });
      await log.append({ actor: "cli", action: "key.create", target: "k1" });
      await log.append({ actor: "cli", action: "backup.created", target: "b2" });
      await log.append({ actor: "cli", action: "key.revoke", target: "k1" });
      assert.deepEqual([(await log.latest("backup.created"))?.target, (await log.latest("backup.created"))?.seq], ["b2", 3]);
      assert.equal(await log.latest("backup"), undefined, "actions match exactly");
      assert.deepEqual(await log.list(4, 10), [], "nothing after the last record");
    });

    it("keeps concurrent appends on one chain", async () => {
      await Promise.all(Array.from({ length: 50 }, (_, i) => log.append({ actor: "cli", action: "x", target: `t${i}` })));
      const v = await log.verify();
      assert.equal(v.ok, true);
      assert.equal(v.records, 50);
    });
  });
}
