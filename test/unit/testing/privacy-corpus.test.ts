import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CORPUS_CATEGORIES,
  type CorpusIdentities,
  corpusCases,
  findLeaks,
  OutputText,
  slugOf,
} from "../../../src/testing/privacy-corpus.js";

const ids: CorpusIdentities = {
  writingGolemId: "carol-scout-42",
  writer: {
    userId: "carol-trader-7",
    golemIds: ["carol-scout-42", "glm_nu9VenG9CAFuy1o6jIqOtQ", "glm_a3nQj3CatIQb5mKXoJLyGQ"],
    weakGolemIds: ["mallory"],
    wallets: ["0x52908400098527886E0F7030069857D2E4169EE7", "0x8617E340B3D01FA5F11F306F4090FD50E238070D"],
    keyBodies: ["styx_q2Vt0cF7h1yT4kXn8mPz3bLw6sRj9aDe5uGi0oKc2Hf"],
    keyIds: ["key_kh8ZOBXeyIALFwh1fc0r8A"],
    sessionIds: ["ses_zTdfwJI0ow3ISd0OtxZBkQ"],
  },
  others: [
    {
      userId: "usr_Qm3kT9vR2xW8yZ1aB4cD5e",
      golemIds: ["dmitri-arb-9"],
      weakGolemIds: [],
      wallets: ["0xde709f2102306220921060314715629080e2fb77"],
      keyBodies: [],
      keyIds: ["key_B0uZeAHhiC-1Sxk8nF93qA"],
      sessionIds: [],
    },
  ],
};

describe("privacy corpus generator", () => {
  const cases = corpusCases(ids);

  it("builds at least 150 cases from the identities it is given, covering every category", () => {
    assert.ok(cases.length >= 150, `${cases.length}`);
    const covered = new Set(cases.map((c) => c.category));
    assert.deepEqual(
      CORPUS_CATEGORIES.filter((c) => !covered.has(c)),
      [],
    );
    assert.equal(new Set(cases.map((c) => c.id)).size, cases.length, "case ids are unique");
  });

  it("gives every case at least one secret, and every identity appears in some case's secrets", () => {
    for (const c of cases) assert.ok(c.secrets.length > 0, c.id);
    const all = new Set(cases.flatMap((c) => c.secrets));
    const every = [ids.writer, ...ids.others].flatMap((t) => [
      t.userId,
      ...t.golemIds,
      ...t.weakGolemIds,
      ...t.wallets,
      ...t.keyIds,
      ...t.sessionIds,
    ]);
    for (const id of every) assert.ok(all.has(id), id);
  });

  it("slugs a text the way a golem names a domain", () => {
    assert.equal(slugOf("mail carol.w@corp-mail.example"), "mail-carol.w-corp-mail.example");
    assert.equal(slugOf("ＣＡＲＯＬ！"), "carol");
    assert.equal(slugOf("[glm_x] entered"), "glm_x-entered");
  });
});

describe("leak finder", () => {
  const idCase = { id: "t-1", category: "own-user-id" as const, text: "", secrets: ["carol-trader-7"] };
  const amountCase = { id: "t-2", category: "amount" as const, text: "", secrets: ["1,234.56", "1234.56"] };

  it("finds an identifier raw, in another case, split, with invisible characters, as homoglyphs or fullwidth", () => {
    for (const shown of [
      "carol-trader-7",
      "CAROL-TRADER-7",
      "carol trader 7",
      "c\u200barol-trader-7",
      "c\u0430rol-tr\u0430der-7",
      "ｃａｒｏｌ－ｔｒａｄｅｒ－７",
    ]) {
      assert.deepEqual(findLeaks(new OutputText(JSON.stringify({ content: `x ${shown} y` })), idCase), ["carol-trader-7"], shown);
    }
  });

  it("finds a secret in an object key (the pulse counts regimes by key)", () => {
    assert.equal(findLeaks(new OutputText(JSON.stringify({ regimes: { "carol-trader-7": 1 } })), idCase).length, 1);
  });

  it("does not call a redaction, a bucket or an unrelated number a leak", () => {
    const out = new OutputText(JSON.stringify({ content: "[id] moved 1e3-1e4 at 2026-12-06T09:00Z", score: 0.1234567, n: 123456 }));
    assert.deepEqual(findLeaks(out, idCase), []);
    assert.deepEqual(findLeaks(out, amountCase), []);
  });

  it("finds an exact amount however its digits are grouped", () => {
    for (const shown of ["$1,234.56", "1234.56", "1_234.56", "1 234.56"]) {
      assert.ok(findLeaks(new OutputText(JSON.stringify({ content: `paid ${shown}` })), amountCase).length > 0, shown);
    }
    assert.deepEqual(findLeaks(new OutputText(JSON.stringify({ content: "paid 11234.567" })), amountCase), []);
  });
});
