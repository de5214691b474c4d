import type { Clock } from "./clock.js";

/**
 * Fair admission of heavy work (queries, snapshots, batch writes; SPEC §12): at most
 * `concurrency` pieces run at once in the process, at most `perUser` of them for one user, and
 * the rest wait in a bounded queue per user. A freed slot goes to the next user in round-robin
 * order among users with waiting work who are under their own limit, so a user with 1,000
 * queued queries and a user with one take turns.
 *
 * While the event loop is busy (`loopBusy()`, e.g. its utilization over the last ~100 ms above a
 * threshold) and more than one user asked for heavy work within the last `CONTENDED_MS`, each
 * user runs one piece at a time whatever `perUser` says: a second piece of the same user adds
 * little throughput on a busy loop — its stretches mostly queue behind the first's — but every
 * one of its turns of the loop is one another user's request waits behind. A user alone keeps
 * `perUser` (its second piece overlaps the first's waits off the loop: the ANN worker, the disk).
 * A waiter held back this way belongs to a user with a piece running, whose end dispatches
 * again, so nothing waits on a timer.
 *
 * Every user id lives in Maps and Sets, never as a key of a plain object. Pure: no timers, no
 * promises; time comes from the Clock, the loop's state from `loopBusy`.
 */

/** The limits of a FairQueue. */
export interface FairQueueLimits {
  /** Heavy work running at once in this process (all users). */
  readonly concurrency: number;
  /** Heavy work running at once for one user. */
  readonly perUser: number;
  /** Waiting work one user may have; the next is refused (`user_queue`). */
  readonly queuePerUser: number;
  /** Waiting work of all users together; the next is refused (`queue_full`). */
  readonly queueTotal: number;
}

/** A place in the queue: started at once or later, or refused. */
export type Admission =
  | { readonly kind: "admitted"; readonly ticket: Ticket }
  | {
      readonly kind: "refused";
      /** `user_queue`: this user's own backlog is full; `queue_full`: every user's together is. */
      readonly reason: "user_queue" | "queue_full";
      /** A guess of when a retry finds room: the backlog ahead divided by the slots that serve it, times the mean run. */
      readonly retryAfterMs: number;
    };

/** One admitted piece of work. `end()` frees its slot (or its place, while it still waits); a second call does nothing. */
export interface Ticket {
  /** True once `start` was called. */
  readonly started: boolean;
  end(): void;
}

/** What the queue holds now (metrics). */
export interface FairQueueStats {
  readonly running: number;
  readonly waiting: number;
  /** Users with work running or waiting. */
  readonly users: number;
}

interface Waiter {
  readonly user: string;
  readonly at: number;
  readonly start: (waitedMs: number) => void;
  state: "waiting" | "running" | "ended";
  startedAt: number | null;
}

interface UserLine {
  running: number;
  readonly waiting: Waiter[];
}

/** Another user's request within this many ms makes the queue contended (the busy rule applies). */
export const CONTENDED_MS = 1_000;
/** Weight of the newest run time in the mean used for retry hints. */
const EWMA = 0.2;
/** Retry hints stay within [MIN, MAX] ms. */
const MIN_RETRY_MS = 50;
const MAX_RETRY_MS = 60_000;

/** The fair scheduler of heavy work (see the file comment). */
export class FairQueue {
  readonly #limits: FairQueueLimits;
  readonly #clock: Clock;
  readonly #users = new Map<string, UserLine>();
  /** Users with waiting work, in turn order (a Set keeps insertion order); one at its own limit is passed over. */
  readonly #turns = new Set<string>();
  readonly #loopBusy: () => boolean;
  /** The two most recent distinct users to ask for a slot, newest first, and when. */
  #recent: { user: string; at: number }[] = [];
  #running = 0;
  #waiting = 0;
  /** Mean run time in ms (exponentially weighted), for retry hints. */
  #meanRunMs = 100;

  /** `loopBusy`: whether the event loop is busy now (default: never, so `perUser` always holds). */
  constructor(limits: FairQueueLimits, clock: Clock, loopBusy: () => boolean = () => false) {
    for (const [k, v] of Object.entries(limits))
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`FairQueue: ${k} must be a positive integer (got ${v})`);
    this.#limits = limits;
    this.#clock = clock;
    this.#loopBusy = loopBusy;
  }

  /**
   * Asks for a slot for `user`'s work. `start(waitedMs)` is called once the work may run: before
   * `enter` returns when a slot is free, else from a later `end()` of other work. The caller
   * calls `ticket.end()` when the work is over, or when its client left before it started.
   */
  enter(user: string, start: (waitedMs: number) => void): Admission {
    this.#seen(user);
    const line = this.#users.get(user);
    const waitingOfUser = line?.waiting.length ?? 0;
    const free = this.#running < this.#limits.concurrency && waitingOfUser === 0 && (line?.running ?? 0) < this.#userCap();
    if (!free) {
      if (waitingOfUser >= this.#limits.queuePerUser)
        return { kind: "refused", reason: "user_queue", retryAfterMs: this.#hint(waitingOfUser, this.#limits.perUser) };
      if (this.#waiting >= this.#limits.queueTotal)
        return { kind: "refused", reason: "queue_full", retryAfterMs: this.#hint(this.#waiting, this.#limits.concurrency) };
    }
    const w: Waiter = { user, at: this.#clock.now(), start, state: "waiting", startedAt: null };
    const own = line ?? { running: 0, waiting: [] };
    if (!line) this.#users.set(user, own);
    const ticket: Ticket = {
      get started() {
        return w.startedAt !== null;
      },
      end: () => this.#end(w),
    };
    if (free) this.#run(own, w);
    else {
      own.waiting.push(w);
      this.#waiting++;
      this.#turns.add(user);
    }
    return { kind: "admitted", ticket };
  }

  /** Running and waiting work now. */
  stats(): FairQueueStats {
    return { running: this.#running, waiting: this.#waiting, users: this.#users.size };
  }

  #run(line: UserLine, w: Waiter): void {
    w.state = "running";
    const now = this.#clock.now();
    w.startedAt = now;
    line.running++;
    this.#running++;
    w.start(now - w.at);
  }

  #end(w: Waiter): void {
    const line = this.#users.get(w.user);
    if (w.state === "ended" || !line) return;
    if (w.state === "waiting") {
      line.waiting.splice(line.waiting.indexOf(w), 1);
      this.#waiting--;
      if (line.waiting.length === 0) this.#turns.delete(w.user);
    } else {
      const took = this.#clock.now() - (w.startedAt ?? this.#clock.now());
      this.#meanRunMs += EWMA * (took - this.#meanRunMs);
      line.running--;
      this.#running--;
      // Its turn was taken: back to the end of the order, behind users that waited meanwhile.
      if (this.#turns.delete(w.user)) this.#turns.add(w.user);
    }
    w.state = "ended";
    if (line.running === 0 && line.waiting.length === 0) this.#users.delete(w.user);
    this.#dispatch();
  }

  /** Pieces one user may run at once now: `perUser`, or one while users contend for a busy loop. */
  #userCap(): number {
    const other = this.#recent[1];
    const contended = other !== undefined && this.#clock.now() - other.at < CONTENDED_MS;
    return contended && this.#loopBusy() ? 1 : this.#limits.perUser;
  }

  #seen(user: string): void {
    const at = this.#clock.now();
    const newest = this.#recent[0];
    if (newest?.user === user) newest.at = at;
    else this.#recent = newest ? [{ user, at }, newest] : [{ user, at }];
  }

  /** Fills free slots, one piece per user in turn, passing over users at their own limit. */
  #dispatch(): void {
    if (this.#turns.size === 0) return;
    const cap = this.#userCap();
    let started = true;
    while (started && this.#running < this.#limits.concurrency) {
      started = false;
      for (const user of [...this.#turns]) {
        if (this.#running >= this.#limits.concurrency) return;
        const line = this.#users.get(user) as UserLine;
        if (line.running >= cap) continue; // its own running piece's end dispatches again
        this.#turns.delete(user);
        const w = line.waiting.shift() as Waiter;
        this.#waiting--;
        // Back to the end of the turn order while it still has work waiting.
        if (line.waiting.length > 0) this.#turns.add(user);
        this.#run(line, w);
        started = true;
      }
    }
  }

  #hint(backlog: number, slots: number): number {
    return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, Math.ceil((this.#meanRunMs * backlog) / slots)));
  }
}
