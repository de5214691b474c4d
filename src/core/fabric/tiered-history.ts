import type { BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import type { SequencedEvent, StyxEvent } from "./event-bus.js";
import type { ArchiveRef, EventLog, LoggedEvent } from "./event-log.js";
import { ERASED_CHANNEL, type History, HistoryGoneError, namesId, type Recovery, recoverFrom, type StreamPosition } from "./history.js";
import { HotRing } from "./hot-ring.js";

/** Blob owner of the cold archives: not a valid user id, so no user can read them. */
export const ARCHIVE_OWNER = "styx:history";

/** Tier sizes and retention (SPEC §9 numbers by default). */
export interface TieredHistoryOptions {
  /** Events per stream kept in memory (default 1,000). */
  readonly hotPerStream?: number;
  /** Memory for all hot rings together (default 64 MiB). */
  readonly hotMaxBytes?: number;
  /** Events per stream kept in the warm store before archival (default 10,000). */
  readonly warmKeep?: number;
  /** Events per cold archive blob (default 1,000). */
  readonly archiveChunk?: number;
  /** How long cold archives are kept, ms (default 7 days). */
  readonly coldRetentionMs?: number;
}

/** What one archival run did. */
export interface ArchiveReport {
  readonly archived: number;
  readonly blobs: number;
  readonly expired: number;
}

interface Pending {
  readonly stream: string;
  readonly channel: string;
  readonly ts: number;
  readonly payloadJson: string;
  readonly resolve: (e: SequencedEvent) => void;
  readonly reject: (err: unknown) => void;
}

/** Upper bound for one archive blob (1,000 events under the 1 MiB frame cap stay far below). */
const ARCHIVE_MAX_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Stream history in three tiers: hot (a ring in memory), warm (the EventLog) and cold (NDJSON
 * archives in the BlobStore). `append` sequences events: appends made in the same turn of the
 * event loop are written in one batch, and an event's promise resolves only once the batch is
 * stored, so nothing is ever delivered that a restart could renumber.
 */
export class TieredHistory implements History {
  readonly #log: EventLog;
  readonly #blobs: Pick<BlobStore, "put" | "read" | "release">;
  readonly #clock: Clock;
  readonly #ring: HotRing;
  readonly #warmKeep: number;
  readonly #archiveChunk: number;
  readonly #coldRetentionMs: number;
  /** Last durable seq per stream; entries are reloaded from the log when missing. */
  readonly #last = new Map<string, number>();
  #pending: Pending[] = [];
  #draining = false;
  #epoch = "";

  constructor(deps: { log: EventLog; blobs: Pick<BlobStore, "put" | "read" | "release">; clock: Clock; options?: TieredHistoryOptions }) {
    const o = deps.options ?? {};
    this.#log = deps.log;
    this.#blobs = deps.blobs;
    this.#clock = deps.clock;
    this.#ring = new HotRing({ perStream: o.hotPerStream ?? 1000, maxBytes: o.hotMaxBytes ?? 64 * 1024 * 1024 });
    this.#warmKeep = o.warmKeep ?? 10_000;
    this.#archiveChunk = o.archiveChunk ?? 1000;
    this.#coldRetentionMs = o.coldRetentionMs ?? 7 * 86_400_000;
  }

  /** Reads the log's epoch; call once before use. */
  async open(): Promise<void> {
    this.#epoch = await this.#log.epoch();
  }

  /** The history generation of every stream of this history. */
  get epoch(): string {
    return this.#epoch;
  }

  /** Memory held by the hot tier (estimated bytes). */
  get hotBytes(): number {
    return this.#ring.bytes;
  }

  /** Gives `event` the next seq of its stream and stores it; resolves once it is durable. */
  append(event: StyxEvent): Promise<SequencedEvent> {
    const payloadJson = JSON.stringify(event.payload);
    const ts = this.#clock.now();
    return new Promise((resolve, reject) => {
      this.#pending.push({ stream: event.stream, channel: event.channel, ts, payloadJson, resolve, reject });
      if (this.#pending.length === 1 && !this.#draining) queueMicrotask(() => void this.#drain());
    });
  }

  /** Resolves when every append made so far has been stored (or failed). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#draining) {
      if (!this.#draining) await this.#drain();
      else await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * Forgets `stream` in every tier (an erasure, SPEC §3): its hot ring, warm rows, position and
   * cold archives (their blobs released). Appends made before are stored first, then erased.
   */
  async eraseStream(stream: string): Promise<void> {
    await this.flush();
    this.#ring.drop(stream);
    this.#last.delete(stream);
    for (const ref of await this.#log.eraseStream(stream)) await this.#blobs.release(ARCHIVE_OWNER, ref.cid);
  }

  /** `StreamEraser.redact` in the hot ring, the warm rows and the cold archives (rewritten as new blobs). */
  async redact(stream: string, id: string): Promise<boolean> {
    await this.flush();
    const tombstone = (e: SequencedEvent): SequencedEvent => ({ ...e, channel: ERASED_CHANNEL, payloadJson: "{}" });
    this.#ring.rewrite(stream, (e) => namesId(e.payloadJson, id), tombstone);
    await this.#log.redact(stream, JSON.stringify(id), ERASED_CHANNEL);
    for (let after = 0; ; ) {
      const refs = await this.#log.archives(stream, after, 100);
      for (const ref of refs) {
        const events = await this.#readArchive(ref);
        if (!events.some((e) => namesId(e.payloadJson, id))) continue;
        const rows = events.map((e) => (namesId(e.payloadJson, id) ? tombstone(e) : e));
        const bytes = new TextEncoder().encode(encodeArchive(stream, rows));
        const { cid } = await this.#blobs.put(ARCHIVE_OWNER, once(bytes), { maxBytes: ARCHIVE_MAX_BYTES });
        await this.#log.replaceArchive(stream, ref.firstSeq, cid);
        if (cid !== ref.cid) await this.#blobs.release(ARCHIVE_OWNER, ref.cid);
      }
      const last = refs.at(-1);
      if (!last || refs.length < 100) return true;
      after = last.lastSeq;
    }
  }

  async position(stream: string): Promise<StreamPosition> {
    return { epoch: this.#epoch, seq: await this.#lastSeq(stream) };
  }

  async recover(stream: string, since: StreamPosition, pageSize = 1000): Promise<Recovery> {
    const seq = await this.#lastSeq(stream);
    return recoverFrom(
      since,
      { epoch: this.#epoch, seq },
      async () => (await this.#log.oldestArchivedSeq(stream)) ?? (await this.#log.oldestWarmSeq(stream)),
      () => this.#pages(stream, since.seq, seq, pageSize),
    );
  }

  /**
   * Moves warm events beyond `warmKeep` per stream into cold archives of `archiveChunk`
   * events, and forgets archives older than the retention (the history-archival task).
   */
  async archive(): Promise<ArchiveReport> {
    let archived = 0;
    let blobs = 0;
    const now = this.#clock.now();
    for (const { stream, count } of await this.#log.overflowing(this.#warmKeep + this.#archiveChunk - 1, 1000)) {
      let excess = count - this.#warmKeep;
      while (excess >= this.#archiveChunk) {
        const rows = await this.#log.read(stream, 0, this.#archiveChunk);
        const first = rows[0];
        const last = rows.at(-1);
        if (!first || !last) break;
        const bytes = new TextEncoder().encode(encodeArchive(stream, rows));
        const { cid } = await this.#blobs.put(ARCHIVE_OWNER, once(bytes), { maxBytes: ARCHIVE_MAX_BYTES });
        await this.#log.archive({ stream, firstSeq: first.seq, lastSeq: last.seq, cid, createdAt: now });
        archived += rows.length;
        blobs++;
        excess -= rows.length;
      }
    }
    let expired = 0;
    for (;;) {
      const refs = await this.#log.expireArchives(now - this.#coldRetentionMs, 500);
      for (const ref of refs) await this.#blobs.release(ARCHIVE_OWNER, ref.cid);
      expired += refs.length;
      if (refs.length < 500) break;
    }
    return { archived, blobs, expired };
  }

  async #lastSeq(stream: string): Promise<number> {
    const known = this.#last.get(stream);
    if (known !== undefined) return known;
    const seq = (await this.#log.lastSeqs([stream])).get(stream) ?? 0;
    // Another append may have landed while the log answered; it is the newer truth.
    return this.#remember(stream, this.#last.get(stream) ?? seq);
  }

  #remember(stream: string, seq: number): number {
    // Bounded: beyond 100k streams the map starts over and reloads from the log on demand.
    if (this.#last.size >= 100_000 && !this.#last.has(stream)) this.#last.clear();
    this.#last.set(stream, seq);
    return seq;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        this.#pending = [];
        await this.#write(batch);
      }
    } finally {
      this.#draining = false;
    }
  }

  async #write(batch: Pending[]): Promise<void> {
    let rows: LoggedEvent[];
    try {
      const missing = [...new Set(batch.map((p) => p.stream))].filter((s) => !this.#last.has(s));
      if (missing.length > 0) {
        const found = await this.#log.lastSeqs(missing);
        for (const s of missing) this.#remember(s, found.get(s) ?? 0);
      }
      const next = new Map<string, number>();
      rows = batch.map((p) => {
        const seq = (next.get(p.stream) ?? this.#last.get(p.stream) ?? 0) + 1;
        next.set(p.stream, seq);
        return { stream: p.stream, seq, ts: p.ts, channel: p.channel, payloadJson: p.payloadJson };
      });
      await this.#log.append(rows);
      for (const [s, seq] of next) this.#remember(s, seq);
    } catch (err) {
      // Nothing of the batch was stored, so nothing is delivered; the seqs are simply reused.
      for (const p of batch) p.reject(err);
      return;
    }
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i] as LoggedEvent;
      const event: SequencedEvent = { ...r, epoch: this.#epoch };
      this.#ring.push(event);
      (batch[i] as Pending).resolve(event);
    }
  }

  async *#pages(stream: string, after: number, until: number, pageSize: number): AsyncGenerator<readonly SequencedEvent[]> {
    let cursor = after;
    while (cursor < until) {
      const page = (await this.#page(stream, cursor, until, pageSize)).filter((e) => e.seq > cursor && e.seq <= until);
      const last = page.at(-1);
      if (!last) return;
      yield page;
      cursor = last.seq;
    }
  }

  async #page(stream: string, cursor: number, until: number, pageSize: number): Promise<SequencedEvent[]> {
    const hot = this.#ring.slice(stream, cursor, until);
    if (hot) return hot.length > pageSize ? hot.slice(0, pageSize) : hot;
    const warmOldest = await this.#log.oldestWarmSeq(stream);
    if (warmOldest !== undefined && warmOldest <= cursor + 1) {
      return (await this.#log.read(stream, cursor, pageSize)).map((r) => ({ ...r, epoch: this.#epoch }));
    }
    const [ref] = await this.#log.archives(stream, cursor, 1);
    if (!ref || ref.firstSeq > cursor + 1) throw new HistoryGoneError(`history of ${stream} after seq ${cursor} is no longer kept`);
    return this.#readArchive(ref);
  }

  async #readArchive(ref: ArchiveRef): Promise<SequencedEvent[]> {
    const read = await this.#blobs.read(ARCHIVE_OWNER, ref.cid);
    const parts: Uint8Array[] = [];
    for await (const chunk of read.body) parts.push(chunk);
    return decodeArchive(concat(parts), this.#epoch);
  }
}

/** NDJSON: a header line naming the stream (so equal payloads in two streams never share a blob), then one line per event. */
export function encodeArchive(stream: string, rows: readonly LoggedEvent[]): string {
  const head = JSON.stringify({ stream, first_seq: rows[0]?.seq, last_seq: rows.at(-1)?.seq });
  const lines = rows.map((r) => `{"seq":${r.seq},"ts":${r.ts},"channel":${JSON.stringify(r.channel)},"payload":${r.payloadJson}}`);
  return `${head}\n${lines.join("\n")}\n`;
}

/** Parses an archive written by `encodeArchive`. */
export function decodeArchive(bytes: Uint8Array, epoch: string): SequencedEvent[] {
  const [head, ...lines] = new TextDecoder().decode(bytes).split("\n");
  const stream = (JSON.parse(head ?? "{}") as { stream: string }).stream;
  const out: SequencedEvent[] = [];
  for (const line of lines) {
    if (!line) continue;
    const r = JSON.parse(line) as { seq: number; ts: number; channel: string; payload: unknown };
    // JSON.stringify of parsed JSON.stringify output gives back the same text.
    out.push({ stream, epoch, seq: r.seq, ts: r.ts, channel: r.channel, payloadJson: JSON.stringify(r.payload) });
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
