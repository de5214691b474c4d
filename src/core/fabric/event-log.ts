/** One event as the warm store keeps it (the epoch is the log's, not per row). */
export interface LoggedEvent {
  readonly stream: string;
  readonly seq: number;
  readonly ts: number;
  readonly channel: string;
  readonly payloadJson: string;
}

/** A cold archive: the events `firstSeq`…`lastSeq` of a stream, stored as one blob. */
export interface ArchiveRef {
  readonly stream: string;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly cid: string;
  /** When the archive was written (epoch ms); retention counts from here. */
  readonly createdAt: number;
}

/**
 * The warm tier of stream history and the index of its cold archives (micronode: SQLite;
 * macronode: JetStream). `TieredHistory` is its only user.
 * Obligations: `append` stores a whole batch or nothing; `archive` records the archive and
 * deletes the warm rows it covers in one transaction, so every event is always in exactly
 * one of the two tiers; `epoch` is created once per log and survives restarts of a durable log.
 */
export interface EventLog {
  /** This log's history generation (created on first use). */
  epoch(): Promise<string>;
  /** The highest stored seq of each stream (streams never written are absent). */
  lastSeqs(streams: readonly string[]): Promise<Map<string, number>>;
  append(events: readonly LoggedEvent[]): Promise<void>;
  /** Warm events of `stream` with seq > `afterSeq`, oldest first, at most `limit`. */
  read(stream: string, afterSeq: number, limit: number): Promise<LoggedEvent[]>;
  /** The oldest warm seq of `stream`, if any warm event remains. */
  oldestWarmSeq(stream: string): Promise<number | undefined>;
  /** Streams holding more than `keep` warm events, with how many (at most `limit` streams). */
  overflowing(keep: number, limit: number): Promise<{ stream: string; count: number }[]>;
  /** Records `ref` and deletes the warm rows `ref.firstSeq`…`ref.lastSeq` (one transaction). */
  archive(ref: ArchiveRef): Promise<void>;
  /** Archives of `stream` holding events after `afterSeq`, oldest first, at most `limit`. */
  archives(stream: string, afterSeq: number, limit: number): Promise<ArchiveRef[]>;
  /** The first seq of the oldest archive of `stream`, if any. */
  oldestArchivedSeq(stream: string): Promise<number | undefined>;
  /** Forgets archives created before `before` (at most `limit`) and returns them, so their blobs can go. */
  expireArchives(before: number, limit: number): Promise<ArchiveRef[]>;
  /** Replaces the warm events of `stream` whose payload contains `needle` by `channel` with payload `{}` (seq and time kept); returns how many. */
  redact(stream: string, needle: string, channel: string): Promise<number>;
  /** Points the archive of `stream` starting at `firstSeq` to the blob `cid` (a rewritten archive). */
  replaceArchive(stream: string, firstSeq: number, cid: string): Promise<void>;
  /** Forgets `stream` entirely (warm rows, its position, its archives) in one transaction; returns the archives, so their blobs can go. */
  eraseStream(stream: string): Promise<ArchiveRef[]>;
}
