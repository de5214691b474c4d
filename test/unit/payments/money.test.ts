import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { atomicToUsd, DEFAULT_PRICES, parsePrices, usdToAtomic } from "../../../src/core/payments/money.js";
import { BASE, BASE_SEPOLIA, resolveNetwork } from "../../../src/core/payments/networks.js";

describe("money: USD strings and atomic units (SPEC §11.1)", () => {
  it("converts decimal USD to atomic units exactly, and back to the shortest string", () => {
    assert.equal(usdToAtomic("0.001"), 1000);
    assert.equal(usdToAtomic("0.0005"), 500);
    assert.equal(usdToAtomic("1"), 1_000_000);
    assert.equal(usdToAtomic("100.000001"), 100_000_001);
    assert.equal(atomicToUsd(500), "0.0005");
    assert.equal(atomicToUsd(10_000), "0.01");
    assert.equal(atomicToUsd(1_000_000), "1");
    assert.equal(atomicToUsd(0), "0");
  });

  it("refuses more than 6 decimals, signs, exponents and words", () => {
    for (const bad of ["0.0000001", "-1", "1e3", "", " 1", "one", "1.", ".5"]) assert.throws(() => usdToAtomic(bad), /USD/, bad);
  });
});

describe("STYX_PRICES", () => {
  it("overrides the named rows and keeps the others", () => {
    const p = parsePrices('{"query": "0.003", "snapshot": 0.02}');
    assert.equal(p.query, 3000);
    assert.equal(p.snapshot, 20_000);
    assert.equal(p.entry_write, DEFAULT_PRICES.entry_write);
    assert.deepEqual(parsePrices("{}"), DEFAULT_PRICES);
  });

  it("refuses unknown operations (prototype names included), zero prices and non-objects", () => {
    assert.throws(() => parsePrices('{"constructor": "1"}'), /unknown operation/);
    assert.throws(() => parsePrices('{"__proto__": "1"}'), /unknown operation/);
    assert.throws(() => parsePrices('{"query": "0"}'), /above 0/);
    assert.throws(() => parsePrices('{"query": true}'), /USD/);
    assert.throws(() => parsePrices("[]"), /JSON object/);
    assert.throws(() => parsePrices("nope"), /JSON object/);
  });
});

describe("payment networks", () => {
  it("knows Base and Base Sepolia USDC with their EIP-712 domains", () => {
    assert.equal(resolveNetwork("eip155:8453"), BASE);
    assert.equal(resolveNetwork("eip155:84532"), BASE_SEPOLIA);
    assert.equal(BASE.assetName, "USD Coin");
    assert.equal(BASE_SEPOLIA.v1Name, "base-sepolia");
  });

  it("needs asset, name and version for another chain", () => {
    assert.throws(() => resolveNetwork("eip155:1"), /STYX_X402_ASSET/);
    const n = resolveNetwork("eip155:1", { address: `0x${"ab".repeat(20)}`, name: "Token", version: "1" });
    assert.equal(n.chainId, 1);
    assert.equal(n.v1Name, "eip155:1");
    assert.throws(() => resolveNetwork("solana:mainnet"), /EVM CAIP-2/);
    assert.throws(() => resolveNetwork("eip155:1", { address: "0x12", name: "T", version: "1" }), /0x address/);
  });
});
