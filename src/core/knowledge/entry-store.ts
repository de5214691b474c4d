import type { OutboxEntry } from "../federation/federation-store.js";
import type { Category, Entry, LetheCandidate, LetheEntry, NewEntry } from "./types.js";

/**
 * What a ranked query reads of an entry: its hit's fields and the score's inputs. The other
 * columns (metadata, affect, expiry, lethe state, idempotency key…) are never looked at; reading
 * them cost a micronode about as much again per candidate (bench/query.ts, 40–80 rows a query).
 */
export type QueryEntry = Pick<
  Entry,
  | "id"
  | "seq"
  | "golemId"
  | "category"
  | "content"
  | "contentHash"
  | "embedding"
  | "domain"
  | "regime"
  | "confidence"
  | "isBloodstain"
  | "validations"
  | "contradictions"
  | "createdAt"
>;

/** Which private entries a read may return. `userId` is a hard tenant filter, never a hint. */
export interface EntryFilter {
  readonly userId: string;
  /** Only entries promoted to the clade. */
  readonly cladeOnly: boolean;
  /**
   * Only entries this golem wrote: a golem credential's vault (SPEC §3), a hard filter like
   * `userId`. Lexical relevance is then computed over this golem's matching entries alone, so a
   * sibling's private writes move none of its answers.
   */
  readonly golemId?: string | undefined;
  readonly domains?: readonly string[] | undefined;
  readonly categories?: readonly Category[] | undefined;
  /** Entries that expired at or before this time are invisible. */
  readonly now: number;
}

/** Which lethe entries a read may return. */
export interface LetheFilter {
  readonly domains?: readonly string[] | undefined;
  readonly categories?: readonly Category[] | undefined;
}

/** A lexical hit: the entry's seq and its BM25 relevance (higher is better, > 0). */
export interface TextHit {
  readonly seq: number;
  readonly relevance: number;
}

/** High-water marks of the two seq spaces (entries, lethe entries). */
export interface SeqMarks {
  readonly entries: number;
  readonly lethe: number;
}

/** A batch of stored vectors, for rebuilding indexes. */
export interface VectorBatch {
  readonly namespace: string;
  readonly seqs: readonly number[];
  /** `seqs.length` vectors, concatenated. */
  readonly vectors: Float32Array;
}

/** A confirmation of a lethe entry: a near-duplicate candidate's source, confidence, kind and time. */
export interface LetheReinforcement {
  readonly source: string;
  readonly confidence: number;
  readonly fromBloodstain: boolean;
  readonly at: number;
}

/** The fields of a lethe entry a confirmation changes. */
export type LetheConfirmation = Pick<LetheEntry, "sources" | "confirmationConfidences" | "bloodstainConfirmed" | "updatedAt">;

/**
 * How a confirmation changes a lethe entry (what `reinforceLethe` writes): a new source joins
 * `sources` with its confidence; a known one counts once, its first confidence kept. A
 * bloodstain confirms for good. Touched either way.
 */
export function confirmLethe(entry: LetheEntry, r: LetheReinforcement): LetheConfirmation {
  const known = isLetheSource(entry, r.source);
  return {
    sources: known ? entry.sources : [...entry.sources, r.source],
    confirmationConfidences: known ? entry.confirmationConfidences : [...entry.confirmationConfidences, r.confidence],
    bloodstainConfirmed: entry.bloodstainConfirmed || r.fromBloodstain,
    updatedAt: r.at,
  };
}

/**
 * Whether `source` (a user's keyed hash, SPEC §3) already holds a lethe entry: it published it or
 * confirmed it. Such a source counts once — a near-duplicate from it confirms nothing more
 * (`confirmLethe`), and it may not validate the entry (validations come from other users).
 */
export function isLetheSource(entry: Pick<LetheEntry, "sources">, source: string): boolean {
  return entry.sources.includes(source);
}

/**
 * Which of the user's entries a listing returns (SPEC §4.1 `GET /v1/styx/entries`). `userId` is a
 * hard tenant filter; every other field narrows. Expired entries are never listed.
 */
export interface EntryListFilter {
  readonly userId: string;
  readonly golemId?: string | undefined;
  /** Only entries promoted to the clade (`layer=clade`; every entry is in the vault). */
  readonly cladeOnly: boolean;
  readonly category?: Category | undefined;
  readonly domain?: string | undefined;
  /** Top-level metadata values that must all match (`metadataMatch`). */
  readonly metadata: readonly MetadataMatch[];
  /** Created strictly after / before these times (epoch ms). */
  readonly createdAfter?: number | undefined;
  readonly createdBefore?: number | undefined;
  readonly now: number;
}

/**
 * One `metadata.<key>=<value>` filter: the top-level metadata value under `key` is the string
 * `text`, or the number `number`, or the boolean `boolean` (a query string is text: `42` and
 * `true` also match those JSON values). Keys and values are data, bound as parameters.
 */
export interface MetadataMatch {
  readonly key: string;
  readonly text: string;
  readonly number: number | null;
  readonly boolean: boolean | null;
}

/** A metadata filter from a query-string pair: what the text also means as a JSON number or boolean. */
export function metadataMatch(key: string, text: string): MetadataMatch {
  const n = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text) ? Number(text) : Number.NaN;
  return {
    key,
    text,
    number: Number.isFinite(n) ? n : null,
    boolean: text === "true" ? true : text === "false" ? false : null,
  };
}

/** Where a listing stands: the last entry returned, in (createdAt, id) order. */
export interface EntryPosition {
  readonly createdAt: number;
  readonly id: string;
}

/** What a validation did: the entry as it is now, and whether this vote was counted (a repeated voter counts once). */
export interface Validated<E> {
  readonly entry: E;
  readonly counted: boolean;
}

/**
 * A user's reference to a blob that no entry of theirs names any more: its last referencing
 * entry was deleted or purged at `since` (SPEC §10; the blob collection releases it after the
 * grace period unless an entry names it again).
 */
export interface BlobOrphan {
  readonly userId: string;
  readonly cid: string;
  readonly since: number;
}

/** What an insert did with one entry. */
export interface StoredEntry {
  /** As stored: a candidate that waits for k has `letheAt` null and `letheWaiting` true. */
  readonly entry: Entry;
  /** False when a repeated idempotency key returned the first entry (nothing was written). */
  readonly created: boolean;
  /** The earliest due time of waiting candidates this write released (its domain reached k), if any. */
  readonly releasedDue?: number | undefined;
}

/**
 * Storage of knowledge: vault/clade entries (one row; `inClade` marks promotion), the lethe
 * publication queue (anonymized candidates), the distinct lethe writers of each domain and the
 * published lethe entries.
 * Obligations: `insert` writes the entry and its lethe candidate atomically, and a repeated
 * (userId, idempotencyKey) writes nothing and returns the first entry; `publishLethe` and
 * `reinforceLethe` remove the candidate in the same transaction, so a candidate is published
 * at most once even across restarts; given an `outbox` entry (SPEC §17.2, the published or
 * reinforcing lethe record), they write it to the federation outbox (up) and relay outbox
 * (down) in that same transaction, and write none when the candidate was already gone (undefined).
 * k-anonymity (SPEC §4.2 step 5), in the insert's transaction and serialized per domain across
 * gateways: the candidate's `source` joins its domain's writers (a set; federated records will
 * register `origin:source`); while the domain has fewer than `candidate.k` writers the
 * candidate is queued waiting (never due, the entry stored with `letheAt` null and
 * `letheWaiting`); once it has k, every waiting candidate of the domain becomes due at the
 * write's time (`dueAt - delayMs` of this candidate) plus its own `delayMs`.
 * Blob references (SPEC §10): an entry references the blob `contentBlob` of its own user.
 * `deleteEntry` and `purgeExpired` mark, in their transaction, every (user, cid) whose last
 * referencing row they removed as orphaned at their time (a mark already there moves to that
 * time); a crash can never lose a mark between the removal and the marking.
 */
export interface EntryStore {
  insert(entry: NewEntry, lethe?: LetheCandidate): Promise<StoredEntry>;
  /** Inserts many entries in one transaction (all or none), with the same per-entry rules as `insert`. */
  insertMany(items: readonly { entry: NewEntry; lethe?: LetheCandidate | undefined }[]): Promise<StoredEntry[]>;
  findByIdempotencyKey(userId: string, key: string): Promise<Entry | undefined>;
  /** Entries with these seqs that pass the filter (any order), as a ranked query reads them. */
  getBySeqs(seqs: readonly number[], filter: EntryFilter): Promise<QueryEntry[]>;
  /** BM25 over content, best first, at most `k`. */
  searchText(text: string, filter: EntryFilter, k: number): Promise<TextHit[]>;
  /** The golem's vault entries with seq > `afterSeq`, oldest first, at most `limit` (expired excluded). */
  pageGolemEntries(golemId: string, afterSeq: number, limit: number, now: number): Promise<Entry[]>;
  /** The seq of the golem's entry `id` (expired or not, until purged); undefined when there is none. */
  golemEntrySeq(golemId: string, id: string): Promise<number | undefined>;
  /** Deletes entries expired at `now` (their last blob references marked orphaned at `now`); returns what was removed, for index upkeep. */
  purgeExpired(now: number): Promise<{ seq: number; userId: string; inClade: boolean }[]>;
  /**
   * Stored vectors by namespace (`vault:u`, `clade:u`; a lethe entry in `lethe:d` and in the
   * all-domains `lethe`), in batches of about `batchSize`: entries with seq > `after.entries`
   * and lethe entries with seq > `after.lethe`.
   */
  scanVectors(batchSize: number, after?: SeqMarks): AsyncIterable<VectorBatch>;
  /** The highest seq of entries and of lethe entries (0 when empty). */
  seqMarks(): Promise<SeqMarks>;

  /** Candidates due at `now`, oldest due first (never a waiting one). */
  dueLethe(now: number, limit: number): Promise<LetheCandidate[]>;
  /** The earliest due time in the queue (waiting candidates have none). */
  nextLetheDue(): Promise<number | undefined>;
  /**
   * Releases the waiting candidates of every domain that already has at least `k` writers (the
   * operator lowered STYX_LETHE_K since they were queued): due at `at` plus their own delay.
   * Returns the earliest such due time, or undefined when none was waiting there.
   */
  releaseLethe(k: number, at: number): Promise<number | undefined>;
  /** Removes a queued candidate (waiting or not yet due); false when it is not queued (published, reinforced or never queued). */
  dropLethe(candidateId: string): Promise<boolean>;
  /** Publishes a candidate as a new lethe entry and dequeues it. Returns undefined if it was already gone. */
  publishLethe(candidate: LetheCandidate, contentHash: string, at: number, outbox?: OutboxEntry): Promise<LetheEntry | undefined>;
  /** Counts a candidate as a confirmation of an existing lethe entry (`confirmLethe`) and dequeues it. */
  reinforceLethe(candidateId: string, seq: number, r: LetheReinforcement, outbox?: OutboxEntry): Promise<LetheEntry | undefined>;
  findLetheByHash(domain: string, contentHash: string): Promise<LetheEntry | undefined>;
  getLetheBySeqs(seqs: readonly number[], filter: LetheFilter): Promise<LetheEntry[]>;
  searchLetheText(text: string, filter: LetheFilter, k: number): Promise<TextHit[]>;
  /** Domains that have lethe entries. */
  letheDomains(): Promise<string[]>;
  /**
   * The entry `id` of any user (tenancy decides who may see it), unless expired at `now`;
   * undefined when there is none.
   */
  getEntry(id: string, now: number): Promise<Entry | undefined>;
  /** The user's entries passing `filter`, in (createdAt, id) order, after `after`, at most `limit`. */
  listEntries(filter: EntryListFilter, after: EntryPosition | undefined, limit: number): Promise<Entry[]>;
  /**
   * Deletes the user's entry `id` in one transaction: its row (and with it its lexical row), its
   * validations, and its lethe copy `letheCandidateId` while still queued; its blob, when no other
   * row of the user names it, is marked orphaned at `at`. Returns the entry and whether a queued
   * copy was removed; undefined when the user has no such entry.
   */
  deleteEntry(
    userId: string,
    id: string,
    letheCandidateId: string,
    at: number,
  ): Promise<{ entry: Entry; letheDropped: boolean } | undefined>;
  /**
   * Records golem `golemId`'s vote on the entry `seq`: the first vote of a golem counts (one more
   * validation when it agrees, one more contradiction otherwise), a repeat changes nothing.
   * Undefined when the entry is gone.
   */
  validateEntry(seq: number, golemId: string, agrees: boolean, at: number): Promise<Validated<Entry> | undefined>;
  /** The published lethe entry `id`, if any. */
  getLetheById(id: string): Promise<LetheEntry | undefined>;
  /** `validateEntry` for a lethe entry, the voter being a source (a user's keyed hash): one vote per source. */
  validateLethe(seq: number, source: string, agrees: boolean, at: number): Promise<Validated<LetheEntry> | undefined>;
  /** How many of the user's entries unexpired at `now` name `cid` as their content blob (an index read, never a counter). */
  blobReferences(userId: string, cid: string, now: number): Promise<number>;
  /** Orphan marks set at or before `before`, oldest first, at most `limit`. */
  blobOrphans(before: number, limit: number): Promise<BlobOrphan[]>;
  /**
   * Removes the orphan mark of (userId, cid); with `since`, only a mark still set at that time (a
   * mark moved by a later removal stays). False when there was none to remove.
   */
  dropBlobOrphan(userId: string, cid: string, since?: number): Promise<boolean>;
  /** Bytes of the user's stored entries: UTF-8 content plus metadata JSON, expired ones until purged (the stored-bytes quota). */
  storedBytes(userId: string): Promise<number>;
  /**
   * Queues a federated lethe record as a candidate due at once (SPEC §17.3): its source
   * (`origin:source`) joins its domain's writers as `insert` does (k-anonymity counts it, and a
   * domain reaching `candidate.k` releases its waiting candidates), but it never waits itself —
   * it was published at its maker already. Publishing it is then the usual `publishLethe` or
   * `reinforceLethe`; a crash between the two leaves it to the next publication pass.
   */
  queueLethe(candidate: LetheCandidate): Promise<void>;
  /** Lethe entries of one domain with seq > `afterSeq`, by seq, at most `limit` (the federation snapshot reads a domain in pages). */
  pageLethe(domain: string, afterSeq: number, limit: number): Promise<LetheEntry[]>;
}
