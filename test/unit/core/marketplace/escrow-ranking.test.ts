import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { unwrapCek, wrapCek, x25519PublicRaw } from "../../../../src/adapters/crypto/cek-wrap.js";
import { NodeEscrow } from "../../../../src/adapters/crypto/node-escrow.js";
import { normalisedBm25, rank, ratingScore, scores } from "../../../../src/core/marketplace/ranking.js";
import { purchaseFee } from "../../../../src/core/marketplace/types.js";
import { SecretKey } from "../../../../src/core/platform/secret-key.js";

const secret = SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64"));
const cid = `b3:${"1".repeat(64)}`;

describe("NodeEscrow", () => {
  it("derives the same keys from the same secret (every gateway), other keys from another", () => {
    const a = new NodeEscrow(secret, ["esc1", "esc2"]);
    const b = new NodeEscrow(secret, ["esc1", "esc2"]);
    const c = new NodeEscrow(SecretKey.fromBase64(Buffer.alloc(32, 8).toString("base64")), ["esc1"]);
    assert.deepEqual(a.keys(), b.keys());
    assert.notEqual(a.keys()[0]?.publicKey, a.keys()[1]?.publicKey, "one key per kid");
    assert.notEqual(a.keys()[0]?.publicKey, c.keys()[0]?.publicKey);
  });

  it("opens a wrap to its own key and cid only, and re-wraps for a buyer", () => {
    const escrow = new NodeEscrow(secret, ["esc1", "esc2"]);
    const cek = randomBytes(32);
    const wrapped = wrapCek(Buffer.from(escrow.keys()[0]?.publicKey as string, "base64url"), cek, cid) as string;
    assert.deepEqual(Buffer.from(escrow.open("esc1", wrapped, cid) as Uint8Array), cek);
    assert.equal(escrow.open("esc2", wrapped, cid), undefined, "another kid");
    assert.equal(escrow.open("esc9", wrapped, cid), undefined, "an unknown kid");
    assert.equal(escrow.open("esc1", wrapped, `b3:${"2".repeat(64)}`), undefined, "the cid is bound in");
    const flipped = Buffer.from(wrapped, "base64url");
    flipped[40] = (flipped[40] as number) ^ 1;
    assert.equal(escrow.open("esc1", flipped.toString("base64url"), cid), undefined, "altered");
    assert.equal(escrow.open("esc1", wrapped.slice(0, 20), cid), undefined, "truncated");
    const buyer = generateKeyPairSync("x25519");
    const forBuyer = escrow.wrap(x25519PublicRaw(buyer.publicKey).toString("base64url"), cek, cid) as string;
    assert.deepEqual(unwrapCek(buyer.privateKey, forBuyer, cid), cek);
    assert.notEqual(forBuyer, wrapped);
    assert.equal(escrow.wrap("not-a-key", cek, cid), undefined);
  });

  it("lays a wrap out as E_pub(32) ‖ nonce(12) ‖ ciphertext ‖ tag(16)", () => {
    const r = generateKeyPairSync("x25519");
    const w = Buffer.from(wrapCek(x25519PublicRaw(r.publicKey), randomBytes(32), cid) as string, "base64url");
    assert.equal(w.length, 32 + 12 + 32 + 16);
  });
});

describe("marketplace ranking (SPEC §16.2)", () => {
  const now = 1_000 * 3_600_000;
  const item = (id: string, over: Partial<Parameters<typeof scores>[0][number]> = {}) => ({
    id,
    createdAt: now,
    sales: 0,
    ratingSum: 0,
    ratingCount: 0,
    embedding: null,
    text: "",
    reputation: 0,
    ...over,
  });

  it("computes the formula on a fixed set", () => {
    const set = [
      item("a", { reputation: 50, ratingSum: 9, ratingCount: 2, createdAt: now - 168 * 3_600_000, sales: 9, embedding: [1, 0] }),
      item("b", { reputation: 250, sales: 0, embedding: [0, 1] }),
    ];
    const [a, b] = scores(set, { embedding: [1, 0] }, now);
    const expectA = 0.4 * 1 + 0.2 * 0.5 + 0.15 * ((18 / 5 - 1) / 4) + 0.15 * Math.exp(-1) + 0.1 * (Math.log10(10) / 3);
    const expectB = 0.4 * 0 + 0.2 * 1 + 0.15 * 0.5 + 0.15 * 1 + 0;
    assert.ok(Math.abs((a as number) - expectA) < 1e-12, `${a} vs ${expectA}`);
    assert.ok(Math.abs((b as number) - expectB) < 1e-12);
    const [na] = scores(set, {}, now);
    assert.ok(Math.abs((na as number) - (expectA - 0.4) / 0.6) < 1e-12, "no query: semantic dropped, the rest ÷ 0.60");
  });

  it("uses normalised BM25 without an embedding, and breaks ties by newer, then id", () => {
    assert.deepEqual(normalisedBm25("lending", ["lending rates", "nothing here"]), [1, 0]);
    assert.equal(ratingScore(0, 0), 0.5);
    const order = rank([item("b"), item("a"), item("c", { createdAt: now + 1 })], {}, now).map((r) => r.item.id);
    assert.deepEqual(order, ["c", "a", "b"]);
  });

  it("charges a fee of ⌈5 · price / 100⌉ atomic units", () => {
    assert.equal(purchaseFee(1000), 50);
    assert.equal(purchaseFee(500_001), 25_001);
    assert.equal(purchaseFee(1), 1);
  });
});
