import type { DependencyCheck } from "../core/platform/health.js";

const DRIFT_STEP_MS = 50;

/** What the server accepts right now. */
export interface LoadState {
  readonly acceptingWrites: boolean;
  readonly acceptingReads: boolean;
  /** Why something is shed, e.g. `event_loop_lag 812ms > 250ms`. */
  readonly reasons: readonly string[];
}

/** Options of the load monitor. */
export interface LoadMonitorOptions {
  /** Event-loop lag (worst over the last window) above which writes are shed; reads at 4×. */
  readonly maxLagMs: number;
  /** In-flight requests above which writes are shed; reads at 2×. */
  readonly maxInflight: number;
  /** Returns the current in-flight count. */
  readonly inflight: () => number;
  /** Dependencies whose failure sheds writes. */
  readonly dependencies: readonly DependencyCheck[];
  /** How often lag and dependencies are sampled (ms). Default 1000. */
  readonly intervalMs?: number;
}

/**
 * Decides load shedding: writes go first (event-loop lag, in-flight requests, a dependency
 * down) so reads keep working; reads are shed only under severe overload. Sampling runs on
 * an unref'd timer, so the request path reads a cached state.
 */
export class LoadMonitor {
  readonly #opts: LoadMonitorOptions;
  #timer: NodeJS.Timeout | undefined;
  #drift: NodeJS.Timeout | undefined;
  #lastTick = performance.now();
  #windowLagMs = 0;
  #lagMs = 0;
  /** The worst lag of the window before (a sample that lands right after a stall must not hide it). */
  #prevLagMs = 0;
  #depsDown: string[] = [];
  /** Each dependency's state at the last sample: true while up. */
  #deps: ReadonlyMap<string, boolean> = new Map();

  constructor(opts: LoadMonitorOptions) {
    this.#opts = opts;
  }

  /** Starts sampling. */
  start(): void {
    // Lag is the drift of a 50 ms timer: how late the loop ran it. (perf_hooks' histogram drops
    // the first interval after each reset, which is exactly where a stall shows up.)
    this.#lastTick = performance.now();
    this.#drift = setInterval(() => {
      const now = performance.now();
      this.#windowLagMs = Math.max(this.#windowLagMs, now - this.#lastTick - DRIFT_STEP_MS);
      this.#lastTick = now;
    }, DRIFT_STEP_MS);
    this.#drift.unref();
    this.#timer = setInterval(() => void this.sample(), this.#opts.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#drift) clearInterval(this.#drift);
  }

  /** Takes one sample of lag (worst drift since the last sample) and dependencies now. */
  async sample(): Promise<void> {
    this.#prevLagMs = this.#lagMs;
    this.#lagMs = Math.max(0, this.#windowLagMs);
    this.#windowLagMs = 0;
    const results = await Promise.all(this.#opts.dependencies.map(async (d) => [d.name, await d.check()] as const));
    this.#depsDown = results.filter(([, s]) => s.status === "down").map(([n]) => n);
    this.#deps = new Map(results.map(([n, s]) => [n, s.status === "up"]));
  }

  /** Each dependency's state at the last sample (true: up); empty before the first. */
  dependencies(): ReadonlyMap<string, boolean> {
    return this.#deps;
  }

  /** The current decision. */
  state(): LoadState {
    const { maxLagMs, maxInflight } = this.#opts;
    const inflight = this.#opts.inflight();
    const reasons: string[] = [];
    // Two samplers (the timer, and tests or operators calling sample()) may split one stall's
    // window: a stall counts until two samples have passed since it.
    const lag = Math.max(this.#lagMs, this.#prevLagMs);
    let writes = true;
    let reads = true;
    if (lag > maxLagMs) {
      writes = false;
      reasons.push(`event_loop_lag ${Math.round(lag)}ms > ${maxLagMs}ms`);
      if (lag > 4 * maxLagMs) reads = false;
    }
    if (inflight > maxInflight) {
      writes = false;
      reasons.push(`inflight ${inflight} > ${maxInflight}`);
      if (inflight > 2 * maxInflight) reads = false;
    }
    for (const name of this.#depsDown) {
      writes = false;
      reasons.push(`dependency ${name} down`);
    }
    return { acceptingWrites: writes, acceptingReads: reads, reasons };
  }
}
