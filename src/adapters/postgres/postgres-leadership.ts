import postgres from "postgres";
import type { Leadership } from "../../core/platform/leadership.js";

/** Options of PostgresLeadership. */
export interface PostgresLeadershipOptions {
  readonly url: string;
  /** Names the lease; gateways of one cluster share it (e.g. `styx-leader:<cluster>`). */
  readonly key: string;
  /** How often a follower tries for the lease and the leader checks its connection (ms, default 3,000). */
  readonly campaignMs?: number;
  /** Reports a failed campaign or check (the campaign goes on). */
  readonly onError?: (err: unknown) => void;
}

/**
 * Leadership through a session-level PostgreSQL advisory lock held on a connection of its own.
 * The lock lives exactly as long as that connection: when the leader dies (even by kill -9)
 * the server drops its session and the lock, and a follower wins at its next campaign, within
 * `campaignMs`. The leader steps down the moment its connection closes or a check fails, so
 * it never believes it leads once the server may have handed the lock on.
 */
export class PostgresLeadership implements Leadership {
  readonly #sql: postgres.Sql;
  readonly #key: string;
  readonly #campaignMs: number;
  readonly #onError: (err: unknown) => void;
  #onChange: (leader: boolean) => void = () => {};
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  #busy = false;
  #stopped = false;

  constructor(opts: PostgresLeadershipOptions) {
    this.#key = opts.key;
    this.#campaignMs = opts.campaignMs ?? 3000;
    this.#onError = opts.onError ?? (() => {});
    // One connection that is never recycled: closing it would silently release the lock.
    this.#sql = postgres(opts.url, {
      max: 1,
      idle_timeout: 0,
      max_lifetime: null,
      connect_timeout: 5,
      onnotice: () => {},
      onclose: () => this.#stepDown(),
      connection: { application_name: "styx-leader" },
    });
  }

  start(onChange: (leader: boolean) => void): void {
    this.#onChange = onChange;
    this.#stopped = false;
    void this.#campaign();
    this.#timer = setInterval(() => void this.#campaign(), this.#campaignMs);
    this.#timer.unref();
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#stepDown();
    await this.#sql.end({ timeout: 2 }).catch(() => {});
  }

  async #campaign(): Promise<void> {
    if (this.#busy || this.#stopped) return;
    this.#busy = true;
    try {
      if (this.#leader) {
        await withTimeout(this.#sql`SELECT 1`, this.#campaignMs);
      } else {
        const [row] = await withTimeout(
          this.#sql<{ ok: boolean }[]>`SELECT pg_try_advisory_lock(hashtext(${this.#key})) AS ok`,
          this.#campaignMs,
        );
        if (row?.ok && !this.#stopped && !this.#leader) {
          this.#leader = true;
          this.#onChange(true);
        }
      }
    } catch (err) {
      this.#stepDown();
      this.#onError(err);
    } finally {
      this.#busy = false;
    }
  }

  #stepDown(): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#onChange(false);
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from PostgreSQL within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
