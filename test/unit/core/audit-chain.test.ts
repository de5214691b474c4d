import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import {
  AUDIT_SEALED,
  type AuditRecord,
  type ChainHead,
  chainKind,
  chainRecord,
  GENESIS_HASH,
  sealInput,
  verifyChain,
} from "../../../src/core/platform/audit.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { unkeyedChain } from "../../../src/testing/contracts/audit-log.contract.js";

const KEY = SecretKey.fromBase64(Buffer.alloc(32, 1).toString("base64"));
const OTHER = SecretKey.fromBase64(Buffer.alloc(32, 2).toString("base64"));

function chain(n: number, key = KEY, from: ChainHead = { seq: 0, hash: GENESIS_HASH }): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = from;
  for (let i = 0; i < n; i++) {
    const r = chainRecord(key, prev, 1000 + prev.seq, { actor: "admin", action: "key.create", target: `key:${prev.seq + 1}` });
    out.push(r);
    prev = r;
  }
  return out;
}
const headOf = (rs: AuditRecord[]): ChainHead | undefined => {
  const last = rs.at(-1);
  return last ? { seq: last.seq, hash: last.hash } : undefined;
};
const old = (n: number) =>
  unkeyedChain(
    Array.from({ length: n }, (_, i) => ({
      ts: 500 + i,
      actor: "admin",
      action: "user.create",
      target: `user:${i}`,
      requestId: null,
      ip: null,
      details: "{}",
    })),
  );
const firstBad = (v: ReturnType<typeof verifyChain>) => (v.ok ? undefined : v.firstBad);

describe("verifyChain", () => {
  before(initCrypto);

  it("accepts an intact keyed chain", () => {
    const rs = chain(5);
    assert.deepEqual(verifyChain(KEY, rs, headOf(rs)), { ok: true, records: 5, head: rs[4]?.hash, unkeyed: 0 });
  });

  it("names an altered record", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs[2] = { ...(rs[2] as AuditRecord), target: "key:forged" };
    assert.equal(firstBad(verifyChain(KEY, rs, head)), 3);
  });

  it("names a deleted record in the middle", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs.splice(1, 1);
    assert.equal(firstBad(verifyChain(KEY, rs, head)), 2);
  });

  it("names a deleted newest record through the stored head", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs.pop();
    assert.equal(firstBad(verifyChain(KEY, rs, head)), 5);
  });

  it("names a record whose hash was recomputed after an edit (the next link breaks)", () => {
    const rs = chain(4);
    const head = headOf(rs);
    rs[1] = chainRecord(KEY, { seq: 1, hash: (rs[0] as AuditRecord).hash }, 1, { actor: "x", action: "y", target: "z" });
    assert.equal(firstBad(verifyChain(KEY, rs, head)), 3);
  });

  it("names the first record of a chain rewritten with its head under another key", () => {
    const rs = [...chain(2), ...chain(3, OTHER, headOf(chain(2)))];
    const v = verifyChain(KEY, rs, headOf(rs));
    assert.equal(firstBad(v), 3);
    assert.match(v.ok ? "" : v.reason, /record 3 was altered/);
  });

  it("refuses a whole chain rewritten unkeyed, as the chain before the key allowed anyone to", () => {
    const rs = old(4);
    const v = verifyChain(KEY, rs, headOf(rs));
    assert.equal(firstBad(v), 1);
    assert.match(v.ok ? "" : v.reason, /records 1–4 are not keyed/);
  });

  it("accepts unkeyed records sealed by a keyed record after them, and counts them", () => {
    const rs = old(3);
    rs.push(...chain(2, KEY, headOf(rs)));
    assert.deepEqual(verifyChain(KEY, rs, headOf(rs)), { ok: true, records: 5, head: rs[4]?.hash, unkeyed: 3 });
  });

  it("accepts unkeyed records between keyed ones (a gateway not yet upgraded) once a keyed record follows", () => {
    const rs = chain(2);
    rs.push(...unkeyedChain([{ ts: 9, actor: "cli", action: "x", target: "", requestId: null, ip: null, details: "{}" }], headOf(rs)));
    assert.equal(firstBad(verifyChain(KEY, rs, headOf(rs))), 3, "not yet sealed");
    rs.push(...chain(1, KEY, headOf(rs)));
    assert.deepEqual(verifyChain(KEY, rs, headOf(rs)), { ok: true, records: 4, head: rs[3]?.hash, unkeyed: 1 });
  });

  it("names an old record edited under the seal, even with the old hashes recomputed", () => {
    const rs = old(3);
    rs.push(...chain(1, KEY, headOf(rs)));
    const forged = unkeyedChain(rs.slice(0, 3).map((r) => (r.seq === 2 ? { ...r, actor: "mallory" } : r)));
    const v = verifyChain(KEY, [...forged, rs[3] as AuditRecord], headOf(rs));
    assert.equal(firstBad(v), 4);
  });

  it("refuses a hash of neither form", () => {
    const rs = chain(2);
    const head = headOf(rs);
    rs[1] = { ...(rs[1] as AuditRecord), hash: "zz" };
    assert.equal(firstBad(verifyChain(KEY, rs, head)), 2);
  });

  it("detects a rollback of the newest records only against a kept head", () => {
    const rs = chain(5);
    const kept = headOf(rs) as ChainHead;
    const short = rs.slice(0, 3);
    assert.equal(verifyChain(KEY, short, headOf(short)).ok, true);
    assert.equal(firstBad(verifyChain(KEY, short, headOf(short), kept)), 4);
    assert.equal(firstBad(verifyChain(KEY, rs, kept, { seq: 2, hash: (rs[2] as AuditRecord).hash })), 2, "a kept head of another chain");
    assert.equal(verifyChain(KEY, rs, kept, { seq: 2, hash: (rs[1] as AuditRecord).hash }).ok, true);
  });
});

describe("the keyed chain's hashes", () => {
  before(initCrypto);

  it("are 24 hex (SPEC §3), depend on the key, and are told apart from the unkeyed ones by form", () => {
    const [a] = chain(1, KEY);
    const [b] = chain(1, OTHER);
    assert.match(a?.hash ?? "", /^[0-9a-f]{24}$/);
    assert.notEqual(a?.hash, b?.hash);
    assert.equal(chainKind(a?.hash ?? ""), "keyed");
    assert.equal(chainKind(old(1)[0]?.hash ?? ""), "unkeyed");
    assert.equal(chainKind("xyz"), undefined);
  });
});

describe("sealInput", () => {
  before(initCrypto);

  it("asks for a seal only when the newest record is unkeyed", () => {
    assert.equal(sealInput({ seq: 0, hash: GENESIS_HASH }), undefined);
    assert.equal(sealInput(headOf(chain(2)) as ChainHead), undefined);
    const seal = sealInput(headOf(old(3)) as ChainHead);
    assert.equal(seal?.action, AUDIT_SEALED);
    assert.deepEqual(seal?.details, { unkeyed_through: 3 });
  });
});
