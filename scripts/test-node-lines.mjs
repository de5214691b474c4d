// The test suite (unit + integration, what `npm test` runs) on the current Node LTS lines besides
// the machine's Node 20: each line's official binary from the npm registry (scripts/node-lines.mjs),
// run on a copy of this checkout in a temporary folder (outside the repository: a nested copy
// would be linted, biome.json and all) whose node_modules is a copy of this one with the native
// addons rebuilt against that line's headers, so the Node 20 tree is never touched.
//
// The test files (unit, then integration, each in sorted order) are dealt out between the lines in
// turn, so each file runs on Node 20 (`npm test`) and on one newer line: on a 2-core machine the
// whole suite took 7–11 min a line and put CI past its budget. `--all` runs every file on every
// line. dist/ is built once, here (`--no-build`: it is fresh, as in CI right after `npm test`),
// and copied to each line (tsc's output does not depend on the Node that runs it).
// Run by .ci/run:   node scripts/test-node-lines.mjs [--all] [--no-build] [24 26 …]   (default: every line of NODE_LINES)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { NODE_LINES, nodeEnv, ROOT } from "./node-lines.mjs";

/**
 * The native addons built against one Node's V8 ABI (NODE_MODULE_VERSION), rebuilt per line.
 * The others are N-API, which every line loads as built: hnswlib-node (node-addon-api, built
 * from source on install) and usearch (prebuilt).
 */
const NATIVE = ["better-sqlite3"];

const args = process.argv.slice(2);
const all = args.includes("--all");
const build = !args.includes("--no-build");
const named = args.filter((a) => !a.startsWith("--"));
const lines = named.length > 0 ? named : Object.keys(NODE_LINES);
const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

/** The *.test.ts files under `dir` (repository-relative), sorted. */
const testFiles = (dir) =>
  readdirSync(join(ROOT, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".test.ts"))
    .sort()
    .map((f) => join(dir, f));
const everyFile = [...testFiles("test/unit"), ...testFiles("test/integration")];
/** The files line number `i` (of `lines`) runs. */
const filesOf = (i) => (all ? everyFile : everyFile.filter((_, k) => k % lines.length === i));

// Built once here for every line (the workers and the CLI the tests start run from dist/).
if (build) execFileSync("npm", ["run", "build"], { cwd: ROOT, stdio: "inherit" });

/**
 * A temporary copy of the checkout for `line`, its native addons rebuilt against that line's
 * headers. Both lines are prepared at once: compiling SQLite's amalgamation is one long
 * single-threaded compile, so two of them share the machine's two cores.
 */
async function prepare(line) {
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
  // The build's output: dist/ and each workspace package's dist/ (@styx/client, @styx/langgraph).
  for (const out of ["dist", ...readdirSync(join(ROOT, "packages")).map((p) => join("packages", p, "dist"))])
    cpSync(join(ROOT, out), join(dir, out), { recursive: true, verbatimSymlinks: true });
  // `cp -a node_modules/.` follows the folder itself when it is a worktree's symlink, and keeps
  // the symlinks inside (workspace packages, .bin) as they are.
  execFileSync("cp", ["-a", `${join(ROOT, "node_modules")}/.`, join(dir, "node_modules")]);
  console.log(`== Node ${version}: rebuilding ${NATIVE.join(", ")} against its headers`);
  const log = join(dir, ".rebuild.log");
  const code = await new Promise((resolve) => {
    const out = openSync(log, "w");
    // One line alone: node-gyp compiles the amalgamation and the binding on both cores at once.
    const jobs = lines.length === 1 ? { JOBS: "max" } : {};
    spawn("npm", ["rebuild", ...NATIVE], { cwd: dir, env: { ...env, ...jobs }, stdio: ["ignore", out, out] }).on("exit", (c, sig) => {
      closeSync(out);
      resolve(c ?? sig);
    });
  });
  if (code !== 0) {
    process.stdout.write(readFileSync(log, "utf8"));
    throw new Error(`Node ${version}: npm rebuild ${NATIVE.join(" ")} failed (${code})`);
  }
  console.log(`== Node ${version}: prepared in ${seconds(t0)}`);
  return { version, env, dir };
}

const prepared = await Promise.all(lines.map(prepare));
const failed = [];
for (const [i, { version, env, dir }] of prepared.entries()) {
  const t1 = performance.now();
  const tests = filesOf(i);
  console.log(`== Node ${version}: ${tests.length} of ${everyFile.length} test files`);
  // The runner of `npm test` (scripts/run-tests.mjs), under this line's node (first on PATH).
  const r = spawnSync("node", ["scripts/run-tests.mjs", ...tests], { cwd: dir, env, stdio: "inherit" });
  console.log(`== Node ${version}: tests ${r.status === 0 ? "passed" : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds(t1)}`);
  if (r.status !== 0) failed.push(version);
  rmSync(dir, { recursive: true, force: true });
}
if (failed.length > 0) console.error(`tests failed on Node ${failed.join(", ")}`);
process.exit(failed.length > 0 ? 1 : 0);
