#!/usr/bin/env node
// The proof suite (test/chaos): tries to break a real micronode (kill -9 under writes, a bounded
// soak with churning sockets, the tenancy matrix, fuzzing) and reports what it measured. Each proof
// appends its figures to a report file (src/testing/chaos-report.ts); when every proof passed, the
// figures are printed as one table and written into docs/reliability.md between its markers.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

const REPORT = ".tmp/chaos-report.ndjson";
const DOC = "docs/reliability.md";
const START = "<!-- chaos-figures:start -->";
const END = "<!-- chaos-figures:end -->";

mkdirSync(".tmp", { recursive: true });
rmSync(REPORT, { force: true });
const r = spawnSync(process.execPath, ["scripts/run-tests.mjs", "test/chaos"], {
  stdio: "inherit",
  // The federation soak runs 120 s here (600 s by default, its acceptance run): its four restarts
  // and their catch-ups are the same at either length (docs/reliability.md has both runs' figures).
  env: { STYX_FED_SOAK_SECONDS: "120", ...process.env, STYX_CHAOS_REPORT: REPORT },
});
if ((r.status ?? 1) !== 0) {
  console.error("\nproof suite failed: docs/reliability.md left as it was");
  process.exit(1);
}

let rows = [];
try {
  rows = readFileSync(REPORT, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l));
} catch {
  console.error(`no figures were reported (${REPORT} missing)`);
  process.exit(1);
}
const fmt = (v) => (typeof v === "number" ? v.toLocaleString("en-US") : String(v));
const commit = (() => {
  try {
    return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const table = [
  `Last run: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, commit ${commit}, Node ${process.version}${process.env.CI ? ", CI" : ""}.`,
  "",
  "| proof | figures |",
  "|---|---|",
  ...rows
    .sort((a, b) => a.proof.localeCompare(b.proof))
    .map(
      ({ proof, figures }) =>
        `| ${proof} | ${Object.entries(figures)
          .map(([k, v]) => `${k}: ${fmt(v)}`)
          .join("; ")} |`,
    ),
].join("\n");
console.log(`\n=== proof suite figures ===\n${table}\n`);

const doc = readFileSync(DOC, "utf8");
const a = doc.indexOf(START);
const b = doc.indexOf(END);
if (a < 0 || b < a) {
  console.error(`${DOC} lacks the markers ${START} … ${END}`);
  process.exit(1);
}
writeFileSync(DOC, `${doc.slice(0, a + START.length)}\n${table}\n${doc.slice(b)}`);
console.log(`figures written to ${DOC}`);
