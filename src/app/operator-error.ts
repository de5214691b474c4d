/**
 * An operator's request (a `styx` command) that cannot run as asked: amnesia has no store, no
 * database where the data dir points, a setting it needs is missing. The message says what to do.
 */
export class OperatorError extends Error {
  override readonly name = "OperatorError";
}
