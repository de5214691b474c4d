// `npm test` (unit + integration, the README's command) on the current Node LTS lines besides the
// machine's Node 20: each line's official binary from the npm registry (scripts/node-lines.mjs),
// run on a copy of this checkout in a temporary folder (outside the repository: a nested copy
// would be linted, biome.json and all) whose node_modules is a copy of this one with the native
// addons rebuilt against that line's headers, so the Node 20 tree is never touched.
// Run by .ci/run:   node scripts/test-node-lines.mjs [24 26 …]   (default: every line of NODE_LINES)
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NODE_LINES, nodeEnv, ROOT } from "./node-lines.mjs";

/**
 * The native addons built against one Node's V8 ABI (NODE_MODULE_VERSION), rebuilt per line.
 * The others are N-API, which every line loads as built: hnswlib-node (node-addon-api, built
 * from source on install) and usearch (prebuilt).
 */
const NATIVE = ["better-sqlite3"];

const lines = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(NODE_LINES);
const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;
const failed = [];
for (const line of lines) {
  const version = NODE_LINES[line];
  if (!version) throw new Error(`unknown Node line ${line}: one of ${Object.keys(NODE_LINES).join(", ")}`);
  const t0 = performance.now();
  const env = nodeEnv(version);
  const dir = mkdtempSync(join(tmpdir(), `styx-node-${line}-`));
  console.log(`== Node ${version}: copying the checkout to ${dir}`);
  // What git would check out, with this checkout's uncommitted changes (not dist/, data/, …).
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" })
    .split("\0")
    .filter((f) => f !== "" && f !== "node_modules" && !f.startsWith(".ci/cache/"));
  for (const f of files) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    cpSync(join(ROOT, f), join(dir, f), { verbatimSymlinks: true });
  }
  // `cp -a node_modules/.` follows the folder itself when it is a worktree's symlink, and keeps
  // the symlinks inside (workspace packages, .bin) as they are.
  execFileSync("cp", ["-a", `${join(ROOT, "node_modules")}/.`, join(dir, "node_modules")]);
  console.log(`== Node ${version}: rebuilding ${NATIVE.join(", ")} against its headers`);
  // JOBS: node-gyp compiles SQLite's amalgamation and the binding on both cores at once.
  execFileSync("npm", ["rebuild", ...NATIVE], { cwd: dir, env: { ...env, JOBS: "max" }, stdio: "inherit" });
  const prepared = seconds(t0);
  const t1 = performance.now();
  console.log(`== Node ${version}: npm test (prepared in ${prepared})`);
  const r = spawnSync("npm", ["test"], { cwd: dir, env, stdio: "inherit" });
  console.log(`== Node ${version}: npm test ${r.status === 0 ? "passed" : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds(t1)}`);
  if (r.status !== 0) failed.push(version);
  rmSync(dir, { recursive: true, force: true });
}
if (failed.length > 0) console.error(`npm test failed on Node ${failed.join(", ")}`);
process.exit(failed.length > 0 ? 1 : 0);
