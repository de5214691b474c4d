// TEMPORARY instrumentation (to be removed): STYX_TRACE_FILE=path records per-event server timings.
import { writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";

const file = process.env.STYX_TRACE_FILE;
const rows: number[][] = [];
const gcs: number[][] = [];
const now = () => performance.timeOrigin + performance.now();
export const tracing = file !== undefined;
let lastRecv = 0;
export function traceRecv(): void {
  if (tracing) lastRecv = now();
}
let cpu0 = 0;
let r0: NodeJS.ResourceUsage | undefined;
const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
export function traceStored(): number {
  if (tracing) {
    cpu0 = cpuNow();
    r0 = process.resourceUsage();
  }
  return tracing ? now() : 0;
}
export function traceDispatch(payloadJson: string, t0: number, stored: number): void {
  if (!tracing) return;
  const m = /"n":(\d+)/.exec(payloadJson);
  const r = process.resourceUsage();
  const a = r0 as NodeJS.ResourceUsage;
  rows.push([
    m ? Number(m[1]) : -1,
    lastRecv,
    stored,
    t0,
    now(),
    cpuNow() - cpu0,
    (r.userCPUTime - a.userCPUTime) / 1000,
    (r.systemCPUTime - a.systemCPUTime) / 1000,
    r.voluntaryContextSwitches - a.voluntaryContextSwitches,
    r.involuntaryContextSwitches - a.involuntaryContextSwitches,
    r.minorPageFault - a.minorPageFault,
  ]);
}
if (tracing) {
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs.push([performance.timeOrigin + e.startTime, e.duration, (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0]);
  });
  obs.observe({ entryTypes: ["gc"] });
  process.on("exit", () => writeFileSync(file as string, JSON.stringify({ rows, gcs })));
}
