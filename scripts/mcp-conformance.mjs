// The official MCP conformance suite (@modelcontextprotocol/conformance, server mode) against a
// live Styx: `styx serve` (built dist/, a micronode in a temporary data dir) on a random loopback
// port, one user with a key, two golems and an entry, so the tools, resources, prompt and
// completions have something to answer. Run by .ci/run after `npm run build`:
//   node scripts/mcp-conformance.mjs [--scenario NAME]
// The suite needs Node >= 22: it runs on the pinned LTS binary of scripts/node-lines.mjs, and is
// installed from .ci/mcp-conformance/ (package.json + package-lock.json, pinned) with `npm ci` into
// .ci/cache/mcp-conformance/, once; Styx itself runs on the Node that runs this script.
// The suite takes a URL and no headers: the key travels as `?token=` (as the socket accepts it).
// Every scenario must pass but those listed in .ci/mcp-conformance/expected-failures.txt (one a
// line: scenario, then why): an unexpected failure or an unexpected pass fails this script.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CACHE, NODE_LINES, nodeEnv, ROOT } from "./node-lines.mjs";

const PINNED = join(ROOT, ".ci", "mcp-conformance");
const EXPECTED = join(PINNED, "expected-failures.txt");
const only = process.argv.indexOf("--scenario") > 0 ? process.argv[process.argv.indexOf("--scenario") + 1] : undefined;

/** The scenarios expected to fail: the text each failed check must contain, and why. */
function expectedFailures() {
  const out = new Map();
  for (const line of readFileSync(EXPECTED, "utf8").split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const m = /^(\S+)\s+"([^"]+)"\s+(\S.*)$/.exec(t);
    if (!m) throw new Error(`${EXPECTED}: "${t}" is not: scenario "failure text" reason`);
    out.set(m[1], { text: m[2], reason: m[3] });
  }
  return out;
}

/** Installs the pinned suite into the cache (npm ci on Node 24) unless the same lockfile is there. */
function installSuite(env) {
  const dir = join(CACHE, "mcp-conformance");
  const lock = readFileSync(join(PINNED, "package-lock.json"), "utf8");
  const bin = join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js");
  if (existsSync(bin) && existsSync(join(dir, "package-lock.json")) && readFileSync(join(dir, "package-lock.json"), "utf8") === lock)
    return bin;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ["package.json", "package-lock.json"]) cpSync(join(PINNED, f), join(dir, f));
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts"], { cwd: dir, env, stdio: "inherit" });
  return bin;
}

const env = nodeEnv(NODE_LINES[24]);
const suite = installSuite(env);
const suiteNode = join(env.npm_config_nodedir, "bin", "node");

const { spawnServer } = await import("../dist/testing/spawn.js");
const work = mkdtempSync(join(tmpdir(), "styx-mcp-conformance-"));
const admin = "conformance-admin-token-0123456789";
const server = await spawnServer(["--data-dir", join(work, "data")], {
  env: { PATH: process.env.PATH ?? "", STYX_ADMIN_TOKEN: admin, STYX_RATE_LIMIT: "100000/s:100000", STYX_MCP_MAX_SESSIONS: "64" },
});
let failed = false;
try {
  const call = async (method, path, token, body) => {
    const r = await fetch(server.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await r.json();
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  };
  await call("POST", "/v1/admin/users", admin, { id: "conformance" });
  const { key } = await call("POST", "/v1/admin/users/conformance/keys", admin, { name: "mcp conformance" });
  for (const id of ["conformance-g1", "conformance-g2"]) await call("POST", "/v1/styx/golems", key, { id });
  await call("POST", "/v1/styx/entries", key, {
    golem_id: "conformance-g1",
    layer: "vault",
    category: "insight",
    content: "the conformance suite ran here",
    domain: "conformance.ci",
  });

  const out = join(work, "results");
  const args = [suite, "server", "--url", `${server.url}/mcp?token=${encodeURIComponent(key)}`, "--output-dir", out, "--suite", "all"];
  if (only) args.push("--scenario", only);
  console.log(
    `== MCP conformance ${JSON.parse(readFileSync(join(PINNED, "package.json"), "utf8")).dependencies["@modelcontextprotocol/conformance"]} on node ${execFileSync(suiteNode, ["--version"], { encoding: "utf8" }).trim()} against ${server.url}/mcp`,
  );
  const r = spawnSync(suiteNode, args, { env, encoding: "utf8", timeout: 600_000, cwd: work });
  const text = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  // The suite prints each scenario's checks, then a summary; its own exit code counts any failure.
  console.log(text.replaceAll(encodeURIComponent(key), "<key>").trim());

  // Each scenario writes its checks to <out>/server-<scenario>-<timestamp>/checks.json.
  const results = new Map();
  for (const d of existsSync(out) ? readdirSync(out) : []) {
    const f = join(out, d, "checks.json");
    if (!existsSync(f)) continue;
    const scenario = d.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT.*$/, "");
    const checks = JSON.parse(readFileSync(f, "utf8"));
    const bad = checks.filter((c) => c.status === "FAILURE");
    results.set(scenario, bad);
  }
  if (results.size === 0) throw new Error(`the suite wrote no results (exit ${r.status ?? r.signal})`);
  const expected = expectedFailures();
  const unexpectedFail = [];
  const unexpectedPass = [];
  for (const [scenario, bad] of results) {
    const known = expected.get(scenario);
    const other = bad.filter((c) => !known || !`${c.errorMessage ?? ""}`.includes(known.text));
    if (other.length > 0) unexpectedFail.push(`${scenario}: ${other.map((c) => `${c.id}: ${c.errorMessage ?? c.status}`).join("; ")}`);
    if (bad.length === 0 && known) unexpectedPass.push(scenario);
  }
  if (!only) for (const scenario of expected.keys()) if (!results.has(scenario)) unexpectedPass.push(`${scenario} (not run)`);
  const passed = [...results].filter(([, bad]) => bad.length === 0).length;
  const failedCount = results.size - passed;
  console.log(
    `== MCP conformance: ${results.size} scenarios, ${passed} passed, ${failedCount} failed (${failedCount - unexpectedFail.length} expected: they need the suite's fixtures)`,
  );
  for (const [scenario, { reason }] of expected)
    if (results.get(scenario)?.length) console.log(`   expected failure ${scenario}: ${reason}`);
  for (const u of unexpectedFail) console.error(`UNEXPECTED FAILURE ${u}`);
  for (const u of unexpectedPass) console.error(`UNEXPECTED PASS ${u}: remove it from ${EXPECTED}`);
  failed = unexpectedFail.length > 0 || unexpectedPass.length > 0;
} finally {
  server.proc.kill("SIGTERM");
  await server.exited;
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
