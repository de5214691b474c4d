import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CLOSE_CODES } from "../../../src/core/platform/close-codes.js";
import { ERROR_TABLE } from "../../../src/core/platform/errors.js";

const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");
const closeSection = doc.slice(doc.indexOf("\n## Close codes\n"));
const yesNo = (b: boolean) => (b ? "yes" : "no");

/** The first `n` cells of a Markdown table row (the later ones are prose that may hold anything). */
const cells = (row: string, n: number) =>
  row
    .split("|")
    .slice(1, n + 1)
    .map((c) => c.trim());

describe("the error table", () => {
  it("uses codes that follow the STYX_<AREA>_<WHAT> grammar", () => {
    for (const code of Object.keys(ERROR_TABLE)) assert.match(code, /^STYX_[A-Z]+(_[A-Z]+)*$/);
  });

  it("gives every code an HTTP error status and a close code of the close-code table", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.ok(Object.hasOwn(CLOSE_CODES, spec.ws), `${code}: close code ${spec.ws} is not in CLOSE_CODES`);
    }
  });

  it("documents every code in docs/errors.md with its status, close code, retry and reconnect", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} is missing from docs/errors.md`);
      assert.deepEqual(
        cells(row, 5),
        [`\`${code}\``, String(spec.status), String(spec.ws), yesNo(spec.retryable), yesNo(CLOSE_CODES[spec.ws].reconnect)],
        `${code}: the columns HTTP, WS close, retry, reconnect of docs/errors.md differ from the tables`,
      );
    }
  });

  it("documents no code that the table lacks", () => {
    const documented = [...doc.matchAll(/^\| `(STYX_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(
      documented.filter((c) => !(c && c in ERROR_TABLE)),
      [],
    );
    assert.equal(new Set(documented).size, documented.length, "a code is documented twice");
  });
});

describe("the close-code table", () => {
  it("holds WebSocket close codes: RFC 6455's (1000–1015) or the application range (4000–4999)", () => {
    for (const code of Object.keys(CLOSE_CODES).map(Number))
      assert.ok((code >= 1000 && code <= 1015) || (code >= 4000 && code <= 4999), String(code));
  });

  it("keeps every close code SPEC names: 1009 (§9), 4008 (§9), 1012 (§12), 4429 (§12), 4400, 4402, 4403, 4409, 1013 (§11.5)", () => {
    for (const code of [1009, 4008, 1012, 4429, 4400, 4402, 4403, 4409, 1013]) assert.ok(Object.hasOwn(CLOSE_CODES, code), String(code));
  });

  it("ends a socket for good after a credential or permission close, and reconnects after 1012, 4008 and 4429", () => {
    for (const code of [4400, 4401, 4402, 4403] as const) assert.equal(CLOSE_CODES[code].reconnect, false, String(code));
    for (const code of [1006, 1012, 4008, 4009, 4429] as const) assert.equal(CLOSE_CODES[code].reconnect, true, String(code));
  });

  it("reconnects after an error's 44xx close exactly when that error is retryable (a 44xx close judges the connection)", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      if (spec.ws >= 4400 && spec.ws < 4500) assert.equal(CLOSE_CODES[spec.ws].reconnect, spec.retryable, `${code} (${spec.ws})`);
    }
  });

  it("documents every close code in docs/errors.md with its name and reconnect, and none it lacks", () => {
    const rows = [...closeSection.matchAll(/^\| (\d{4}) \|.*$/gm)].map((m) => cells(m[0], 3));
    assert.deepEqual(
      rows,
      Object.entries(CLOSE_CODES).map(([code, spec]) => [code, spec.name, yesNo(spec.reconnect)]),
      "the Close codes table of docs/errors.md (close, name, reconnect; in code order) differs from CLOSE_CODES",
    );
  });
});
