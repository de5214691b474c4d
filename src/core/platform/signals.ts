/**
 * Broadcasts between the processes of one Styx (macronode gateways): vector-index updates,
 * task wake-ups. At most once and unordered across topics, with no history: a process that was
 * away catches up from the stores, never from signals.
 * Obligations: a process also receives its own signals (handlers that must skip them compare
 * `origin`); `publish` never throws (a lost signal is allowed).
 */
export interface Signals {
  /** This process's id, carried as `origin` by each of its signals. */
  readonly origin: string;
  publish(topic: string, payload: Record<string, unknown>): void;
  /** Calls `handler` for every later signal of `topic`; returns the unsubscribe function. */
  subscribe(topic: string, handler: (payload: Record<string, unknown>, origin: string) => void): () => void;
}
