/** The state of one dependency as reported by `/v1/styx/health` and `styx doctor`. */
export interface DependencyStatus {
  readonly status: "up" | "down";
  /** Round-trip time of the check in milliseconds. */
  readonly latency_ms: number;
  /** Short operator-facing detail (what it is, or why it is down); never a secret. */
  readonly detail?: string;
}

/** A dependency the server needs; checked on demand, cheaply. */
export interface DependencyCheck {
  readonly name: string;
  /** Resolves with the status; must not throw and should finish within a second. */
  check(): Promise<DependencyStatus>;
}

/** Runs a probe and turns its outcome (or exception) into a DependencyStatus. */
export async function probe(fn: () => Promise<string | undefined> | string | undefined): Promise<DependencyStatus> {
  const start = performance.now();
  try {
    const detail = await fn();
    const latency_ms = round(performance.now() - start);
    return detail === undefined ? { status: "up", latency_ms } : { status: "up", latency_ms, detail };
  } catch (err) {
    return { status: "down", latency_ms: round(performance.now() - start), detail: (err as Error).message };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
