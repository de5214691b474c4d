import type { StreamPosition } from "../fabric/history.js";
import type { FederationStore } from "./federation-store.js";
import { type FederatedDomains, type Flows, takesDown } from "./flows.js";
import type { RecordCounter } from "./link-outbox.js";
import type { FederationRecord, RecordApplier } from "./records.js";
import { federationDomain, type RecordChannel, type ResumeOutcome, type UpstreamTransport } from "./upstream-transport.js";

/** Most records received and not yet applied before the link gives up the socket (and resumes from its cursors later). */
export const MAX_PENDING_RECORDS = 10_000;
/** Snapshots of one stream in a row, on one connection, before the link drops the socket and backs off. */
const MAX_SNAPSHOTS_PER_STREAM = 3;

/** Why the down half lost the socket (the link backs off and reconnects). */
export type LoseConnection = (reason: Error) => void;

/** What the down half works with. */
export interface DownLinkDeps {
  readonly instanceId: string;
  readonly flows: Flows;
  readonly domains: FederatedDomains;
  readonly store: Pick<FederationStore, "cursor" | "saveCursor">;
  readonly applier: RecordApplier;
  readonly transport: Pick<UpstreamTransport, "snapshot">;
  readonly count: RecordCounter;
  /** Drops the connection (the link backs off and reconnects, resuming from the stored cursors). */
  readonly lose: LoseConnection;
  /** Notes that the upstream was heard from (a record or a snapshot applied). */
  readonly seen: () => void;
  readonly warn: (fields: object, msg: string) => void;
}

/**
 * The down half of one connection (SPEC §17.2 step 2): applies the upstream's records of each
 * `federation:{domain}` stream in order, one stream's work after another's on its own queue,
 * and stores the stream's `{epoch, seq}` once a record is applied. A stream without a cursor,
 * or whose resume answered `recovered: false`, takes the snapshot first (applied idempotently:
 * each (origin, id) once), stores the snapshot's position and resumes from it; records that
 * arrive meanwhile wait behind the snapshot on the stream's queue. One instance per connection:
 * once the connection is lost (`lost()`), queued work is skipped and nothing more is applied.
 */
export class DownLink {
  readonly #d: DownLinkDeps;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #snapshots = new Map<string, number>();
  readonly #abort = new AbortController();
  #channel: RecordChannel | undefined;
  #pending = 0;
  #lost = false;

  constructor(deps: DownLinkDeps) {
    this.#d = deps;
  }

  /** Starts on an open channel: resumes the streams that have a cursor, snapshots the others. */
  async start(channel: RecordChannel, streams: readonly string[]): Promise<void> {
    this.#channel = channel;
    const resume = new Map<string, StreamPosition>();
    for (const s of streams) {
      const c = await this.#d.store.cursor(s);
      if (c) resume.set(s, c);
      else this.#enqueue(s, () => this.#snapshot(s, undefined));
    }
    if (resume.size > 0 && !this.#lost) channel.resume(resume);
  }

  /** A record event of `stream` (undefined: it did not decode). */
  record(stream: string, position: StreamPosition, record: FederationRecord | undefined): void {
    if (this.#lost) return;
    if (++this.#pending > MAX_PENDING_RECORDS) {
      this.#d.lose(new Error(`more than ${MAX_PENDING_RECORDS} records wait to be applied: the socket is dropped, resumed later`));
      return;
    }
    this.#enqueue(stream, async () => {
      this.#pending--;
      this.#snapshots.delete(stream);
      if (record === undefined) this.#d.count("down", "unknown", "rejected", 1);
      else await this.#apply(record);
      await this.#d.store.saveCursor(stream, position);
      this.#d.seen();
    });
  }

  /** A resume answer: a stream that lost events takes the snapshot (a stream refused to this key is left). */
  resumed(stream: string, outcome: ResumeOutcome): void {
    if (this.#lost || outcome.recovered) return;
    if (outcome.reason === "not_found" || outcome.reason === "not_allowed") {
      this.#d.warn(
        { stream, reason: outcome.reason },
        "the upstream does not let this key follow a federation stream; left until reconnect",
      );
      return;
    }
    this.#d.warn({ stream, reason: outcome.reason ?? null }, "federation stream not recovered: taking its snapshot");
    this.#enqueue(stream, () => this.#snapshot(stream, outcome.position));
  }

  /** The connection is gone: queued work is skipped, a snapshot being read is aborted. */
  lost(): void {
    this.#lost = true;
    this.#abort.abort();
  }

  /** Resolves when every queued piece of work has ended. */
  async idle(): Promise<void> {
    while (this.#queues.size > 0) await Promise.all([...this.#queues.values()]);
  }

  #enqueue(stream: string, work: () => Promise<void>): void {
    const before = this.#queues.get(stream) ?? Promise.resolve();
    const next = before
      .then(async () => {
        if (!this.#lost) await work();
      })
      .catch((err: unknown) => {
        // Applying or storing failed: nothing after it may be stored ahead of it, so the socket goes (resumed from the cursor).
        if (!this.#lost) this.#d.lose(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        if (this.#queues.get(stream) === next) this.#queues.delete(stream);
      });
    this.#queues.set(stream, next);
  }

  /** Applies one record: never one of this Styx's own origin, nor of a kind or domain not taken down. */
  async #apply(record: FederationRecord): Promise<void> {
    if (record.origin === this.#d.instanceId || !takesDown(this.#d.flows, this.#d.domains, record.kind, record.domain)) {
      this.#d.count("down", record.kind, "skipped", 1);
      return;
    }
    const r = await this.#d.applier.apply(record);
    this.#d.count("down", record.kind, r.outcome, 1);
  }

  /**
   * Reads and applies the domain's snapshot, stores its position and follows the stream from
   * there. `joined`: where the socket already follows it from (after `recovered: false`); when
   * the snapshot is at or past that point no resume is needed (live records continue it).
   */
  async #snapshot(stream: string, joined: StreamPosition | undefined): Promise<void> {
    const n = (this.#snapshots.get(stream) ?? 0) + 1;
    this.#snapshots.set(stream, n);
    if (n > MAX_SNAPSHOTS_PER_STREAM) throw new Error(`${stream}: ${n - 1} snapshots in a row did not let the stream resume`);
    const domain = federationDomain(stream) as string;
    let position: StreamPosition | undefined;
    for await (const line of this.#d.transport.snapshot(domain, this.#abort.signal)) {
      if (this.#lost) return;
      if (line.type === "record") await this.#apply(line.record);
      else if (line.type === "invalid") this.#d.count("down", "unknown", "rejected", 1);
      else position = line.position;
    }
    if (this.#lost) return;
    if (!position) throw new Error(`${stream}: the snapshot ended without its position`);
    await this.#d.store.saveCursor(stream, position);
    this.#d.seen();
    const covered = joined !== undefined && joined.epoch === position.epoch && joined.seq <= position.seq;
    if (!covered) this.#channel?.resume(new Map([[stream, position]]));
  }
}
