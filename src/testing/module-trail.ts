/**
 * A preload for a spawned Styx (`node --import <this file's URL>?out=<file> …`): appends the
 * path of every module the process loads — ES modules through a resolve hook, CommonJS through
 * `Module._resolveFilename` — to `<file>`, one a line. Tests read it to prove what a process
 * never loaded (no OpenTelemetry package with tracing off).
 */
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { pathToFileURL } from "node:url";

/** The `--import` argument that records into `out` (the compiled preload: a spawned process runs dist/). */
export function moduleTrailImport(out: string): string {
  const url = new URL("../../dist/testing/module-trail.js", import.meta.url);
  url.search = `?out=${encodeURIComponent(out)}`;
  return url.href;
}

/** The modules listed in a trail file: absolute paths (or node: builtins), deduplicated. */
export function readTrail(text: string): Set<string> {
  return new Set(text.split("\n").filter((l) => l !== ""));
}

const HOOKS = `
import { appendFileSync } from "node:fs";
let out;
export function initialize(data) { out = data.out; }
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(out, r.url + "\\n");
  return r;
}`;

const out = new URL(import.meta.url).searchParams.get("out");
if (out) {
  register(`data:text/javascript,${encodeURIComponent(HOOKS)}`, pathToFileURL("./"), { data: { out } });
  const M = Module as unknown as { _resolveFilename: (...args: unknown[]) => string };
  const resolveFilename = M._resolveFilename;
  M._resolveFilename = function (this: unknown, ...args: unknown[]) {
    const path = resolveFilename.apply(this, args);
    appendFileSync(out, `${path.startsWith("/") ? pathToFileURL(path).href : path}\n`);
    return path;
  };
}
