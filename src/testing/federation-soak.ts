import { join } from "node:path";
import { openDatabase } from "../adapters/sqlite/database.js";
import { DATABASE_FILE } from "../app/storage.js";
import { domainStream, federationStream } from "../core/fabric/streams.js";
import { call, type QuietServer, spawnQuietServer } from "./chaos-kit.js";

/**
 * The parts of the federation soak (test/chaos/federation-soak.test.ts): one Styx process that
 * can be killed and restarted on its data dir and port (so its URL, instance id and state
 * survive), a steady deposit load that tells apart what was acknowledged, what was refused
 * while the process was down and what was in flight when it was killed, and the ledger read
 * read-only from each SQLite file at the end (claims, relayed records, announced deposits).
 */

/** The admin token of both processes. */
export const SOAK_ADMIN = "federation-soak-admin-token-00001";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One side of the link (U or D): a `styx serve` child with its own data dir, on a fixed port. */
export class SoakNode {
  server: QuietServer | undefined;
  /** Bumped at each kill: a request started before it and failing after it was in flight at the kill. */
  generation = 0;

  constructor(
    readonly name: string,
    readonly dataDir: string,
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get up(): boolean {
    return this.server !== undefined;
  }

  /** Starts the process on its data dir and port; resolves once it answers health. */
  async start(): Promise<void> {
    this.server = await spawnQuietServer(
      {
        STYX_DATA_DIR: this.dataDir,
        HOME: this.dataDir,
        STYX_ADMIN_TOKEN: SOAK_ADMIN,
        STYX_RATE_LIMIT: "1000000/s:1000000",
        STYX_IP_RATE_LIMIT: "1000000/s:1000000",
        ...this.env,
      },
      { port: this.port },
    );
  }

  /** Ends the process with `signal` (SIGTERM: a clean stop; SIGKILL: a crash) and waits for it to exit. */
  async kill(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    this.generation++;
    s.proc.kill(signal);
    const code = await Promise.race([s.exited, sleep(30_000).then(() => "timeout")]);
    if (code === "timeout") {
      s.proc.kill("SIGKILL");
      await s.exited;
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: the admin view is arbitrary JSON
  async admin(method: string, path: string, body?: unknown): Promise<any> {
    const r = await call(this.url, method, path, SOAK_ADMIN, body);
    if (r.status >= 300) throw new Error(`${this.name} ${method} ${path}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.json;
  }

  /** Runs `read` on a read-only connection to this node's SQLite file (the process may be running: WAL readers do not block it). */
  read<T>(read: (db: ReturnType<typeof openDatabase>) => T): T {
    const db = openDatabase(join(this.dataDir, DATABASE_FILE), { readonly: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  }

  /**
   * The seq of the last record of `origin` on this node's `federation:{domain}` stream (0 before
   * any): how far a downstream of that origin's upstream must follow (a downstream's own records,
   * relayed here too, are never sent back to it, so its cursor need not pass them).
   */
  lastRecordSeq(domain: string, origin: string): number {
    return this.read(
      (db) =>
        (db
          .prepare("SELECT MAX(seq) FROM stream_events WHERE stream = ? AND json_extract(payload, '$.origin') = ?")
          .pluck()
          .get(federationStream(domain), origin) as number | null) ?? 0,
    );
  }
}

/** What a side's deposit load saw. */
export class DepositTally {
  acked = 0;
  /** Refused because the process was down when the request started (connection refused): never made. */
  refusedWhileDown = 0;
  /** Started while the process ran, failed after it was killed: made or not, unknown to the client. */
  inFlightAtKill = 0;
  /** Failed while the process ran and was not killed meanwhile. */
  failures = 0;
  readonly examples: string[] = [];

  fail(what: string): void {
    this.failures++;
    if (this.examples.length < 5) this.examples.push(what);
  }
}

/** A pheromone cell of the soak: its class (unique, so class names the cell), layer, and who deposits on it. */
export interface SoakCell {
  readonly cls: string;
  readonly layer: "threat" | "opportunity" | "wisdom";
  readonly by: "both" | "U" | "D";
}

/**
 * Deposits on `node` at `rate` per second (each request on its own, at most 32 in flight) into
 * `cells`, from a random golem of `golems`, until `stop()`; every outcome is counted in `tally`.
 */
export function depositLoad(
  node: SoakNode,
  owner: { key: string; golems: readonly string[] },
  cells: readonly SoakCell[],
  domain: string,
  rate: number,
  tally: DepositTally,
): { stop: () => Promise<void> } {
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const one = async () => {
    const cell = cells[Math.floor(Math.random() * cells.length)] as SoakCell;
    const golem = owner.golems[Math.floor(Math.random() * owner.golems.length)] as string;
    const generation = node.generation;
    if (!node.up) {
      tally.refusedWhileDown++;
      return;
    }
    const body = { golem_id: golem, layer: cell.layer, class: cell.cls, intensity: 0.2 + Math.random() * 0.7, domain, regime: "calm" };
    try {
      const r = await call(node.url, "POST", "/v1/styx/pheromone/deposit", owner.key, body);
      if (r.status === 201) tally.acked++;
      else if (node.generation !== generation) tally.inFlightAtKill++;
      else tally.fail(`${r.status} ${r.text.slice(0, 200)}`);
    } catch (err) {
      if (node.generation !== generation) tally.inFlightAtKill++;
      else if (!node.up) tally.refusedWhileDown++;
      else tally.fail((err as Error).message);
    }
  };
  const loop = (async () => {
    const every = 1000 / rate;
    const start = performance.now();
    for (let i = 0; !stopped; i++) {
      if (inFlight.size < 32) {
        const p = one().finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      const wait = start + (i + 1) * every - performance.now();
      if (wait > 0) await sleep(wait);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      await Promise.all([...inFlight]);
    },
  };
}

/** What one node's SQLite file says at the end of the soak. */
export interface Ledger {
  /** (origin, id) of every record applied here, by origin. */
  readonly claims: ReadonlyMap<string, ReadonlySet<string>>;
  /** Claims rows in all (a duplicate row would make it exceed the sum of the sets). */
  readonly claimRows: number;
  /** Ids of the records relayed on `federation:{domain}`, by origin (the upstream's only: a downstream relays nothing). */
  readonly relayed: ReadonlyMap<string, ReadonlySet<string>>;
  /** Relayed events in all (more than the sum of the sets: a record relayed twice). */
  readonly relayedEvents: number;
  /** Own records still waiting in the relay outbox (written with their fact, never published). */
  readonly relayWaiting: number;
  /** Deposits announced on `domain:{domain}`: made here, and applied from another instance (`federated: true`). */
  readonly localDeposits: number;
  readonly federatedDeposits: number;
  /** Streams whose history here is not whole (trimmed to cold archives or with holes): their counts would be partial. */
  readonly partialStreams: readonly string[];
}

/** Reads a node's ledger (the process stopped or running). */
export function readLedger(node: SoakNode, domain: string): Ledger {
  return node.read((db) => {
    const claims = new Map<string, Set<string>>();
    let claimRows = 0;
    for (const row of db.prepare("SELECT origin, id FROM federation_claims").iterate() as Iterable<{ origin: string; id: string }>) {
      claimRows++;
      add(claims, row.origin, row.id);
    }
    const relayed = new Map<string, Set<string>>();
    let relayedEvents = 0;
    const fed = federationStream(domain);
    for (const row of db
      .prepare(
        "SELECT json_extract(payload, '$.origin') AS origin, json_extract(payload, '$.id') AS id FROM stream_events WHERE stream = ?",
      )
      .iterate(fed) as Iterable<{ origin: string; id: string }>) {
      relayedEvents++;
      add(relayed, row.origin, row.id);
    }
    const dom = domainStream(domain);
    const count = (federated: boolean) =>
      db
        .prepare(
          `SELECT COUNT(*) FROM stream_events WHERE stream = ? AND channel IN ('styx:pheromone:deposit', 'styx:pheromone:reinforced')
             AND coalesce(json_extract(payload, '$.federated'), 0) = ?`,
        )
        .pluck()
        .get(dom, federated ? 1 : 0) as number;
    const partialStreams: string[] = [];
    for (const stream of [fed, dom]) {
      const s = db.prepare("SELECT last_seq FROM streams WHERE stream = ?").pluck().get(stream) as number | undefined;
      const r = db.prepare("SELECT COUNT(*) AS n, MIN(seq) AS lo FROM stream_events WHERE stream = ?").get(stream) as {
        n: number;
        lo: number | null;
      };
      if ((s ?? 0) !== r.n || (r.n > 0 && r.lo !== 1)) partialStreams.push(stream);
    }
    const relayWaiting = db.prepare("SELECT COUNT(*) FROM federation_relay").pluck().get() as number;
    return {
      claims,
      claimRows,
      relayed,
      relayedEvents,
      relayWaiting,
      localDeposits: count(false),
      federatedDeposits: count(true),
      partialStreams,
    };
  });
}

/** The size of a set in a map of sets (0 when absent). */
export function sizeOf(m: ReadonlyMap<string, ReadonlySet<string>>, key: string): number {
  return m.get(key)?.size ?? 0;
}

function add(m: Map<string, Set<string>>, key: string, value: string): void {
  const set = m.get(key) ?? new Set<string>();
  set.add(value);
  m.set(key, set);
}
