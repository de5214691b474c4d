import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { verifyMessage, verifyTypedData } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ViemSignInMessages } from "../../../src/adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import type { SignInFields } from "../../../src/core/identity/sign-in-message.js";
import { highS, withV } from "../../../src/testing/signatures.js";

const account = privateKeyToAccount(generatePrivateKey());
const verifier = new ViemSignatureVerifier();
const typed = {
  domain: { name: "Probe", version: "1", chainId: 8453 },
  types: { Note: [{ name: "text", type: "string" }] },
  primaryType: "Note",
  message: { text: "hello" },
} as const;

describe("ViemSignatureVerifier (EIP-2)", () => {
  it("accepts a wallet's personal_sign and tells another signer apart", async () => {
    const signature = await account.signMessage({ message: "probe" });
    assert.equal(await verifier.verifyPersonalMessage(account.address, "probe", signature), "valid");
    const other = await privateKeyToAccount(generatePrivateKey()).signMessage({ message: "probe" });
    assert.equal(await verifier.verifyPersonalMessage(account.address, "probe", other), "wrong_signer");
  });

  it("refuses the high-s mirror of a valid personal_sign, which viem alone accepts", async () => {
    const mirror = highS(await account.signMessage({ message: "probe" }));
    assert.equal(
      await verifyMessage({ address: account.address, message: "probe", signature: mirror }),
      true,
      "the mirror recovers the signer",
    );
    assert.equal(await verifier.verifyPersonalMessage(account.address, "probe", mirror), "malformed");
  });

  it("refuses the high-s mirror of a valid EIP-712 signature", async () => {
    const mirror = highS(await account.signTypedData(typed));
    assert.equal(await verifyTypedData({ ...typed, address: account.address, signature: mirror }), true, "the mirror recovers the signer");
    assert.equal(await verifier.verifyTypedData(account.address, typed, mirror), "malformed");
    assert.equal(await verifier.verifyTypedData(account.address, typed, await account.signTypedData(typed)), "valid");
  });

  it("refuses every v but 27 and 28: the bare recovery bit 0/1 and malformed values", async () => {
    const signature = await account.signMessage({ message: "probe" });
    const v = Number.parseInt(signature.slice(130), 16);
    const bare = withV(signature, v - 27);
    assert.equal(await verifyMessage({ address: account.address, message: "probe", signature: bare }), true, "viem recovers v 0/1");
    for (const sig of [bare, withV(signature, 29), withV(signature, 0x1d), withV(signature, 0xff), withV(signature, 55)]) {
      assert.equal(await verifier.verifyPersonalMessage(account.address, "probe", sig), "malformed", sig.slice(130));
    }
  });

  it("refuses r or s of zero, s at or above the order, and a signature of the wrong length", async () => {
    const signature = await account.signMessage({ message: "probe" });
    const zeroR = `0x${"0".repeat(64)}${signature.slice(66)}`;
    const zeroS = `0x${signature.slice(2, 66)}${"0".repeat(64)}${signature.slice(130)}`;
    const bigS = `0x${signature.slice(2, 66)}${"f".repeat(64)}${signature.slice(130)}`;
    for (const sig of [zeroR, zeroS, bigS, signature.slice(0, 130), `${signature}00`, "0xzz"]) {
      assert.equal(await verifier.verifyPersonalMessage(account.address, "probe", sig), "malformed");
    }
    assert.equal(await verifier.verifyPersonalMessage("0x1234", "probe", signature), "malformed");
  });
});

describe("ViemSignInMessages (EIP-4361 by viem/siwe)", () => {
  const codec = new ViemSignInMessages();
  const fields: SignInFields = {
    address: account.address,
    domain: "styx.example.com",
    scheme: undefined,
    uri: "https://styx.example.com",
    version: "1",
    chainId: 8453,
    nonce: "a1b2c3d4e5f6a7b8",
    statement: "Sign in to Styx.",
    issuedAt: Date.UTC(2026, 0, 1),
    expiresAt: Date.UTC(2026, 0, 1, 0, 5),
  };

  it("writes the EIP-4361 lines and reads back the same fields", async () => {
    const text = await codec.format(fields);
    assert.match(text, /^styx\.example\.com wants you to sign in with your Ethereum account:\n0x/);
    for (const line of [
      "URI: https://styx.example.com",
      "Chain ID: 8453",
      "Nonce: a1b2c3d4e5f6a7b8",
      "Expiration Time: 2026-01-01T00:05:00.000Z",
    ]) {
      assert.ok(text.includes(`\n${line}`), line);
    }
    assert.deepEqual(await codec.parse(text), fields);
    assert.equal(await codec.format((await codec.parse(text)) as SignInFields), text);
  });

  it("names a scheme other than https before the domain", async () => {
    const text = await codec.format({ ...fields, scheme: "http", domain: "localhost:8080", uri: "http://localhost:8080" });
    assert.match(text, /^http:\/\/localhost:8080 wants you/);
    assert.equal((await codec.parse(text))?.scheme, "http");
  });

  it("reads nothing from text that is not a complete, well-formed message", async () => {
    const text = await codec.format(fields);
    const broken = [
      "",
      "hello",
      text.replace(/\nChain ID: \d+/, ""),
      text.replace("Nonce: a1b2c3d4e5f6a7b8", "Nonce: short"),
      text.replace("Version: 1", "Version: 2"),
      text.replace(/Issued At: [^\n]+/, "Issued At: yesterday"),
      text.replace(/Expiration Time: [^\n]+/, "Expiration Time: 2025-01-01T00:00:00.000Z"),
      `${text}${"x".repeat(2048)}`,
    ];
    for (const t of broken) assert.equal(await codec.parse(t), undefined, t.slice(0, 80));
  });

  it("refuses to write a domain EIP-4361 does not allow", async () => {
    await assert.rejects(codec.format({ ...fields, domain: "styx gateway" }));
  });
});
