// External validators (issue: "reach into the frameworks"): the OpenAPI document served at
// /docs/json must pass Redocly's recommended rules with no error and no warning, and /metrics must
// pass `promtool check metrics` (Debian's prometheus package). Both are read from a live server
// (amnesia, built dist/) after some traffic, so labelled series exist. Run by .ci/run:
//   npm run build && node scripts/check-external.mjs
// Redocly comes from the npm registry at a pinned version (npx), promtool from PATH.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDOCLY = "@redocly/cli@2.12.0";

const { startTestServer } = await import("../dist/testing/test-server.js");
const dir = mkdtempSync(join(tmpdir(), "styx-external-"));
const s = await startTestServer({ profile: "micro" });
let failed = false;
try {
  const u = await s.user("external-check");
  await s.golem(u.key, { id: "external-g" });
  await s.request("POST", "/v1/styx/query", { text: "warm up", limit: 3 }, u.key);
  await s.request("GET", "/v1/styx/entries/nope", undefined, u.key);
  const doc = await s.request("GET", "/docs/json");
  writeFileSync(join(dir, "openapi.json"), JSON.stringify(doc.json, null, 1));
  writeFileSync(join(dir, "metrics.txt"), await (await fetch(`${s.url}/metrics`)).text());
} finally {
  await s.close();
}
const run = (what, cmd, args, input) => {
  console.log(`== ${what}: ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8", input, timeout: 300_000 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim();
  console.log(out || "(no output)");
  if (r.status !== 0) {
    failed = true;
    console.error(`${what}: FAILED (exit ${r.status ?? r.signal ?? r.error?.message})`);
  }
  return out;
};
const lint = run("OpenAPI (Redocly recommended rules)", "npx", ["--yes", REDOCLY, "lint", "openapi.json", "--format=summary"]);
if (/^(warning|error)\s/m.test(lint)) {
  failed = true;
  console.error("OpenAPI: Redocly reported problems (every warning counts)");
}
run("metrics (promtool)", "promtool", ["check", "metrics"], readFileSync(join(dir, "metrics.txt"), "utf8"));
rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
