import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { SETTINGS } from "../../../src/config/schema.js";

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

describe("README", () => {
  it("has the two Quick start commands", () => {
    assert.ok(readme.includes("npm install && npm start"));
    assert.ok(readme.includes("npm install && npm test"));
  });

  it("documents every configuration variable with its default", () => {
    for (const [name, s] of Object.entries(SETTINGS)) {
      const row = readme.split("\n").find((l) => l.startsWith(`| \`${name}\` |`));
      assert.ok(row, `${name} missing from the README configuration table (node scripts/config-table.mjs)`);
      if ("default" in s) assert.ok(row.includes(`\`${s.default}\``), `${name} shows the wrong default`);
    }
  });
});
