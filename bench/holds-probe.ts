// ad hoc: long event-loop holds during rated lethe/vault writes, attributed by CPU profile samples
import { Session } from "node:inspector/promises";
import { ms, pct } from "./lib/common.js";
import { directoryInputs, prose } from "./lib/scrub-inputs.js";
import { scrubLoadClient } from "./lib/scrub-load.js";
const dist = <T>(path: string): Promise<T> => import(new URL(`../dist/${path}`, import.meta.url).href) as Promise<T>;
const { startTestServer } = await dist<typeof import("../src/testing/test-server.js")>("testing/test-server.js");
const inputs = directoryInputs(0x5c2b, Number(process.env.USERS ?? 2000));
const s = await startTestServer({
  persistent: true,
  env: { STYX_LETHE_DELAY: "0s-0s", STYX_LETHE_K: "1", STYX_RATE_LIMIT: "1000000/s:1000000", STYX_IP_RATE_LIMIT: "1000000/s:1000000" },
});
const writers: { token: string; golemId: string }[] = [];
for (let w = 0; w < 6; w++) {
  const u = await s.user(`writer${w}`);
  const g = await s.golem(u.key, { id: `writer${w}-golem-${w}x7` });
  writers.push({ token: u.key, golemId: g.id });
}
s.styx.privacy.directory.add(inputs.ids);
await new Promise((r) => setTimeout(r, 3000));
const content = prose(0x5c2b + 99, 64 * 1024 - 8, inputs.golems);
const prober = scrubLoadClient();
const writer = scrubLoadClient();
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 50 });
const secs = Number(process.env.SECS ?? 10);
for (const layer of (process.env.LAYERS ?? "vault,lethe,idle").split(",")) {
  await new Promise((r) => setTimeout(r, 1500));
  await session.post("Profiler.start");
  const writing = layer === "idle" ? undefined : writer.run({ kind: "write", layer: layer as "vault", url: s.url, writers, domain: "bench", content, durationMs: (secs + 1) * 1000, rate: 6 });
  const health = await prober.run({ kind: "probe", url: s.url, path: "/v1/styx/health", rate: 200, durationMs: secs * 1000 });
  await writing;
  const { profile } = (await session.post("Profiler.stop")) as any;
  const byId = new Map<number, any>(profile.nodes.map((n: any) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (id: number) => {
    const f = byId.get(id).callFrame;
    return `${f.functionName || "(anon)"} ${String(f.url).replace(/^.*\/(dist|node_modules)\//, "$1/")}:${f.lineNumber + 1}`;
  };
  const shown = new Set<string>();
  const holds: { dur: number; fns: Map<string, number> }[] = [];
  let cur: { dur: number; fns: Map<string, number> } | undefined;
  profile.samples.forEach((id: number, i: number) => {
    const dt = (profile.timeDeltas[i + 1] ?? 50) / 1000;
    const name = byId.get(id).callFrame.functionName;
    if (name === "(idle)") { if (cur) holds.push(cur); cur = undefined; return; }
    cur ??= { dur: 0, fns: new Map() };
    cur.dur += dt;
    // attribute to the innermost dist/ frame (or self)
    let k = id; let lab = label(id);
    while (k !== undefined) { const l = label(k); if (l.includes("dist/")) { lab = `${label(id).split(" ")[0]} < ${l}`; break; } k = parent.get(k)!; }
    cur.fns.set(lab, (cur.fns.get(lab) ?? 0) + dt);
    const want = process.env.STACK_OF;
    if (want && name === want && !shown.has(want)) { shown.add(want); const chain = []; for (let q: number | undefined = id; q !== undefined; q = parent.get(q)) chain.push(label(q)); console.log(`stack of ${want}:\n    ${chain.join("\n    ")}`); }
  });
  const long = holds.filter((h) => h.dur >= 1).sort((a, b) => b.dur - a.dur);
  const busy = holds.reduce((a, h) => a + h.dur, 0);
  console.log(`\n== ${layer}: health p50 ${ms(pct(health.lat, 0.5))} p99 ${ms(pct(health.lat, 0.99))} max ${ms(Math.max(...health.lat))}; busy ${busy.toFixed(0)} ms in ${secs}s; holds>=1ms ${long.length}, >=2ms ${long.filter((h) => h.dur >= 2).length}, sum(>=1ms) ${long.reduce((a, h) => a + h.dur, 0).toFixed(0)} ms`);
  const agg = new Map<string, number>();
  for (const h of long) for (const [f, t] of h.fns) agg.set(f, (agg.get(f) ?? 0) + t);
  for (const [f, t] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${t.toFixed(1).padStart(7)} ms  ${f}`);
  for (const h of long.slice(0, 6)) console.log(`  hold ${h.dur.toFixed(2)} ms: ${[...h.fns].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([f, t]) => `${f.split(" < ")[1] ?? f} ${t.toFixed(2)}`).join(" | ")}`);
}
prober.close(); writer.close();
await s.close();
process.exit(0);
