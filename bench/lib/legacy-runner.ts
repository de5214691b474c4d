/**
 * Runs the old regex scrubber (bench/lib/legacy-scrub.ts) in a child process, one input at a
 * time, and kills the child when an input takes longer than the cap (a backtracking regex
 * cannot be interrupted from inside its own thread): bench/scrub.ts's baseline.
 */
import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { nowMs } from "./common.js";
import { scrubText } from "./legacy-scrub.js";

/** One input's baseline: the time of each run (ms), or `undefined` when the first run passed the cap. */
export interface LegacyResult {
  readonly times: number[] | undefined;
}

interface Task {
  readonly text: string;
  readonly identifiers: readonly string[];
  /** Runs after the first one, if the first took less than a second. */
  readonly repeat: number;
}

/** Times `scrubText` on each input (in order), each in a killable child, at most `capMs` for its first run. */
export async function legacyTimes(inputs: readonly Task[], capMs: number): Promise<LegacyResult[]> {
  const out: LegacyResult[] = [];
  let child: ChildProcess | undefined;
  for (const task of inputs) {
    child ??= fork(fileURLToPath(import.meta.url), ["--child"], { execArgv: ["--import", "tsx"] });
    const c = child;
    const times = await new Promise<number[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        c.kill("SIGKILL");
        resolve(undefined);
      }, capMs);
      c.once("message", (r) => {
        clearTimeout(timer);
        resolve(r as number[]);
      });
      c.send(task);
    });
    if (times === undefined) child = undefined;
    out.push({ times });
  }
  if (child?.connected) child.disconnect();
  return out;
}

if (process.argv.includes("--child")) {
  process.on("message", (task: Task) => {
    const times: number[] = [];
    for (let r = 0; r <= task.repeat; r++) {
      const t = nowMs();
      scrubText(task.text, task.identifiers);
      times.push(nowMs() - t);
      if ((times[0] as number) >= 1000) break;
    }
    process.send?.(times);
  });
}
