import assert from "node:assert/strict";
import { beforeEach, describe, it } from "node:test";
import { AUDIT_SEALED, type AuditLog, type AuditRecord, type ChainHead, chainRecord, GENESIS_HASH } from "../../core/platform/audit.js";
import { blake3Hex } from "../../core/platform/crypto.js";
import { SecretKey } from "../../core/platform/secret-key.js";

/** The rows behind an adapter, as someone who can write its database reaches them (without the key). */
export interface AuditRowsAccess {
  /** Replaces every stored record and the head (none when `head` is undefined). */
  overwrite(records: readonly AuditRecord[], head: ChainHead | undefined): Promise<void>;
}

/** A log on a fresh store, and (for stores that outlive the process) raw access to its rows. */
export interface OpenedAuditLog {
  readonly log: AuditLog;
  readonly rows?: AuditRowsAccess;
}

/** The key the suite's logs are opened with, and another one (an attacker's guess). */
const KEY = SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64"));
const OTHER_KEY = SecretKey.fromBase64(Buffer.alloc(32, 8).toString("base64"));

/**
 * Records as Styx wrote them before the chain was keyed: BLAKE3 of the canonical content
 * (written out here on purpose, so a change to how old records are checked fails this suite).
 */
export function unkeyedChain(records: readonly Omit<AuditRecord, "seq" | "prevHash" | "hash">[], from?: ChainHead): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = from ?? { seq: 0, hash: GENESIS_HASH };
  for (const r of records) {
    const base = { ...r, seq: prev.seq + 1, prevHash: prev.hash };
    const hash = blake3Hex(
      JSON.stringify([base.seq, base.ts, base.actor, base.action, base.target, base.requestId, base.ip, base.details, base.prevHash]),
    );
    out.push({ ...base, hash });
    prev = { seq: base.seq, hash };
  }
  return out;
}

/** Re-chains `records` from the first one on under `key` (what a forger does with a key of their own). */
function rechain(key: SecretKey, records: readonly AuditRecord[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev: ChainHead = { seq: (records[0]?.seq ?? 1) - 1, hash: records[0]?.prevHash ?? GENESIS_HASH };
  for (const r of records) {
    const next = chainRecord(key, prev, r.ts, {
      actor: r.actor,
      action: r.action,
      target: r.target,
      requestId: r.requestId ?? undefined,
      ip: r.ip ?? undefined,
      details: JSON.parse(r.details) as Record<string, unknown>,
    });
    out.push(next);
    prev = next;
  }
  return out;
}

const headOf = (records: readonly AuditRecord[]): ChainHead | undefined => {
  const last = records.at(-1);
  return last && { seq: last.seq, hash: last.hash };
};

const oldRecord = (i: number) => ({
  ts: 1_600_000_000_000 + i,
  actor: "admin",
  action: "key.create",
  target: `key:old${i}`,
  requestId: null,
  ip: null,
  details: "{}",
});

/** The behaviour every AuditLog adapter must show. */
export function describeAuditLogContract(name: string, make: (key: SecretKey) => Promise<OpenedAuditLog> | OpenedAuditLog): void {
  describe(`AuditLog contract: ${name}`, () => {
    let log: AuditLog;
    let rows: AuditRowsAccess | undefined;
    beforeEach(async () => {
      ({ log, rows } = await make(KEY));
    });
    const all = async () => log.list(0, 1000);

    it("verifies an empty log", async () => {
      assert.deepEqual(await log.verify(), { ok: true, records: 0, head: GENESIS_HASH, unkeyed: 0 });
    });

    it("numbers records from 1 without gaps and links each to the previous keyed hash", async () => {
      const a = await log.append({ actor: "admin", action: "user.create", target: "user:u1" });
      const b = await log.append({ actor: "admin", action: "key.create", target: "key:k1", details: { scopes: ["read"] } });
      assert.equal(a.seq, 1);
      assert.equal(b.seq, 2);
      assert.equal(a.prevHash, GENESIS_HASH);
      assert.equal(b.prevHash, a.hash);
      assert.match(b.hash, /^[0-9a-f]{24}$/, "an HMAC-SHA256 under the key, 12 bytes (SPEC §3)");
      assert.deepEqual(await log.verify(), { ok: true, records: 2, head: b.hash, unkeyed: 0 });
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

    it("seals nothing when the log is empty or ends with a keyed record", async () => {
      assert.equal(await log.seal(), undefined);
      await log.append({ actor: "cli", action: "x", target: "t" });
      assert.equal(await log.seal(), undefined);
      assert.equal((await all()).length, 1);
    });

    describe("against someone who can write the database but has no key", () => {
      const writable = () => {
        assert.ok(rows, `${name}: the suite needs raw access to the rows`);
        return rows;
      };
      const appendFive = async () => {
        for (let i = 1; i <= 5; i++)
          await log.append({ actor: `user:u${i}`, action: "golem.create", target: `golem:g${i}`, ip: "10.0.0.1" });
        return all();
      };

      it("detects records and head rewritten consistently under another key", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const kept = await appendFive();
        const edited = kept.map((r) => (r.seq === 3 ? { ...r, actor: "user:mallory" } : r));
        const forged = [...kept.slice(0, 2), ...rechain(OTHER_KEY, edited.slice(2))];
        await writable().overwrite(forged, headOf(forged));
        const v = await log.verify();
        assert.equal(v.ok, false);
        assert.equal(!v.ok && v.firstBad, 3);
        assert.match(!v.ok ? v.reason : "", /record 3 was altered/);
      });

      it("detects the whole log rewritten as an unkeyed chain, as anyone could before the key", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const kept = await appendFive();
        const forged = unkeyedChain(kept.map((r) => (r.seq === 2 ? { ...r, target: "golem:forged" } : r)));
        await writable().overwrite(forged, headOf(forged));
        const v = await log.verify();
        assert.equal(v.ok, false);
        assert.equal(!v.ok && v.firstBad, 1);
        assert.match(!v.ok ? v.reason : "", /records 1–5 are not keyed/);
      });

      it("detects unkeyed records appended after the last keyed one", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const kept = await appendFive();
        const forged = [...kept, ...unkeyedChain([oldRecord(6)], headOf(kept))];
        await writable().overwrite(forged, headOf(forged));
        const v = await log.verify();
        assert.equal(!v.ok && v.firstBad, 6);
      });

      it("seals a log written before the chain was keyed, which then verifies with its old records counted", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const old = unkeyedChain([oldRecord(1), oldRecord(2), oldRecord(3)]);
        await writable().overwrite(old, headOf(old));
        assert.match(((await log.verify()) as { reason: string }).reason, /records 1–3 are not keyed/, "unsealed: not proven");
        const seal = await log.seal();
        assert.equal(seal?.seq, 4);
        assert.equal(seal?.action, AUDIT_SEALED);
        assert.equal(seal?.prevHash, old[2]?.hash, "the seal's MAC covers the last old hash");
        assert.equal(await log.seal(), undefined, "sealed once");
        const next = await log.append({ actor: "cli", action: "x", target: "t" });
        assert.deepEqual(await log.verify(), { ok: true, records: 5, head: next.hash, unkeyed: 3 });
      });

      it("detects an old record edited after the seal, even with every old hash recomputed", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const old = unkeyedChain([oldRecord(1), oldRecord(2), oldRecord(3)]);
        await writable().overwrite(old, headOf(old));
        await log.seal();
        const sealed = await all();
        const forged = [...unkeyedChain([oldRecord(1), { ...oldRecord(2), actor: "user:mallory" }, oldRecord(3)]), ...sealed.slice(3)];
        await writable().overwrite(forged, headOf(forged));
        const v = await log.verify();
        assert.equal(!v.ok && v.firstBad, 4);
        assert.match(!v.ok ? v.reason : "", /record 4 does not link to record 3/);
      });

      it("detects the newest records deleted with the head moved back only against a head kept elsewhere", async (t) => {
        if (!rows) return t.skip("this store has no rows outside the process");
        const kept = await appendFive();
        const keptHead = headOf(kept) as ChainHead;
        const rolledBack = kept.slice(0, 3);
        await writable().overwrite(rolledBack, headOf(rolledBack));
        assert.equal((await log.verify()).ok, true, "a consistent rollback is a shorter valid chain (the documented limit)");
        const v = await log.verify(keptHead);
        assert.equal(!v.ok && v.firstBad, 4);
        assert.match(!v.ok ? v.reason : "", /kept head is at 5/);
        assert.equal((await log.verify({ seq: 2, hash: (kept[1] as AuditRecord).hash })).ok, true, "an older kept head still matches");
      });
    });
  });
}
