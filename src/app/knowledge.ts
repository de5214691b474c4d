import { UsearchVectorIndex } from "../adapters/ann/usearch-vector-index.js";
import { OpenAiEmbedder } from "../adapters/http/openai-embedder.js";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import type { Embedder } from "../core/knowledge/embedder.js";
import type { EntryStore } from "../core/knowledge/entry-store.js";
import { KnowledgeService } from "../core/knowledge/knowledge-service.js";
import { LetheService } from "../core/knowledge/lethe-service.js";
import { VectorSearch } from "../core/knowledge/vector-search.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { Scheduler } from "../tasks/scheduler.js";

/** The knowledge layer as wired for one process. */
export interface KnowledgeStack {
  readonly service: KnowledgeService;
  readonly lethe: LetheService;
  readonly vectors: VectorSearch;
  /** Loads every stored vector into the ANN indexes (in the background; queries scan exactly meanwhile). */
  rebuild(): Promise<number>;
  close(): Promise<void>;
}

/** Names of the knowledge background tasks. */
export const TASKS = { lethe: "lethe-publish", ttl: "ttl-expiry" } as const;

/** Builds the knowledge services over an entry store and registers their tasks. */
export function buildKnowledge(opts: {
  config: Config;
  clock: Clock;
  entries: EntryStore;
  bus: EventBus;
  salt: string;
  scheduler: Scheduler;
  blobs: Pick<BlobStore, "stat">;
  random?: () => number;
}): KnowledgeStack {
  const { config, clock, entries, scheduler } = opts;
  const index = new UsearchVectorIndex({ dimensions: config.embedDim });
  const vectors = new VectorSearch(index, { dimensions: config.embedDim });
  const embedder: Embedder | undefined = config.embedderUrl
    ? new OpenAiEmbedder({
        url: config.embedderUrl,
        dimensions: config.embedDim,
        ...(config.embedderModel ? { model: config.embedderModel } : {}),
        ...(config.embedderApiKey ? { apiKey: config.embedderApiKey } : {}),
      })
    : undefined;
  const lethe = new LetheService({ store: entries, vectors, bus: opts.bus, clock });
  const service = new KnowledgeService({
    store: entries,
    vectors,
    clock,
    embedder,
    blobs: opts.blobs,
    dimensions: config.embedDim,
    letheDelay: config.letheDelay,
    salt: opts.salt,
    ...(opts.random ? { random: opts.random } : {}),
    // Each publication falls due within seconds: wake the publisher then (the 5-min sweep is the safety net).
    onLetheQueued: (dueAt) => scheduler.wake(TASKS.lethe, dueAt - clock.now() + 50),
  });
  scheduler.add({ name: TASKS.lethe, everyMs: 5 * 60_000, run: () => lethe.publishDue() });
  scheduler.add({ name: TASKS.ttl, everyMs: 60 * 60_000, run: () => service.purgeExpired() });
  return {
    service,
    lethe,
    vectors,
    async rebuild() {
      let n = 0;
      for await (const batch of entries.scanVectors(4096)) {
        const dim = config.embedDim;
        batch.seqs.forEach((seq, i) => {
          vectors.put(batch.namespace, seq, batch.vectors.subarray(i * dim, (i + 1) * dim));
        });
        n += batch.seqs.length;
      }
      return n;
    },
    async close() {
      await index.close();
    },
  };
}
