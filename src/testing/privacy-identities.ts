import assert from "node:assert/strict";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type CorpusCase, type CorpusIdentities, structuralForms } from "./privacy-corpus.js";
import { signedChallenge } from "./signatures.js";
import type { TestServer } from "./test-server.js";

/**
 * What a privacy-corpus test writes with: the identities of the writing user A and another
 * tenant C (test/integration/privacy-corpus.test.ts, federation-privacy.test.ts), the tag that
 * marks a case's free text, and the metadata object that carries a case.
 */

/** Letters-only tag of a number (`aa`, `ab`, …): distinct content and classes that no detector touches. */
export const corpusTag = (n: number): string =>
  String.fromCharCode(97 + (Math.floor(n / 26) % 26), 97 + (n % 26)) + String.fromCharCode(97 + Math.floor(n / 676));

/** A metadata object carrying a case in every allow-listed key (each form), and in one key that is not allowed. */
export function corpusMetadata(c: CorpusCase): Record<string, unknown> {
  const forms = structuralForms(c.text).map((f) => f.value);
  const at = (k: number) => forms[Math.min(k, forms.length - 1)] as string;
  return { tags: forms, asset: at(0), market: at(1), timeframe: at(2), horizon: at(1), method: at(0), source_kind: at(2), note: c.text };
}

/** User A (caller-chosen ids, generated ids, wallets, two keys, a wallet session) and another tenant C. */
export async function createCorpusIdentities(s: TestServer): Promise<{ a: { key: string; writer: string }; corpus: CorpusIdentities }> {
  const admin = { token: s.adminToken };
  const userWallet = privateKeyToAccount(generatePrivateKey());
  const aId = "carol-trader-7";
  assert.equal(
    (await s.request("POST", "/v1/admin/users", { ...admin, body: { id: aId, wallet_address: userWallet.address } })).status,
    201,
  );
  const k1 = await s.request("POST", `/v1/admin/users/${aId}/keys`, { ...admin, body: { name: "main" } });
  const k2 = await s.request("POST", `/v1/admin/users/${aId}/keys`, { ...admin, body: { name: "ops" } });
  const key: string = k1.json.key;
  const writer = await s.golem(key, { id: "carol-scout-42" });
  // Upper-case I and M: TR39 maps them differently from i and m, so case must not change what matches.
  const upper = await s.golem(key, { id: "IMAX-Miner-9" });
  const generated = await s.golem(key);
  const weak = await s.golem(key, { id: "mallory" });
  const golemWallet = privateKeyToAccount(generatePrivateKey());
  const walleted = await s.golem(key, { wallet_address: golemWallet.address, wallet_proof: await signedChallenge(s, golemWallet) });
  // A wallet session of the user: its id is a known identifier too.
  const session = await s.request("POST", "/v1/auth/verify", { body: await signedChallenge(s, userWallet) });
  assert.equal(session.status, 200, session.text);
  const sessionIds = (await s.sql(`SELECT id FROM sessions WHERE user_id = '${aId}'`)).map((r: { id: string }) => r.id);
  assert.equal(sessionIds.length, 1);

  // Another tenant: generated user id, a caller-chosen golem, a wallet.
  const otherWallet = privateKeyToAccount(generatePrivateKey());
  const cUser = await s.request("POST", "/v1/admin/users", { ...admin, body: { wallet_address: otherWallet.address } });
  const cId: string = cUser.json.id;
  const ck = await s.request("POST", `/v1/admin/users/${cId}/keys`, { ...admin, body: { name: "c" } });
  const cGolem = await s.golem(ck.json.key, { id: "dmitri-arb-9" });
  const cWeak = await s.golem(ck.json.key, { id: "dmitri-arbitrage" });
  return {
    a: { key, writer: writer.id },
    corpus: {
      writingGolemId: writer.id,
      writer: {
        userId: aId,
        golemIds: [writer.id, upper.id, generated.id, walleted.id],
        weakGolemIds: [weak.id],
        wallets: [userWallet.address, golemWallet.address],
        keyBodies: [key, k2.json.key],
        keyIds: [k1.json.id, k2.json.id],
        sessionIds,
      },
      others: [
        {
          userId: cId,
          golemIds: [cGolem.id],
          weakGolemIds: [cWeak.id],
          wallets: [otherWallet.address],
          keyBodies: [],
          keyIds: [ck.json.id],
          sessionIds: [],
        },
      ],
    },
  };
}

/** Runs `work` on every item, `concurrency` at a time. */
export async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>, concurrency = 8): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
