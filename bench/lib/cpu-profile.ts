/**
 * A CPU profile of this process around an async task (V8's sampling profiler through
 * node:inspector, as `node --cpu-prof` takes it), summed into self time per area of the code and
 * per function: bench/scrub.ts uses it to say where a loaded server's time goes. Another
 * process's profile (bench/lib/remote-profile.ts, bench/profile.ts) is summed by the same
 * `summarizeProfile`.
 */
import { Session } from "node:inspector/promises";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

/** A V8 CPU profile as the inspector's Profiler.stop returns it (the parts read here). */
export interface CpuProfile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** Self time (ms) per area and per function, largest first, and the total sampled. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly areas: [string, number][];
  readonly functions: [string, number][];
  /** Self time of native frames (a SQLite statement, a socket write, JSON.parse…) by the nearest JavaScript caller. */
  readonly natives: [string, number][];
}

/** Where a frame's code lives: the privacy pipeline, another src/ folder, a package, Node, or a V8 pseudo-frame. */
function area(url: string, fn: string): string {
  if (url === "") return fn.startsWith("(") ? fn : `native ${fn || "(anonymous)"}`;
  const src = /\/(?:src|dist)\/([^/]+(?:\/[^/]+)?)\//.exec(url);
  if (src && !url.includes("node_modules")) return `src/${src[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `node_modules/${pkg[1]}`;
  if (url.startsWith("node:")) return "node internals";
  return url;
}

/** A frame's file, short: from `node_modules/` for a package (its own src/ or dist/ kept), else from Styx's src/ or dist/. */
const short = (url: string) => {
  const pkg = url.lastIndexOf("/node_modules/");
  if (pkg !== -1) return url.slice(pkg + 1);
  return url.replace(/^.*\/(src|dist)\//, "$1/").replace(/^file:\/\//, "");
};

/** Runs `task` under the sampling profiler (1 ms interval) and summarizes self time. */
export async function profiled<T>(task: () => Promise<T>): Promise<{ result: T; summary: ProfileSummary; profile: CpuProfile }> {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 1000 });
  await session.post("Profiler.start");
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await task() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const { profile } = (await session.post("Profiler.stop")) as unknown as { profile: CpuProfile };
  session.disconnect();
  if (!outcome.ok) throw outcome.error;
  return { result: outcome.value, summary: summarizeProfile(profile), profile };
}

/** Self time per area and per function of a V8 CPU profile (Profiler.stop's, or a `.cpuprofile` file's). */
export function summarizeProfile(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** The nearest caller in our own code (src/ or dist/), else the nearest JavaScript frame. */
  const jsCaller = (id: number): string => {
    let nearest: string | undefined;
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) {
      const f = byId.get(p)?.callFrame;
      if (!f || f.url === "") continue;
      const name = `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`;
      if (area(f.url, f.functionName).startsWith("src/")) return name;
      nearest ??= name;
    }
    return nearest ?? "(no JavaScript caller)";
  };
  const natives = new Map<string, number>();
  /** Samples inside the inspector session itself (the profiler's own calls): not the code measured. */
  const ownCalls = new Map<number, boolean>();
  const isOwnCall = (id: number): boolean => {
    const known = ownCalls.get(id);
    if (known !== undefined) return known;
    const url = byId.get(id)?.callFrame.url ?? "";
    const p = parent.get(id);
    const own = url === "node:inspector" || url.startsWith("node:internal/inspector") || (p !== undefined && isOwnCall(p));
    ownCalls.set(id, own);
    return own;
  };
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)?.callFrame;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!f || isOwnCall(id)) return;
    total += dt;
    const a = area(f.url, f.functionName);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const name = f.url === "" ? a : `${f.functionName || "(anonymous)"} ${short(f.url)}:${f.lineNumber + 1}`;
    fns.set(name, (fns.get(name) ?? 0) + dt);
    if (f.url === "" && !f.functionName.startsWith("(")) {
      const key = `${a} ← ${jsCaller(id)}`;
      natives.set(key, (natives.get(key) ?? 0) + dt);
    }
  });
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { totalMs: total, areas: sorted(areas), functions: sorted(fns), natives: sorted(natives) };
}
