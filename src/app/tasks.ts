import type { Leadership } from "../core/platform/leadership.js";
import type { Signals } from "../core/platform/signals.js";
import type { Metrics } from "../server/metrics.js";
import { Scheduler } from "../tasks/scheduler.js";
import type { ProcessLog } from "./log.js";

/** Signal topic of wake-ups forwarded to the leader: `{ task, delay_ms }`. */
export const WAKE_SIGNAL = "task-wake";

/**
 * The background-task scheduler of one process. It runs the tasks while this process leads
 * (always in a micronode; in a macronode while it holds the leader lease); every run is timed
 * into `styx_task_duration_seconds` and logged (a failure as an error, a success at debug), and
 * the leadership shows in `styx_leader` and the log. Macronode: a wake-up asked for on a gateway
 * that does not lead goes to the leader as a signal, and the leader applies the ones it hears
 * (the others ignore them).
 */
export function buildScheduler(opts: {
  leadership: Leadership;
  signals: Signals | undefined;
  metrics: Pick<Metrics, "taskDuration" | "leader">;
  log: ProcessLog;
}): Scheduler {
  const { metrics, log, signals } = opts;
  const tasks = new Scheduler({
    onRun: (r) => {
      metrics.taskDuration.observe({ task: r.name, outcome: r.error ? "error" : "ok" }, r.ms / 1000);
      if (r.error) log.error({ task: r.name, ms: r.ms, err: r.error }, "task failed");
      else log.debug({ task: r.name, ms: r.ms }, "task ran");
    },
    leadership: opts.leadership,
    onLeadership: (leader) => {
      metrics.leader.set(leader ? 1 : 0);
      log.info({ leader }, leader ? "this process now runs the background tasks" : "this process no longer runs the background tasks");
    },
    ...(signals ? { forwardWake: (name: string, delayMs: number) => signals.publish(WAKE_SIGNAL, { task: name, delay_ms: delayMs }) } : {}),
  });
  // Only the leader applies a forwarded wake-up. Every process hears every signal, its own
  // included: a follower that forwarded again what it heard made one wake-up a storm (two
  // followers re-sent each other's ~100,000 times a second, without end).
  signals?.subscribe(WAKE_SIGNAL, (p) => {
    if (tasks.leading && typeof p.task === "string" && typeof p.delay_ms === "number") tasks.wake(p.task, p.delay_ms);
  });
  return tasks;
}
