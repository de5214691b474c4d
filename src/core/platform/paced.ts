/**
 * Long work on the event loop, handed back in slices (SPEC §12: no request stalls the loop).
 * The work is a generator that yields often; `runPaced` lets it run until `sliceMs` has passed,
 * then pauses for a turn of the loop, so every other socket is read in between. `runSync` runs
 * the same generator at once, for inputs known to be short.
 */

/** Hands the event loop back for one turn: a macrotask after I/O, so sockets are read in between. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs a generator to its end without pausing (for short inputs); returns its value. */
export function runSync<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Longest run between two hand-backs of the event loop in `runPaced`, in ms. */
export const SLICE_MS = 1;

/**
 * Runs a generator to its end, handing the event loop back (`pause`) whenever `sliceMs` has
 * passed since the last time: the generator yields often, and the clock decides. By default the
 * first slice waits for two pauses (`leadPauses`): a run started from an I/O callback would
 * otherwise take its first slice in the same turn of the loop, right after that callback's own
 * work (with `setImmediate`, the check phase follows the poll phase before any new I/O is read).
 * A run that follows a short piece of work of its own (a query's last read) starts at once.
 */
export async function runPaced<T>(steps: Generator<void, T>, pause: () => Promise<void>, sliceMs = SLICE_MS, leadPauses = 2): Promise<T> {
  for (let i = 0; i < leadPauses; i++) await pause();
  let since = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - since >= sliceMs) {
      await pause();
      since = performance.now();
    }
  }
}
