import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { IdentifierDirectory, isStrong } from "../../../src/core/privacy/directory.js";
import { PUBLIC_TOKEN_PATTERN, publicClass, publicToken } from "../../../src/core/privacy/grammar.js";
import { displayForm, foldIdentifier } from "../../../src/core/privacy/normalize.js";
import { scrubNow } from "../../../src/core/privacy/scrub.js";

const WALLET = "0x52908400098527886E0F7030069857D2E4169EE7";

function directory(): IdentifierDirectory {
  const d = new IdentifierDirectory();
  d.add([
    { kind: "user", value: "carol", userId: "carol" },
    { kind: "golem", value: "carol-g1", userId: "carol" },
    { kind: "golem", value: "lending", userId: "mallory" },
    { kind: "wallet", value: WALLET, userId: "carol" },
    { kind: "golem", value: "trader-bot-7", userId: "dave" },
    { kind: "key", value: "key_Xy12ab34CD", userId: "dave" },
  ]);
  return d;
}
const carol = { userId: "carol" };
const scrub = (text: string, writer: { userId: string | null } = carol) => scrubNow(text, directory(), writer);

describe("normalization", () => {
  it("applies NFKC and removes invisible characters, keeping newlines", () => {
    assert.equal(displayForm("ｃａｒｏｌ\u200b!\n"), "carol!\n");
  });
  it("folds homoglyphs, marks and case into one skeleton", () => {
    assert.equal(foldIdentifier("саrоl"), foldIdentifier("CAROL"));
    assert.equal(foldIdentifier("cárol"), foldIdentifier("carol"));
    assert.equal(foldIdentifier("carol_g-1"), foldIdentifier("carol g 1"));
  });
});

describe("the directory of known identifiers", () => {
  it("calls identifiers of 8+ characters with a digit strong", () => {
    assert.equal(isStrong("trader-bot-7"), true);
    assert.equal(isStrong("lending-protocol"), false);
    assert.equal(isStrong("carol-g1"), false);
    assert.equal(isStrong("golem-100"), true);
  });
  it("matches a strong identifier anywhere: glued, split, homoglyphs, zero-width", () => {
    for (const t of ["xtraderbot7y", "trader bot 7", "TRADER-BOT-7", "trаder\u200bbot7", "ｔｒａｄｅｒｂｏｔ７"])
      assert.ok(!scrub(t, { userId: "bob" }).match(/trader|bot|ｔ/i), t);
  });
  it("matches a weak identifier only as whole tokens, and only in its own user's text", () => {
    assert.equal(scrub("carol_trader sold"), "[id]_trader sold");
    assert.equal(scrub("c a r o l"), "[id]");
    assert.equal(scrub("caroline"), "caroline");
    assert.equal(scrub("carol", { userId: "bob" }), "carol");
    // Another tenant's golem named `lending` censors nobody's text.
    assert.equal(scrub("lending pools"), "lending pools");
  });
  it("matches identifiers in decoded forms", () => {
    for (const t of [btoa("carol"), Buffer.from("carol").toString("hex"), "%63%61%72%6f%6c", btoa("trader-bot-7")])
      assert.equal(scrub(t), "[encoded]", t);
    // Long encodings are key-shaped before they are decoded.
    assert.equal(scrub(btoa(WALLET)), "[secret]");
  });
});

describe("generic detectors", () => {
  const cases: [string, string][] = [
    [`w_${WALLET}_main`, "[secret]"],
    [`pay 0x1111222233334444 5555666677778888aaaabbbb now`, "pay [hex] now"],
    [`pay 0x5290840009852788 6E0F7030069857D2E4169EE7 now`, "pay [id] now"],
    ["mail x [at] y [dot] com", "mail [email]"],
    ["a.b@exämple.de", "[email]"],
    ["https://u:p@host.example/users/carol#frag?x=1", "https://host.example"],
    ["see @whale_watch", "see [handle]"],
    ["vitalik.eth", "[ens]"],
    ["10.0.0.1 fe80::1ff:fe23:4567:890a", "[ip] [ip]"],
    ["+1 415 555 0134 or 415-555-0134", "[phone] or [phone]"],
    ["styx_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "[secret]"],
    ["AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg", "[secret]"],
    ["7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV", "[address]"],
    ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "[address]"],
    ["at 1733475459123 and 1733475459", "at 2024-12-06T08:00Z and 2024-12-06T08:00Z"],
    ["2026-12-06T08:57:39.123+01:00", "2026-12-06T07:00Z"],
    ["2026-12-06 08:57:39", "2026-12-06 08:00"],
    ["42069usdc $1,234.56 1_234_567 1.2345e6 12k", "1e4-1e5 usdc 1e3-1e4 1e6-1e7 1e6-1e7 1e4-1e5"],
    ["1 234 567 wei", "1e6-1e7 wei"],
    ["3 golems in 2026, 12.5% up, v1.2.3", "3 golems in 2026, 12.5% up, v1.2.3"],
  ];
  for (const [input, want] of cases) it(`${input} → ${want}`, () => assert.equal(scrub(input), want));
});

describe("the scrubber", () => {
  it("hides base64 that drew no digit (found by the corpus on a random wallet), alone or glued into a slug", () => {
    const digitless = btoa("0x10e22409D2f3198FF3e80f98D2bD6f1FD248ceEC");
    assert.doesNotMatch(digitless, /\d/);
    for (const t of [`blob-${digitless}`, `ref=${digitless}`, digitless]) assert.ok(!scrub(t, { userId: "bob" }).includes("MHgx"), t);
    assert.equal(publicToken(`blob-${digitless}`, directory(), { userId: "bob" }), undefined);
    // Lower-cased (as the public grammar writes a structural value) it is letters only: 48+ in a row are no word.
    // (A wallet's base64 as a CI run of the corpus found it on a federation socket, lower-cased there.)
    const lowered = "mhhmqzzbmjuznezfnmqyouzimdjdnmvmmjqwnzdgotczmdffodvkodqw";
    assert.doesNotMatch(lowered, /[\d+/=]/);
    assert.ok(!scrub(`blob-${lowered}`, { userId: "bob" }).includes(lowered.slice(0, 12)));
    assert.equal(publicToken(`blob-${lowered}`, directory(), { userId: "bob" }), undefined);
    // The longest dictionary word (45 letters) is a word.
    assert.equal(scrub("pneumonoultramicroscopicsilicovolcanoconiosis"), "pneumonoultramicroscopicsilicovolcanoconiosis");
    // Words keep their case changes rare: prose is left alone.
    assert.equal(scrub("the-quick-Brown-fox-jumps-over-The-Lazy-dogs"), "the-quick-Brown-fox-jumps-over-The-Lazy-dogs");
  });

  it("finds runs across the windows a long chunk is searched in", () => {
    for (const at of [4070, 4090, 4096, 8180]) {
      const text = `${"x".repeat(at)}0x52908400098527886e0f7030069857d2e4169ee8${"y".repeat(9000 - at)}`;
      assert.ok(!scrub(text, { userId: "bob" }).includes("52908400"), `address at ${at}`);
      const money = `${"-".repeat(at)}42069usdc${"-".repeat(100)}`;
      assert.ok(!scrub(money).includes("42069"), `amount at ${at}`);
    }
  });

  it("changes nothing on a second pass", () => {
    const piece = fc.constantFrom(
      "carol",
      "carol-g1",
      WALLET,
      "42069usdc",
      "$1,234.56",
      "2026-12-06T08:57:39Z",
      "x@y.io",
      "defi",
      " ",
      "-",
      "_",
      "\u200b",
      "1e3-1e4",
      "lending",
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 20 }), (parts) => {
        const once = scrub(parts.join(" "));
        assert.equal(scrub(once), once);
      }),
      { numRuns: 200 },
    );
  });
  it("leaves no strong identifier in any text made of identifiers and noise", () => {
    const noise = fc.constantFrom(" ", "_", "-", ".", "\u200b", "x", "1", "/", "é");
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("trader-bot-7", WALLET), noise), { maxLength: 12 }), (parts) => {
        const out = scrub(parts.join(""), { userId: "bob" });
        const folded = foldIdentifier(out);
        for (const id of ["trader-bot-7", WALLET]) assert.ok(!folded.includes(foldIdentifier(id)), `${id} in ${out}`);
      }),
      { numRuns: 300 },
    );
  });

  it("leaves no weak identifier of the writer that stands apart from other letters and digits", () => {
    const noise = fc.constantFrom(" ", "_", "-", ".", "\u200b", "/", ",", "\n");
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom("carol-g1", "carol", "c a r o l"), noise), { maxLength: 12 }), (parts) => {
        const text = parts.join("");
        const out = scrub(text, carol);
        // Whole tokens only: around each surviving "carol" there must be another letter or digit.
        const display = out.replace(/[^\p{L}\p{N}\s]/gu, " ");
        assert.ok(!/(^|\s)c\s*a\s*r\s*o\s*l(\s|$)/u.test(display), `carol in ${JSON.stringify(out)} from ${JSON.stringify(text)}`);
      }),
      { numRuns: 300 },
    );
  });
});

describe("the closed grammar", () => {
  const d = directory();
  it("normalizes and accepts descriptive tokens", () => {
    assert.equal(publicToken("Bull", d, carol), "bull");
    assert.equal(publicToken("eth-usd_1h", d, carol), "eth-usd_1h");
    assert.equal(publicClass("funding->basis", d, carol), "funding->basis");
  });
  it("refuses what is outside the grammar or holds an identifier, with one answer for all", () => {
    for (const bad of [
      "",
      "has space",
      "eth:price",
      "x".repeat(65),
      "trader-bot-7",
      "my_trader_bot_7_x",
      "carol",
      WALLET.toLowerCase(),
      "a@b.co",
      "bull\u0430",
    ])
      assert.equal(publicToken(bad, d, carol), undefined, bad);
    assert.equal(publicClass("ok->carol", d, carol), undefined);
  });
  it("lets a weak identifier of another tenant through (it cannot censor a domain)", () => {
    assert.equal(publicToken("lending", d, carol), "lending");
    assert.equal(publicToken("carol", d, { userId: "bob" }), "carol");
  });
  it("is the pattern SPEC §4.2 gives", () => assert.equal(PUBLIC_TOKEN_PATTERN, "^[a-z0-9][a-z0-9_.-]{0,63}$"));
});
