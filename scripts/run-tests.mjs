#!/usr/bin/env node
// Runs every *.test.ts under the given folders (or the given test files) with Node's test runner
// (TypeScript through tsx).
// Node 20's --test takes no globs, so the files are collected here.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: run-tests.mjs DIR|FILE [DIR|FILE…]");
  process.exit(2);
}
const files = [];
const walk = (d) => {
  if (!statSync(d).isDirectory()) return void files.push(d);
  for (const name of readdirSync(d).sort()) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.ts")) files.push(p);
  }
};
for (const d of dirs) walk(d);
if (files.length === 0) {
  console.error(`no test files under ${dirs.join(", ")}`);
  process.exit(1);
}
const reporter = ["--test-reporter=spec"];
const r = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...reporter, ...files], {
  stdio: "inherit",
});
process.exit(r.status ?? 1);
