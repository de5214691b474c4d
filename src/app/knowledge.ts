import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { UsearchVectorIndex } from "../adapters/ann/usearch-vector-index.js";
import { OpenAiEmbedder } from "../adapters/http/openai-embedder.js";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import type { FederationOutlet } from "../core/federation/outlet.js";
import type { Tenancy } from "../core/identity/tenancy.js";
import { BlobService } from "../core/knowledge/blob-service.js";
import type { Embedder } from "../core/knowledge/embedder.js";
import { EntryService } from "../core/knowledge/entry-service.js";
import type { EntryStore, SeqMarks } from "../core/knowledge/entry-store.js";
import { KnowledgeService } from "../core/knowledge/knowledge-service.js";
import { LetheService } from "../core/knowledge/lethe-service.js";
import { VectorSearch } from "../core/knowledge/vector-search.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import type { Signals } from "../core/platform/signals.js";
import type { PublicPipeline } from "../core/privacy/public-pipeline.js";
import type { BlobRelease, StoredBytesRelease, WriteQuota } from "../core/quota/quota-service.js";
import type { Scheduler } from "../tasks/scheduler.js";
import { syncVectors } from "./vector-sync.js";

/** The knowledge layer as wired for one process. */
export interface KnowledgeStack {
  readonly service: KnowledgeService;
  /** One entry at a time: get, list, delete, validate (SPEC §4.1). */
  readonly entries: EntryService;
  /** Blob references: the owner's delete, the collection of orphaned ones (SPEC §10). */
  readonly blobs: BlobService;
  readonly lethe: LetheService;
  readonly vectors: VectorSearch;
  /**
   * Brings the ANN indexes up to date with the store: loads the indexes saved at the last clean
   * shutdown (micronode), then puts every vector stored after them into the exact overlay, which
   * the index worker absorbs in the background. Resolves with how many vectors were put.
   */
  rebuild(): Promise<{ loaded: number; put: number }>;
  /** The outcome of the last rebuild (for logs and tests). */
  readonly rebuilt: { loaded: number; put: number } | undefined;
  /** Wakes the lethe publisher for the next publication due, if any (once the scheduler runs). */
  wakeDue(): Promise<void>;
  /** Stops following the other gateways' vectors, saves the vector cache (micronode) and closes the index. */
  close(): Promise<void>;
}

/** Names of the knowledge background tasks. */
export const TASKS = { lethe: "lethe-publish", ttl: "ttl-expiry", blobs: "blob-collect" } as const;

/**
 * What a saved vector cache covers: every vector with seq ≤ marks, in these files. Version 1
 * (before the all-domains lethe index) had lethe vectors in their domains' indexes only.
 */
interface CacheManifest {
  readonly version: 1 | 2;
  readonly dimensions: number;
  readonly marks: SeqMarks;
  readonly namespaces: readonly { ns: string; file: string }[];
}

const MANIFEST = "manifest.json";

/**
 * Loads the indexes saved at the last clean shutdown and says from which seqs the store must be
 * read on top; undefined (and a full rebuild) when there are none or they do not fit. A version-1
 * cache is kept, with every lethe vector read again (re-adding one to its domain's index keeps it
 * as it was, and the all-domains index gets them all).
 */
async function loadCache(
  dir: string,
  index: UsearchVectorIndex,
  dimensions: number,
  warn: ((msg: string, err?: unknown) => void) | undefined,
): Promise<{ from: SeqMarks; namespaces: number } | undefined> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), "utf8")) as CacheManifest;
  } catch {
    return undefined;
  }
  if ((manifest.version !== 1 && manifest.version !== 2) || manifest.dimensions !== dimensions) return undefined;
  try {
    for (const { ns, file } of manifest.namespaces) await index.load(ns, join(dir, file));
    const from = manifest.version === 1 ? { entries: manifest.marks.entries, lethe: 0 } : manifest.marks;
    return { from, namespaces: manifest.namespaces.length };
  } catch (err) {
    warn?.("vector cache unusable; rebuilding every index from the store", err);
    await index.reset();
    return undefined;
  }
}

/**
 * Saves every index with the seq marks it covers, once the overlay is empty. The manifest is
 * written last (by rename), so a crash mid-save leaves the previous consistent cache or none.
 */
async function saveCache(
  dir: string,
  index: UsearchVectorIndex,
  vectors: VectorSearch,
  entries: EntryStore,
  dimensions: number,
  warn: ((msg: string, err?: unknown) => void) | undefined,
): Promise<void> {
  try {
    await vectors.flush();
    rmSync(join(dir, MANIFEST), { force: true });
    if (vectors.backlog > 0) return; // the index refused some vectors: the next start rebuilds
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const marks = await entries.seqMarks();
    const saved = await index.saveAll(dir);
    const files = new Set(saved.map((s) => s.file));
    for (const f of readdirSync(dir)) if (f.endsWith(".usearch") && !files.has(join(dir, f))) rmSync(join(dir, f), { force: true });
    const manifest: CacheManifest = {
      version: 2,
      dimensions,
      marks,
      namespaces: saved.map((s) => ({ ns: s.ns, file: s.file.slice(dir.length + 1) })),
    };
    writeFileSync(join(dir, `${MANIFEST}.tmp`), JSON.stringify(manifest));
    renameSync(join(dir, `${MANIFEST}.tmp`), join(dir, MANIFEST));
  } catch (err) {
    warn?.("could not save the vector cache; the next start rebuilds from the store", err);
  }
}

/** How long a small batch of vectors waits for more before it goes to the index worker (VectorSearch `gatherMs`). */
const VECTOR_GATHER_MS = 4;

/**
 * Builds the knowledge services over an entry store and registers their tasks. Macronode (with
 * `signals`): this gateway's vector indexes follow the other gateways' writes, subscribed now,
 * before `rebuild` reads the store, so no write falls between the two.
 */
export function buildKnowledge(opts: {
  config: Config;
  clock: Clock;
  entries: EntryStore;
  bus: EventBus;
  key: SecretKey;
  pipeline: PublicPipeline;
  scheduler: Scheduler;
  blobs: Pick<BlobStore, "stat" | "release">;
  /** The per-user write quotas (stored bytes, entries and lethe writes per day); a delete or a released blob gives bytes back. */
  quota?: (WriteQuota & StoredBytesRelease & BlobRelease) | undefined;
  /** Where blob deletions and collections are recorded. */
  audit: Pick<AuditLog, "append">;
  /** The tenancy decision an entry read, delete or validation goes through. */
  access: Pick<Tenancy, "entry">;
  /** Whether a marketplace listing holds a user's blob (SPEC §16); none: nothing does. */
  blobHeld?: ((userId: string, cid: string) => Promise<boolean>) | undefined;
  random?: () => number;
  /** Macronode: the signals that keep every gateway's vector indexes in step. */
  signals?: Signals | undefined;
  /** Reports a recoverable problem (e.g. a vector cache that could not be used). */
  warn?: (msg: string, err?: unknown) => void;
  /** Federation (SPEC §17): where lethe publications become records. */
  federation?: FederationOutlet | undefined;
}): KnowledgeStack {
  const { config, clock, entries, scheduler } = opts;
  const index = new UsearchVectorIndex({ dimensions: config.embedDim });
  // Micronode only: a macronode gateway keeps nothing on local disk and loads its indexes from PostgreSQL.
  const cacheDir = config.amnesia || config.profile === "macro" ? undefined : join(resolve(config.dataDir), "vectors");
  // Single writes gather 4 ms before a batch goes to the index worker (one message for several vectors).
  const vectors = new VectorSearch(index, { dimensions: config.embedDim, gatherMs: VECTOR_GATHER_MS });
  const embedder: Embedder | undefined = config.embedderUrl
    ? new OpenAiEmbedder({
        url: config.embedderUrl,
        dimensions: config.embedDim,
        ...(config.embedderModel ? { model: config.embedderModel } : {}),
        ...(config.embedderApiKey ? { apiKey: config.embedderApiKey } : {}),
      })
    : undefined;
  // Each publication falls due within seconds: wake the publisher then (the 5-min sweep is the safety net).
  const wakeLethe = (dueAt: number) => scheduler.wake(TASKS.lethe, dueAt - clock.now() + 50);
  const lethe = new LetheService({
    store: entries,
    vectors,
    bus: opts.bus,
    clock,
    pipeline: opts.pipeline,
    letheK: config.letheK,
    federation: opts.federation,
    embedDim: config.embedDim,
  });
  const service = new KnowledgeService({
    store: entries,
    vectors,
    clock,
    embedder,
    blobs: opts.blobs,
    quota: opts.quota,
    dimensions: config.embedDim,
    letheDelay: config.letheDelay,
    key: opts.key,
    pipeline: opts.pipeline,
    letheK: config.letheK,
    ...(opts.random ? { random: opts.random } : {}),
    onLetheQueued: wakeLethe,
  });
  const records = new EntryService({ store: entries, vectors, clock, key: opts.key, access: opts.access, quota: opts.quota });
  scheduler.add({ name: TASKS.lethe, everyMs: 5 * 60_000, run: () => lethe.publishDue() });
  const blobs = new BlobService({
    store: entries,
    blobs: opts.blobs,
    quota: opts.quota,
    audit: opts.audit,
    clock,
    graceMs: config.blobGraceMs,
    held: opts.blobHeld,
  });
  scheduler.add({ name: TASKS.ttl, everyMs: 60 * 60_000, run: () => service.purgeExpired() });
  // Hourly, like the TTL task whose purges orphan blobs: a blob goes between grace and grace + 1 h after its last entry.
  scheduler.add({ name: TASKS.blobs, everyMs: 60 * 60_000, run: () => blobs.collect() });
  const sync = opts.signals
    ? syncVectors({
        vectors,
        signals: opts.signals,
        entries,
        dimensions: config.embedDim,
        warn: (msg, err) => opts.warn?.(msg, err),
      })
    : undefined;
  let rebuilt: { loaded: number; put: number } | undefined;
  return {
    service,
    entries: records,
    blobs,
    lethe,
    vectors,
    get rebuilt() {
      return rebuilt;
    },
    async rebuild() {
      let n = 0;
      const cached = cacheDir ? await loadCache(cacheDir, index, config.embedDim, opts.warn) : undefined;
      for await (const batch of entries.scanVectors(4096, cached?.from)) {
        const dim = config.embedDim;
        batch.seqs.forEach((seq, i) => {
          vectors.restore(batch.namespace, seq, batch.vectors.subarray(i * dim, (i + 1) * dim));
        });
        n += batch.seqs.length;
      }
      rebuilt = { loaded: cached?.namespaces ?? 0, put: n };
      return rebuilt;
    },
    async wakeDue() {
      const due = await lethe.nextDue();
      if (due !== undefined) wakeLethe(due);
    },
    async close() {
      sync?.stop();
      if (cacheDir) await saveCache(cacheDir, index, vectors, entries, config.embedDim, opts.warn);
      await index.close();
    },
  };
}
