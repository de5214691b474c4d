/**
 * Fair turns of the event loop between users' heavy work (SPEC §12, §14: one user's flood leaves
 * another user's p95/p99 within 3× of alone). Paced work (a query's reads and scoring, a snapshot
 * page's reads and serialization) hands the loop back between slices; with a plain `setImmediate`
 * every paused piece resumes in the next turn in arrival order, so each of a light user's slices
 * waits behind a slice of every piece of a flooding user's, turn after turn. Here a paused piece
 * waits in its user's line, and one piece resumes per turn: the one of the user with the least
 * heavy work done recently (time on the loop between pauses, decayed with `TAU_MS`). A user who
 * has been flooding yields its turns to one who has not; two users flooding alike alternate, and
 * nobody starves (a user served first soon has the larger recent share). Between two resumptions
 * the loop reads its sockets, so requests that are not paced work go on as before.
 *
 * What is charged: a piece's time from its start or resumption to its next pause (its first such
 * stretch may include a wait, e.g. for the ANN worker); not its last stretch, nor unpaced work
 * (a batch write's transaction, body parsing). A piece's pauses must be finite (they are: reads
 * and slices of bounded work), since a piece charged nothing keeps its user first.
 *
 * Every user id lives in a Map, never as a key of a plain object.
 */

/** Time constant of the decay of a user's recent heavy time (it falls to 1/e in this many ms). */
export const TAU_MS = 1_000;

interface Usage {
  ms: number;
  at: number;
}

interface Waiting {
  readonly lane: LaneState;
  readonly resume: () => void;
}

interface LaneState {
  readonly user: string;
  /** When this piece last resumed (or started): its time on the loop since is charged at its next pause. */
  since: number;
}

/** A piece of one user's work: `pause()` hands the loop back and resumes in the user's fair turn. */
export interface Lane {
  pause(): Promise<void>;
}

/** The scheduler (one per process: there is one event loop). */
export class FairTurns {
  readonly #now: () => number;
  readonly #defer: (run: () => void) => void;
  /** Recent heavy time by user (decayed); dropped once negligible. */
  readonly #usage = new Map<string, Usage>();
  /** Paused pieces by user, oldest first. */
  readonly #waiting = new Map<string, Waiting[]>();
  #scheduled = false;
  #turns = 0;

  /** `defer`: runs its argument in a later turn of the loop (default `setImmediate`). */
  constructor(now: () => number = () => performance.now(), defer: (run: () => void) => void = (run) => setImmediate(run)) {
    this.#now = now;
    this.#defer = defer;
  }

  /** A new piece of `user`'s work, started now. */
  lane(user: string): Lane {
    const state: LaneState = { user, since: this.#now() };
    return { pause: () => this.#pause(state) };
  }

  /** The user's recent heavy time now, ms (decayed). */
  usage(user: string): number {
    const u = this.#usage.get(user);
    return u ? u.ms * Math.exp(-(this.#now() - u.at) / TAU_MS) : 0;
  }

  /** Pieces paused now. */
  get waiting(): number {
    let n = 0;
    for (const w of this.#waiting.values()) n += w.length;
    return n;
  }

  #pause(lane: LaneState): Promise<void> {
    this.#charge(lane.user, this.#now() - lane.since);
    return new Promise<void>((resume) => {
      const line = this.#waiting.get(lane.user);
      if (line) line.push({ lane, resume });
      else this.#waiting.set(lane.user, [{ lane, resume }]);
      this.#schedule();
    });
  }

  #charge(user: string, ms: number): void {
    const now = this.#now();
    const u = this.#usage.get(user);
    if (u) {
      u.ms = u.ms * Math.exp(-(now - u.at) / TAU_MS) + ms;
      u.at = now;
    } else this.#usage.set(user, { ms, at: now });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#defer(() => this.#turn());
  }

  /** Resumes one piece: the oldest of the user with the least recent heavy time. */
  #turn(): void {
    this.#scheduled = false;
    let best: string | undefined;
    let least = Number.POSITIVE_INFINITY;
    for (const user of this.#waiting.keys()) {
      const u = this.usage(user);
      if (u < least) {
        least = u;
        best = user;
      }
    }
    if (best === undefined) return;
    const line = this.#waiting.get(best) as Waiting[];
    const next = line.shift() as Waiting;
    if (line.length === 0) this.#waiting.delete(best);
    this.#forget();
    if (this.#waiting.size > 0) this.#schedule();
    next.lane.since = this.#now();
    next.resume();
  }

  /** Drops the usage of users with nothing paused whose recent time has decayed to nothing (bounded memory). */
  #forget(): void {
    if (++this.#turns % 256 !== 0 || this.#usage.size < 64) return;
    for (const user of this.#usage.keys()) if (!this.#waiting.has(user) && this.usage(user) < 0.01) this.#usage.delete(user);
  }
}

/** This process's scheduler. */
export const fairTurns = new FairTurns();
