// LangGraph's checkpointer validation (@langchain/langgraph-checkpoint-validation, its library
// entry point under vitest; the 1.1.x CLI is broken) against StyxSaver (@styx/langgraph) backed by
// a live Styx micronode started here on a random port, then against LangGraph's own MemorySaver:
// `validate` (the whole spec suite) plus the suite's opt-in getDeltaChannelHistory tests.
// Passes when every test passes for StyxSaver except tests that fail for MemorySaver too (listed).
// Run by .ci/run after `npm test` (which builds):  node scripts/langgraph-validation.mjs
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const VITEST = join(createRequire(import.meta.url).resolve("vitest/package.json"), "..", "vitest.mjs");
const dir = mkdtempSync(join(tmpdir(), "styx-langgraph-"));

/**
 * Runs one spec file under vitest (spawned: the server answering it runs in this process); the
 * status of each test by name (the checkpointer's name made generic, a repeated name numbered).
 */
async function run(spec, name, env) {
  const out = join(dir, `${name.replace(/\W+/g, "_")}.json`);
  console.log(`== LangGraph checkpoint validation: ${name}`);
  const child = spawn(
    process.execPath,
    [
      VITEST,
      "run",
      "--config",
      "scripts/langgraph-validation/vitest.config.mjs",
      `scripts/langgraph-validation/${spec}`,
      "--reporter=dot",
      "--reporter=json",
      `--outputFile.json=${out}`,
    ],
    { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, NO_COLOR: "1", ...env } },
  );
  const timer = setTimeout(() => child.kill("SIGTERM"), 900_000);
  const r = await new Promise((resolve) => child.on("exit", (status, signal) => resolve({ status, signal })));
  clearTimeout(timer);
  let report;
  try {
    report = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    console.error(`${name}: vitest left no report (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
  const results = new Map();
  for (const file of report.testResults) {
    for (const t of file.assertionResults) {
      // A test the suite skips for one saver carries "[because …]" in its name: dropped, to match.
      const base = t.fullName
        .split(name)
        .join("<saver>")
        .replace(/\[because [^\]]*\] /, "");
      let k = base;
      for (let i = 2; results.has(k); i++) k = `${base} (#${i})`;
      results.set(k, t.status);
    }
  }
  const count = (s) => [...results.values()].filter((v) => v === s).length;
  console.log(
    `${name}: ${results.size} tests, ${count("passed")} passed, ${count("failed")} failed, ${count("skipped") + count("pending") + count("todo")} skipped`,
  );
  return results;
}

const { startTestServer } = await import("../dist/testing/test-server.js");
const s = await startTestServer({ profile: "micro", persistent: true });
let styx;
try {
  const u = await s.user("langgraph-validation");
  styx = await run("styx.spec.mjs", "@styx/langgraph", {
    STYX_URL: s.url,
    STYX_ADMIN_TOKEN: s.adminToken,
    STYX_KEY: u.key,
    STYX_USER: u.id,
  });
} finally {
  await s.close();
}
const memory = await run("memory.spec.mjs", "MemorySaver", {});
rmSync(dir, { recursive: true, force: true });

const failed = [...styx].filter(([, st]) => st === "failed").map(([t]) => t);
const alsoMemory = failed.filter((t) => memory.get(t) === "failed");
const ours = failed.filter((t) => memory.get(t) !== "failed");
const memoryFailed = [...memory].filter(([, st]) => st === "failed").map(([t]) => t);
console.log(`== LangGraph checkpoint validation summary`);
const line = (results) => {
  const n = (st) => [...results.values()].filter((v) => v === st).length;
  return `${results.size} tests, ${n("passed")} passed, ${n("failed")} failed, ${results.size - n("passed") - n("failed")} skipped by the suite`;
};
console.log(`StyxSaver: ${line(styx)}`);
console.log(`MemorySaver: ${line(memory)}`);
for (const [t, st] of memory)
  if (st !== "passed" && st !== "failed") console.log(`  skipped on MemorySaver: ${t} (${styx.get(t)} on StyxSaver)`);
for (const t of memoryFailed) console.log(`  fails on MemorySaver${failed.includes(t) ? " and StyxSaver" : ""}: ${t}`);
for (const t of ours) console.error(`  FAILS on StyxSaver only: ${t}`);
if (ours.length > 0 || styx.size === 0) {
  console.error("LangGraph checkpoint validation: FAILED");
  process.exit(1);
}
console.log(`LangGraph checkpoint validation: passed (${alsoMemory.length} failing on MemorySaver too)`);
