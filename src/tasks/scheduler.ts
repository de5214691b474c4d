/** A background task: a name and the work of one run. */
export interface Task {
  readonly name: string;
  /** Milliseconds between runs. */
  readonly everyMs: number;
  run(): Promise<unknown>;
}

/** How a task run went, for logs and metrics. */
export interface TaskRun {
  readonly name: string;
  readonly ms: number;
  readonly error?: unknown;
}

/**
 * Runs background tasks on timers in this process (the macronode adds a leader lock around
 * `start`). A task never overlaps itself; `runNow` lets tests and wake-ups run one at once.
 * Timers are unref'd so they never keep the process alive.
 */
export class Scheduler {
  readonly #tasks = new Map<string, Task>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #onRun: (r: TaskRun) => void;
  #started = false;

  constructor(onRun: (r: TaskRun) => void = () => {}) {
    this.#onRun = onRun;
  }

  /** Registers a task (before or after start). */
  add(task: Task): void {
    this.#tasks.set(task.name, task);
    if (this.#started) this.#arm(task);
  }

  /** Starts every task's timer. */
  start(): void {
    this.#started = true;
    for (const t of this.#tasks.values()) this.#arm(t);
  }

  /** Runs a task now (or joins the run in progress). */
  runNow(name: string): Promise<void> {
    const task = this.#tasks.get(name);
    if (!task) return Promise.reject(new Error(`no task ${name}`));
    const current = this.#running.get(name);
    if (current) return current;
    const started = performance.now();
    const run = task
      .run()
      .then(
        () => this.#onRun({ name, ms: performance.now() - started }),
        (error: unknown) => this.#onRun({ name, ms: performance.now() - started, error }),
      )
      .finally(() => this.#running.delete(name));
    this.#running.set(name, run);
    return run;
  }

  /** Runs `name` once after `delayMs` (e.g. when the next lethe publication falls due). */
  wake(name: string, delayMs: number): void {
    if (!this.#started) return;
    const t = setTimeout(() => void this.runNow(name), Math.max(0, Math.min(delayMs, 2 ** 31 - 1)));
    t.unref();
  }

  /** Stops the timers and waits for runs in progress. */
  async stop(): Promise<void> {
    this.#started = false;
    for (const t of this.#timers.values()) clearInterval(t);
    this.#timers.clear();
    await Promise.all(this.#running.values());
  }

  #arm(task: Task): void {
    const t = setInterval(() => void this.runNow(task.name), task.everyMs);
    t.unref();
    this.#timers.set(task.name, t);
  }
}
