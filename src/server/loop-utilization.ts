import { performance } from "node:perf_hooks";

/**
 * Whether the event loop was busier than `percent` % over roughly the last `windowMs`–2×`windowMs`
 * (its utilization: time running callbacks over elapsed time, from libuv's idle counter; a
 * stretch in progress counts as busy). Cheap enough for every call of the request path: two
 * counter reads, no timer. 100 % is never exceeded: the probe then always answers false.
 */
export function loopBusy(percent: number, windowMs = 100): () => boolean {
  if (percent >= 100) return () => false;
  let from = performance.eventLoopUtilization();
  let mid = from;
  return () => {
    const now = performance.eventLoopUtilization();
    // Roll the window: measure from the snapshot one window back, at least `windowMs` of history.
    if (now.idle + now.active - (mid.idle + mid.active) >= windowMs) {
      from = mid;
      mid = now;
    }
    return performance.eventLoopUtilization(now, from).utilization * 100 > percent;
  };
}
