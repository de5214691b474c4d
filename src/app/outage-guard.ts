import { StyxError } from "../core/platform/errors.js";

/** Recognises the errors a client library raises when its service is unreachable. */
export type OutageTest = (err: unknown) => boolean;

/**
 * Wraps a store so that a backing service being down reaches clients as 503
 * `STYX_DEPENDENCY_UNAVAILABLE` with `Retry-After`, not as an internal error: every method
 * returning a promise has its rejections checked with `isOutage`. Other errors (conflicts,
 * validation) pass through unchanged, and so do synchronous results and async iterables.
 */
export function guardOutages<T extends object>(target: T, service: string, isOutage: OutageTest): T {
  return new Proxy(target, {
    // Setters (e.g. a bus's onError) run on the target too.
    set(obj, prop, value) {
      return Reflect.set(obj, prop, value);
    },
    get(obj, prop) {
      // The target itself as receiver: getters and methods reach its #private fields.
      const value = Reflect.get(obj, prop) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => unknown).apply(obj, args);
        if (!(out instanceof Promise)) return out;
        return out.catch((err: unknown) => {
          if (err instanceof StyxError || !isOutage(err)) throw err;
          throw new StyxError("STYX_DEPENDENCY_UNAVAILABLE", `${service} is unavailable; retry shortly.`, {
            cause: err,
            retryAfterSeconds: 1,
          });
        });
      };
    },
  });
}

/** Node's socket-level failures, raised by every client when a server goes away. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** Whether `err` (or its cause) is a socket-level failure. */
export function isSocketFailure(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === "string" && SOCKET_CODES.has(e.code)) return true;
  }
  return false;
}
