/** The log calls the composers make, in pino's `(fields, message)` form (the server's logger is one). */
export interface ProcessLog {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

type Level = keyof ProcessLog;

/** Lines held before the logger exists; past this, the oldest are dropped. */
const HELD_MAX = 100;

/**
 * The log of a process whose logger comes last: the server's Fastify instance owns it, and the
 * services it serves are built (and may log) before it. Lines logged before `attach` are held
 * (the newest 100) and written, in order, when the logger is attached.
 */
export class DeferredLog implements ProcessLog {
  #target: ProcessLog | undefined;
  #held: [Level, object, string][] = [];

  /** Hands over the logger; held lines go to it now. */
  attach(target: ProcessLog): void {
    this.#target = target;
    for (const [level, fields, msg] of this.#held) target[level](fields, msg);
    this.#held = [];
  }

  debug(fields: object, msg: string): void {
    this.#write("debug", fields, msg);
  }
  info(fields: object, msg: string): void {
    this.#write("info", fields, msg);
  }
  warn(fields: object, msg: string): void {
    this.#write("warn", fields, msg);
  }
  error(fields: object, msg: string): void {
    this.#write("error", fields, msg);
  }

  #write(level: Level, fields: object, msg: string): void {
    if (this.#target) this.#target[level](fields, msg);
    else {
      this.#held.push([level, fields, msg]);
      if (this.#held.length > HELD_MAX) this.#held.shift();
    }
  }
}

/** The `(message, error)` warning callback the services take, written to `log` as `{ err }`. */
export function warnTo(log: ProcessLog): (msg: string, err?: unknown) => void {
  return (msg, err) => log.warn({ err }, msg);
}
