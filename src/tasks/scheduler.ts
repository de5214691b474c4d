import { type Leadership, SoleLeadership } from "../core/platform/leadership.js";

/** A background task: a name and the work of one run. */
export interface Task {
  readonly name: string;
  /** Milliseconds between runs. */
  readonly everyMs: number;
  /** Also runs as soon as this process leads (work a previous leader left unfinished: erasures). */
  readonly atLead?: boolean;
  /**
   * Called when this process stops leading, and at stop, after a period of leading: work the
   * task holds open between its runs (the federation link's socket) ends there. Awaited by `stop`.
   */
  readonly atUnlead?: () => Promise<void>;
  run(): Promise<unknown>;
}

/** How a task run went, for logs and metrics. */
export interface TaskRun {
  readonly name: string;
  readonly ms: number;
  readonly error?: unknown;
}

/** Options of the scheduler. */
export interface SchedulerOptions {
  /** Called after every run (logs, metrics). */
  readonly onRun?: (r: TaskRun) => void;
  /** Who may run timed tasks (default: this process alone, always). */
  readonly leadership?: Leadership;
  /** Called when this process gains or loses the leadership. */
  readonly onLeadership?: (leader: boolean) => void;
  /** Where a wake-up goes while another process leads (macronode: a signal to the leader). */
  readonly forwardWake?: (name: string, delayMs: number) => void;
}

/**
 * Runs background tasks on timers while this process leads (always in a micronode; in a
 * macronode only the holder of the leader lease, so a task never runs on two gateways at once).
 * A task never overlaps itself; `runNow` lets tests and operators run one at once. A wake-up
 * that arrives while its task runs is never dropped: the task runs once more right after (the
 * run in progress may have read its work before the wake-up's reason existed), and the
 * wake-ups of one run share that one rerun. Timers are unref'd so they never keep the process
 * alive.
 */
export class Scheduler {
  readonly #tasks = new Map<string, Task>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<void>>();
  /** Tasks woken during their run: each runs once more when that run ends. */
  readonly #again = new Set<string>();
  /** The run promised to runNow callers who asked while a run was in progress. */
  readonly #queued = new Map<string, Promise<void>>();
  /** The tasks' `atUnlead` work in progress (awaited at stop). */
  readonly #unleading = new Set<Promise<void>>();
  /** Pending wake-up timers (cleared at stop). */
  readonly #wakes = new Set<NodeJS.Timeout>();
  readonly #onRun: (r: TaskRun) => void;
  readonly #leadership: Leadership;
  readonly #onLeadership: (leader: boolean) => void;
  readonly #forwardWake: ((name: string, delayMs: number) => void) | undefined;
  #started = false;
  #stopping = false;
  #leading = false;

  constructor(opts: SchedulerOptions = {}) {
    this.#onRun = opts.onRun ?? (() => {});
    this.#leadership = opts.leadership ?? new SoleLeadership();
    this.#onLeadership = opts.onLeadership ?? (() => {});
    this.#forwardWake = opts.forwardWake;
  }

  /** Whether this process runs the timed tasks right now. */
  get leading(): boolean {
    return this.#leading;
  }

  /** Registers a task (before or after start). */
  add(task: Task): void {
    this.#tasks.set(task.name, task);
    if (this.#leading) this.#arm(task);
  }

  /** Starts campaigning; every task's timer runs while this process leads. */
  start(): void {
    this.#started = true;
    this.#stopping = false;
    this.#leadership.start((leader) => {
      this.#leading = leader;
      if (leader) for (const t of this.#tasks.values()) this.#arm(t);
      else this.#disarm();
      this.#onLeadership(leader);
    });
  }

  /**
   * Runs a task now; while it runs, a run that starts after this call: the one run right after
   * the run in progress (every caller meanwhile shares it). A caller never gets a run that began
   * before it asked — that run may have missed what the caller just wrote (a lethe entry that
   * fell due as a test advanced its clock while a wake-up's run was in progress).
   */
  runNow(name: string): Promise<void> {
    if (!this.#tasks.has(name)) return Promise.reject(new Error(`no task ${name}`));
    const current = this.#running.get(name);
    if (!current) return this.#start(name);
    const queued = this.#queued.get(name);
    if (queued) return queued;
    const next = current.then(() => {
      this.#queued.delete(name);
      if (this.#stopping) return;
      // A wake-up's rerun may have started as the run ended: it began after this call too.
      return this.#running.get(name) ?? this.#start(name);
    });
    this.#queued.set(name, next);
    return next;
  }

  #start(name: string): Promise<void> {
    const task = this.#tasks.get(name) as Task;
    const started = performance.now();
    const run = task
      .run()
      .then(
        () => this.#onRun({ name, ms: performance.now() - started }),
        (error: unknown) => this.#onRun({ name, ms: performance.now() - started, error }),
      )
      .finally(() => {
        this.#running.delete(name);
        // Woken while it ran: once more now (the rerun is in #running before any caller of this run resumes).
        if (this.#again.delete(name) && this.#started && this.#leading) void this.#start(name);
      });
    this.#running.set(name, run);
    return run;
  }

  /**
   * Runs `name` once after `delayMs` (e.g. when the next lethe publication falls due), here if
   * this process leads, else on the leader through `forwardWake`. If the task is running when
   * the time comes, it runs again right after that run (one rerun for every wake-up meanwhile).
   */
  wake(name: string, delayMs: number): void {
    if (!this.#started) return;
    if (!this.#leading) {
      this.#forwardWake?.(name, delayMs);
      return;
    }
    const t = setTimeout(
      () => {
        this.#wakes.delete(t);
        if (!this.#started) return;
        // Leadership moved on while waiting: the wake-up goes to the new leader instead of being lost.
        if (!this.#leading) return void this.#forwardWake?.(name, 0);
        if (this.#running.has(name)) this.#again.add(name);
        else void this.#start(name);
      },
      Math.max(0, Math.min(delayMs, 2 ** 31 - 1)),
    );
    t.unref();
    this.#wakes.add(t);
  }

  /** Stops the timers, gives up the leadership and waits for runs in progress. */
  async stop(): Promise<void> {
    this.#started = false;
    this.#stopping = true;
    this.#disarm();
    for (const t of this.#wakes) clearTimeout(t);
    this.#wakes.clear();
    this.#again.clear();
    await this.#leadership.stop();
    await Promise.all([...this.#running.values(), ...this.#queued.values(), ...this.#unleading]);
  }

  #arm(task: Task): void {
    if (this.#timers.has(task.name)) return;
    // A tick during a run joins it: a task slower than its period does not run back to back.
    const t = setInterval(() => void (this.#running.get(task.name) ?? this.#start(task.name)), task.everyMs);
    t.unref();
    this.#timers.set(task.name, t);
    if (task.atLead && !this.#running.has(task.name)) void this.#start(task.name);
  }

  #disarm(): void {
    for (const [name, t] of this.#timers) {
      clearInterval(t);
      const unlead = this.#tasks.get(name)?.atUnlead;
      if (!unlead) continue;
      const p = unlead().catch((error: unknown) => this.#onRun({ name, ms: 0, error }));
      this.#unleading.add(p);
      void p.finally(() => this.#unleading.delete(p));
    }
    this.#timers.clear();
  }
}
