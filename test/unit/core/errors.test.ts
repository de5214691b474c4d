import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { ERROR_TABLE } from "../../../src/core/platform/errors.js";

const doc = readFileSync(new URL("../../../docs/errors.md", import.meta.url), "utf8");

describe("the error table", () => {
  it("uses codes that follow the STYX_<AREA>_<WHAT> grammar", () => {
    for (const code of Object.keys(ERROR_TABLE)) assert.match(code, /^STYX_[A-Z]+(_[A-Z]+)*$/);
  });

  it("gives every code an HTTP error status and a WebSocket close code", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      assert.ok(spec.status >= 400 && spec.status < 600, code);
      assert.ok((spec.ws >= 1000 && spec.ws < 1016) || (spec.ws >= 4000 && spec.ws < 5000), code);
    }
  });

  it("documents every code in docs/errors.md with its HTTP status", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\` |`));
      assert.ok(row, `${code} is missing from docs/errors.md`);
      assert.ok(row.includes(`| ${spec.status} |`), `${code} documents the wrong status`);
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
