import type { Golem } from "../identity/types.js";
import type { BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import { blake3Hex, newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import { fairTurns } from "../platform/fair-turns.js";
import { nextTurn } from "../platform/paced.js";
import type { SecretKey } from "../platform/secret-key.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import type { WriteQuota } from "../quota/quota-service.js";
import { anonymizeEntry, letheCandidateIdOf } from "./anonymize.js";
import { type Embedder, normalize } from "./embedder.js";
import type { EntryStore, StoredEntry } from "./entry-store.js";
import { reachesClade, reachesLethe } from "./gates.js";
import { type QueryInput, type QueryRequester, type RankedHit, runQuery } from "./query.js";
import type { Affect, Category, Entry, Layer, LetheCandidate, NewEntry } from "./types.js";
import { entryNamespaces } from "./types.js";
import type { VectorSearch } from "./vector-search.js";

/** Largest entry content, in UTF-8 bytes. */
export const MAX_CONTENT_BYTES = 64 * 1024;
/** Largest metadata object, as JSON bytes. */
export const MAX_METADATA_BYTES = 4 * 1024;

/** A write as the API hands it over (the golem already checked by tenancy). */
export interface WriteEntryInput {
  readonly golem: Golem;
  readonly layer: Layer;
  readonly category: Category;
  readonly content: string;
  /** A blob the owner uploaded with the full content (`content` is then a summary). */
  readonly contentBlob?: string | undefined;
  readonly embedding?: readonly number[] | undefined;
  readonly domain?: string | undefined;
  readonly regime?: string | undefined;
  readonly confidence?: number | undefined;
  readonly affect?: Affect | undefined;
  readonly emotion?: string | undefined;
  readonly ttlSeconds?: number | undefined;
  readonly metadata?: Record<string, unknown> | undefined;
  readonly idempotencyKey?: string | undefined;
  /** Set by the bloodstain flow only. */
  readonly isBloodstain?: boolean | undefined;
}

/**
 * The writer's own identifiers (the owner's wallet), scrubbed from lethe copies: given, or read
 * on demand — only a write that makes a lethe copy reads them.
 */
export type WriterIdentifiers = readonly string[] | (() => Promise<readonly string[]>);

/** The answer to a write: where it landed, and when its lethe copy is due. */
export interface WriteResult {
  readonly id: string;
  readonly namespaces: readonly string[];
  /** When the lethe copy is due; null when none was queued or it waits for k. */
  readonly letheAt: number | null;
  /** The lethe copy is queued but its domain has fewer than k distinct writers (SPEC §4.2 step 5). */
  readonly letheWaiting: boolean;
  /** False when an idempotency key matched an earlier write (nothing was stored). */
  readonly created: boolean;
  /** True when the entry asked for lethe but its public copy may not be published (SPEC §4.2 step 4). */
  readonly publicRefused: boolean;
}

/** Dependencies of the knowledge service. */
export interface KnowledgeDeps {
  readonly store: EntryStore;
  readonly vectors: VectorSearch;
  readonly clock: Clock;
  readonly embedder?: Embedder | undefined;
  /** Checks that a referenced blob belongs to the writer. */
  readonly blobs?: Pick<BlobStore, "stat"> | undefined;
  /** Per-user quotas a write is charged to (stored bytes, entries and lethe writes per day); none: unlimited. */
  readonly quota?: WriteQuota | undefined;
  readonly dimensions: number;
  /** Lethe delay range in ms. */
  readonly letheDelay: { readonly minMs: number; readonly maxMs: number };
  /** STYX_SECRET_KEY: the key of the anonymous source hashes. */
  readonly key: SecretKey;
  /** The public pipeline that makes lethe copies. */
  readonly pipeline: PublicPipeline;
  /** Distinct users a domain needs before its lethe copies publish (`STYX_LETHE_K`; 1 = off). Default 3. */
  readonly letheK?: number | undefined;
  /** Uniform random in [0, 1); injectable for tests. */
  readonly random?: () => number;
  /** Called with a due time after a write queued a lethe candidate or released waiting ones (the scheduler re-arms its timer). */
  readonly onLetheQueued?: (dueAt: number) => void;
}

/** Default confidence of an entry written without one. */
export const DEFAULT_CONFIDENCE = 0.5;

/** Rows of a snapshot page read from the store at once (~2 ms of a micronode's loop for 200). */
export const SNAPSHOT_CHUNK = 200;
/** Distinct users a lethe domain needs before its entries publish, unless configured (`STYX_LETHE_K`). */
export const DEFAULT_LETHE_K = 3;

/** Entries: write with fan-out to the layers, ranked query across them, golem snapshots, TTL. */
export class KnowledgeService {
  readonly #d: KnowledgeDeps;
  readonly #listeners: ((entry: Entry) => void)[] = [];

  constructor(deps: KnowledgeDeps) {
    this.#d = deps;
  }

  /**
   * Stores an entry in the vault, indexes it to the clade and queues lethe as the gates allow.
   * `credentialGolem`: the golem a golem credential is bound to (null for an owner credential).
   */
  async write(input: WriteEntryInput, identifiers: WriterIdentifiers = [], credentialGolem: string | null = null): Promise<WriteResult> {
    const [result] = await this.writeMany([input], identifiers, credentialGolem);
    return result as WriteResult;
  }

  /**
   * Writes several entries in one transaction (all or none), in order; each follows the rules
   * of `write`. Text-only entries are embedded in one embedder call. Idempotency keys are the
   * user's: a key repeated answers the first write, unless a golem credential repeats one its
   * sibling used — that answer would be the sibling's vault entry, so it is a 409 instead.
   */
  async writeMany(
    inputs: readonly WriteEntryInput[],
    identifiers: WriterIdentifiers = [],
    credentialGolem: string | null = null,
  ): Promise<WriteResult[]> {
    const d = this.#d;
    const replays = new Map<number, Entry>();
    for (const [i, input] of inputs.entries()) {
      if (input.idempotencyKey === undefined) continue;
      const first = await d.store.findByIdempotencyKey(input.golem.userId, input.idempotencyKey);
      if (first && credentialGolem !== null && first.golemId !== credentialGolem) {
        throw new StyxError("STYX_CONFLICT", "This idempotency key was already used by another golem of this user: use a fresh key.", {
          details: [{ path: `${inputs.length > 1 ? `/entries/${i}` : ""}/idempotency_key` }],
        });
      }
      if (first) replays.set(i, first);
    }
    const fresh = inputs.map((input, i) => ({ input, i })).filter(({ i }) => !replays.has(i));
    for (const { input, i } of fresh) {
      checkSizes(input, inputs.length > 1 ? `/entries/${i}` : "");
      if (input.contentBlob !== undefined && !(await d.blobs?.stat(input.golem.userId, input.contentBlob))) {
        throw new StyxError("STYX_NOT_FOUND", "content_blob is not a blob of this user: upload it with PUT /v1/styx/blobs first.", {
          details: [{ path: `${inputs.length > 1 ? `/entries/${i}` : ""}/content_blob` }],
        });
      }
    }
    const giveBack = await this.#charge(fresh.map(({ input }) => input));
    let stored: StoredEntry[];
    let prepared: Awaited<ReturnType<KnowledgeService["prepareEntries"]>>;
    try {
      prepared = await this.prepareEntries(
        fresh.map(({ input }) => input),
        identifiers,
        fresh.map(({ i }) => fieldsAt(inputs.length > 1 ? `/entries/${i}` : "")),
      );
      stored = prepared.length > 0 ? await d.store.insertMany(prepared) : [];
    } catch (err) {
      await giveBack();
      throw err;
    }
    this.afterStored(stored);
    const results = new Map<number, WriteResult>();
    for (const [j, { entry, created }] of stored.entries()) {
      results.set((fresh[j] as { i: number }).i, resultOf(entry, created, (prepared[j] as { refused: boolean }).refused));
    }
    return inputs.map((_, i) => {
      const replay = replays.get(i);
      return replay ? resultOf(replay, false, false) : (results.get(i) as WriteResult);
    });
  }

  /**
   * Entry rows (and lethe candidates) for inputs whose sizes and blobs were checked, with their
   * vectors (text-only entries embedded in one call): what a write stores, for callers that
   * store entries inside a larger transaction (a bloodstain). `paths` name each input's
   * embedding and text in errors.
   */
  async prepareEntries(
    inputs: readonly WriteEntryInput[],
    identifiers: WriterIdentifiers,
    paths: readonly FieldPaths[] = inputs.map(() => fieldsAt("")),
  ): Promise<{ entry: NewEntry; lethe: LetheCandidate | undefined; refused: boolean }[]> {
    const embeddings = await this.#embeddingsFor(
      inputs.map((input, j) => ({ given: input.embedding, text: input.content, paths: paths[j] ?? fieldsAt("") })),
    );
    let read: Promise<readonly string[]> | undefined;
    const ids = () => (read ??= typeof identifiers === "function" ? identifiers() : Promise.resolve(identifiers));
    const out: { entry: NewEntry; lethe: LetheCandidate | undefined; refused: boolean }[] = [];
    // One at a time: each lethe copy's scrub hands the event loop back between its slices.
    for (const [j, input] of inputs.entries()) out.push(await this.#prepare(input, embeddings[j] ?? null, ids));
    return out;
  }

  /**
   * Charges new entries to their user's quotas (SPEC §12): their bytes (content and metadata
   * JSON, UTF-8, as the entry store counts them), one entry each per day, and one lethe write
   * each for those asking for the lethe layer. Returns the give-back for a write that failed.
   */
  async #charge(inputs: readonly WriteEntryInput[]): Promise<() => Promise<void>> {
    const quota = this.#d.quota;
    const first = inputs[0];
    if (!quota || !first) return async () => {};
    let bytes = 0;
    let lethe = 0;
    for (const input of inputs) {
      bytes += storedBytesOf(input.content, input.metadata ?? {});
      if (input.layer === "lethe") lethe++;
    }
    return quota.chargeWrites(first.golem.userId, { entries: inputs.length, lethe, bytes });
  }

  /** After entries were stored: their vectors go to the index, their lethe candidates wake the publisher, listeners hear of them. */
  afterStored(stored: readonly StoredEntry[]): void {
    const d = this.#d;
    for (const { entry, created, releasedDue } of stored) {
      if (!created) continue;
      if (releasedDue !== undefined) d.onLetheQueued?.(releasedDue);
      if (entry.embedding) {
        for (const ns of entryNamespaces(entry)) d.vectors.put(ns, entry.seq, entry.embedding);
      }
      if (entry.letheAt !== null) d.onLetheQueued?.(entry.letheAt);
      for (const l of this.#listeners) l(entry);
    }
  }

  /** Registers a listener called for every entry stored (achievements). */
  onStored(listener: (entry: Entry) => void): void {
    this.#listeners.push(listener);
  }

  /** The entry row and, when the gates allow and its public copy may be published, its anonymized lethe candidate. */
  async #prepare(
    input: WriteEntryInput,
    embedding: Float32Array | null,
    identifiers: () => Promise<readonly string[]>,
  ): Promise<{ entry: NewEntry; lethe: LetheCandidate | undefined; refused: boolean }> {
    const d = this.#d;
    const now = d.clock.now();
    const confidence = input.confidence ?? DEFAULT_CONFIDENCE;
    const domain = input.domain ?? null;
    const delayMs = d.letheDelay.minMs + Math.floor((d.random ?? Math.random)() * (d.letheDelay.maxMs - d.letheDelay.minMs + 1));
    const letheAt = reachesLethe(input.layer, domain, confidence) ? now + delayMs : null;
    const entry: NewEntry = {
      id: newId("ent"),
      userId: input.golem.userId,
      golemId: input.golem.id,
      category: input.category,
      content: input.content,
      contentHash: blake3Hex(input.content),
      contentBlob: input.contentBlob ?? null,
      embedding,
      domain,
      regime: input.regime ?? null,
      confidence,
      affect: input.affect ?? null,
      emotion: input.emotion ?? null,
      metadata: input.metadata ?? {},
      isBloodstain: input.isBloodstain ?? false,
      // A dead golem's warnings are clade knowledge whatever their severity (SPEC §6).
      inClade: input.isBloodstain === true || reachesClade(input.layer, input.category, confidence),
      validations: 0,
      contradictions: 0,
      createdAt: now,
      expiresAt: input.ttlSeconds === undefined ? null : now + input.ttlSeconds * 1000,
      letheAt,
      // The store decides: it sets this (and clears letheAt) while the domain is below k.
      letheWaiting: false,
      idempotencyKey: input.idempotencyKey ?? null,
    };
    if (letheAt === null) return { entry, lethe: undefined, refused: false };
    // The writer's own identifiers are known before its text is scrubbed (the directory may not have heard of them yet).
    const owner = input.golem.userId;
    d.pipeline.remember([
      { kind: "user", value: owner, userId: owner },
      { kind: "golem", value: input.golem.id, userId: owner },
      ...[input.golem.walletAddress, ...(await identifiers())].flatMap((w) =>
        w ? [{ kind: "wallet" as const, value: w, userId: owner }] : [],
      ),
    ]);
    const copy = await anonymizeEntry(
      { ...entry, seq: 0 },
      { pipeline: d.pipeline, key: d.key, id: letheCandidateIdOf(entry.id, d.key), dueAt: letheAt },
    );
    if (!copy) return { entry: { ...entry, letheAt: null }, lethe: undefined, refused: true };
    return { entry, lethe: { ...copy, k: d.letheK ?? DEFAULT_LETHE_K, delayMs }, refused: false };
  }

  /** One ranked list across the requested layers the caller may read. */
  async query(requester: QueryRequester, input: QueryInput): Promise<RankedHit[]> {
    const embedding =
      input.embedding !== undefined || (input.text && this.#d.embedder)
        ? await this.#embeddingFor(input.embedding, input.text ?? "", { embedding: "/embedding", text: "/query" })
        : null;
    if (!embedding && !input.text)
      throw new StyxError("STYX_VALIDATION", "A query needs `query` text or an `embedding`.", { details: [{ path: "/query" }] });
    // Its pauses resume in the user's fair turn (platform/fair-turns.ts): a flooding user's pieces wait behind a lighter user's.
    const { pause } = fairTurns.lane(requester.userId);
    return runQuery({ store: this.#d.store, vectors: this.#d.vectors, now: this.#d.clock.now(), pause }, requester, {
      ...input,
      embedding,
    });
  }

  /** Every live vault entry of a golem, oldest first, fetched page by page (bounded memory). */
  async *snapshot(golemId: string, pageSize = 500, afterSeq = 0): AsyncGenerator<Entry> {
    let after = afterSeq;
    for (;;) {
      const page = await this.#d.store.pageGolemEntries(golemId, after, pageSize, this.#d.clock.now());
      if (page.length === 0) return;
      yield* page;
      after = (page.at(-1) as Entry).seq;
    }
  }

  /**
   * One page of a golem's snapshot: at most `limit` live entries, oldest first, after the entry
   * `afterId` (the previous page's last). `next` is the id to page on from, null once a page
   * comes back short. The cursor is an entry id, not the store's seq: seqs count every
   * tenant's writes, so they would show a user how much others wrote (SPEC §4.2). `pause` hands
   * the loop back between chunks (the caller's fair turn: `fairTurns.lane(user).pause`).
   */
  async snapshotPage(
    golemId: string,
    limit: number,
    afterId?: string,
    pause: () => Promise<void> = nextTurn,
  ): Promise<{ entries: Entry[]; next: string | null }> {
    let after = 0;
    if (afterId !== undefined) {
      const seq = await this.#d.store.golemEntrySeq(golemId, afterId);
      if (seq === undefined) {
        throw new StyxError(
          "STYX_VALIDATION",
          "`after` names no entry of this golem (it may have expired since): page again from the start.",
          {
            details: [{ path: "/after" }],
          },
        );
      }
      after = seq;
    }
    // Read in chunks with a turn of the event loop between them: a page of 1,000 rows with their
    // embeddings is ~10 ms of a micronode's loop in one synchronous read (bench/fairness.ts).
    const now = this.#d.clock.now();
    const entries: Entry[] = [];
    while (entries.length < limit) {
      if (entries.length > 0) await pause();
      const want = Math.min(SNAPSHOT_CHUNK, limit - entries.length);
      const chunk = await this.#d.store.pageGolemEntries(golemId, after, want, now);
      entries.push(...chunk);
      if (chunk.length < want) break;
      after = (chunk.at(-1) as Entry).seq;
    }
    const last = entries.at(-1);
    return { entries, next: entries.length === limit && last ? last.id : null };
  }

  /** Physically removes expired entries and their vectors; returns how many. */
  async purgeExpired(): Promise<number> {
    const gone = await this.#d.store.purgeExpired(this.#d.clock.now());
    const byNs = new Map<string, number[]>();
    for (const g of gone) {
      for (const ns of entryNamespaces(g)) {
        byNs.set(ns, [...(byNs.get(ns) ?? []), g.seq]);
      }
    }
    await Promise.all([...byNs].map(([ns, seqs]) => this.#d.vectors.remove(ns, seqs)));
    return gone.length;
  }

  /**
   * Vectors for many items: given ones normalised, text-only ones embedded in one call (or null
   * without an embedder). A vector without a direction is refused with 400 naming its field:
   * a caller's non-finite or zero embedding, or a text the embedder answers a zero or
   * non-finite vector for (sending it again would get the same vector).
   */
  async #embeddingsFor(
    items: readonly { given: readonly number[] | undefined; text: string; paths: FieldPaths }[],
  ): Promise<(Float32Array | null)[]> {
    const out: (Float32Array | null)[] = [];
    const toEmbed: number[] = [];
    for (const [i, it] of items.entries()) {
      if (it.given !== undefined) out.push(this.#normalized(it.given, it.paths.embedding));
      else {
        out.push(null);
        if (this.#d.embedder && it.text.length > 0) toEmbed.push(i);
      }
    }
    if (toEmbed.length > 0 && this.#d.embedder) {
      const vectors = await this.#d.embedder.embed(toEmbed.map((i) => (items[i] as { text: string }).text));
      toEmbed.forEach((i, j) => {
        const v = vectors[j];
        if (!v) {
          const path = (items[i] as { paths: FieldPaths }).paths.text;
          throw new StyxError(
            "STYX_VALIDATION",
            "The embedder gives this text no direction (a zero or non-finite vector): send an `embedding` with it, or other text.",
            { details: [{ path, message: "the embedder answered a zero or non-finite vector" }] },
          );
        }
        out[i] = v;
      });
    }
    return out;
  }

  /** The query's vector: the caller's, normalised, or the embedder's for `text`; null for lexical-only. */
  async #embeddingFor(given: readonly number[] | undefined, text: string, paths: FieldPaths): Promise<Float32Array | null> {
    const [v] = await this.#embeddingsFor([{ given, text, paths }]);
    return v ?? null;
  }

  /** A caller's vector checked (dimension, finite, a direction) and L2-normalised, or 400 naming `path`. */
  #normalized(given: readonly number[], path: string): Float32Array {
    const bad = (why: string) => new StyxError("STYX_VALIDATION", `embedding ${why}`, { details: [{ path, message: why }] });
    if (given.length !== this.#d.dimensions) throw bad(`must have ${this.#d.dimensions} numbers (got ${given.length}).`);
    try {
      return normalize(given);
    } catch (err) {
      if (err instanceof StyxError && err.code === "STYX_VALIDATION") throw bad(`has no direction: ${err.message}`);
      throw err;
    }
  }
}

/** Where an input's embedding and text are in the request, for errors. */
export interface FieldPaths {
  readonly embedding: string;
  readonly text: string;
}

/** The embedding and content fields of an entry at `at` (`""` or `/entries/3`). */
export function fieldsAt(at: string): FieldPaths {
  return { embedding: `${at}/embedding`, text: `${at}/content` };
}

/** The bytes an entry holds against the stored-bytes quota: UTF-8 content plus metadata JSON, as the entry stores sum them. */
export function storedBytesOf(content: string, metadata: Record<string, unknown>): number {
  return Buffer.byteLength(content, "utf8") + Buffer.byteLength(JSON.stringify(metadata), "utf8");
}

function resultOf(e: Entry, created: boolean, publicRefused: boolean): WriteResult {
  return {
    id: e.id,
    namespaces: entryNamespaces(e),
    letheAt: e.letheAt,
    letheWaiting: e.letheWaiting,
    created,
    publicRefused,
  };
}

/** Byte limits the schema cannot express (UTF-8 content, JSON metadata); `at` prefixes the error path. */
function checkSizes(input: WriteEntryInput, at = ""): void {
  const bytes = Buffer.byteLength(input.content, "utf8");
  if (bytes > MAX_CONTENT_BYTES) {
    throw new StyxError("STYX_VALIDATION", `content is ${bytes} bytes; the limit is ${MAX_CONTENT_BYTES} (put larger content in a blob).`, {
      details: [{ path: `${at}/content` }],
    });
  }
  if (input.metadata && Buffer.byteLength(JSON.stringify(input.metadata), "utf8") > MAX_METADATA_BYTES) {
    throw new StyxError("STYX_VALIDATION", `metadata is larger than ${MAX_METADATA_BYTES} bytes of JSON.`, {
      details: [{ path: `${at}/metadata` }],
    });
  }
}
