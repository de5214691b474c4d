import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { type AuditRecord, chainRecord, GENESIS_HASH, verifyChain } from "../../../src/core/platform/audit.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";

function chain(n: number): AuditRecord[] {
  const out: AuditRecord[] = [];
  let prev = { seq: 0, hash: GENESIS_HASH };
  for (let i = 0; i < n; i++) {
    const r = chainRecord(prev, 1000 + i, { actor: "admin", action: "key.create", target: `key:${i}` });
    out.push(r);
    prev = r;
  }
  return out;
}
const headOf = (rs: AuditRecord[]) => {
  const last = rs.at(-1);
  return last ? { seq: last.seq, hash: last.hash } : undefined;
};

describe("verifyChain", () => {
  before(initCrypto);

  it("accepts an intact chain", () => {
    const rs = chain(5);
    assert.deepEqual(verifyChain(rs, headOf(rs)), { ok: true, records: 5, head: rs[4]?.hash });
  });

  it("names an altered record", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs[2] = { ...(rs[2] as AuditRecord), target: "key:forged" };
    const v = verifyChain(rs, head);
    assert.equal(v.ok, false);
    assert.equal(!v.ok && v.firstBad, 3);
  });

  it("names a deleted record in the middle", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs.splice(1, 1);
    const v = verifyChain(rs, head);
    assert.equal(!v.ok && v.firstBad, 2);
  });

  it("names a deleted newest record through the stored head", () => {
    const rs = chain(5);
    const head = headOf(rs);
    rs.pop();
    const v = verifyChain(rs, head);
    assert.equal(!v.ok && v.firstBad, 5);
  });

  it("names a record whose hash was recomputed after an edit (the next link breaks)", () => {
    const rs = chain(4);
    const head = headOf(rs);
    const forged = chainRecord({ seq: 1, hash: (rs[0] as AuditRecord).hash }, 1, { actor: "x", action: "y", target: "z" });
    rs[1] = forged;
    const v = verifyChain(rs, head);
    assert.equal(!v.ok && v.firstBad, 3);
  });
});
