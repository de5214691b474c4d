import type { EventBus } from "../fabric/event-bus.js";
import type { FederationOutlet, OwnRecord } from "../federation/outlet.js";
import { type FederationRecord, federatedSource, isFederatedSource } from "../federation/records.js";
import type { Clock } from "../platform/clock.js";
import { blake3Hex, newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import type { PublicPipeline } from "../privacy/public-pipeline.js";
import { roundToHour } from "./anonymize.js";
import type { EntryStore } from "./entry-store.js";
import { DEFAULT_LETHE_K } from "./knowledge-service.js";
import { isEstablished } from "./query.js";
import type { LetheCandidate, LetheEntry } from "./types.js";
import { letheIndexNamespaces, namespaceOf } from "./types.js";
import type { VectorSearch } from "./vector-search.js";

/** Lethe writes closer than this (cosine) reinforce the existing entry instead of adding one. */
export const LETHE_DUPLICATE_COSINE = 0.92;

/**
 * Due candidates read per query of a publication pass. Each carries up to 64 KiB of text, read
 * and parsed on the event loop in one go, and they are published one at a time (each waits for
 * its scrub): 500 at once, behind a backlog of 64 KiB copies, held the loop for tens of ms and
 * kept ~32 MB alive while the pass went through them.
 */
export const PUBLISH_BATCH = 4;

/** What one publication pass did. */
export interface PublishReport {
  readonly published: number;
  readonly reinforced: number;
}

/**
 * Publishes due lethe candidates (SPEC §4.2, §4.4): a near-duplicate of an existing entry in
 * the domain (same content, or cosine > 0.92) reinforces it — a confirmation when it comes from
 * another user (sources are keyed hashes of users: a second golem of the same user only
 * refreshes it) — otherwise it becomes a new public entry. Each emits `styx:lethe:published`.
 * Candidates waiting for k-anonymity are never due, so they never reach this pass. With
 * federation (SPEC §17) each publication or reinforcement from a local source is also a record of
 * this Styx (queued for the upstream in its transaction, relayed to downstreams), and records of
 * other instances are published through the same pass (`applyFederated`).
 */
export class LetheService {
  readonly #store: EntryStore;
  readonly #vectors: VectorSearch;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #pipeline: Pick<PublicPipeline, "publishable" | "text" | "token">;
  readonly #letheK: number | undefined;
  readonly #federation: FederationOutlet | undefined;
  readonly #embedDim: number | undefined;
  #swept = false;

  /**
   * `letheK`: STYX_LETHE_K, for the one sweep of waiting candidates after a restart (omitted: no
   * sweep); `federation`: where publications become records (SPEC §17); `embedDim`:
   * STYX_EMBED_DIM, the only length of a federated record's embedding kept (others dropped).
   */
  constructor(deps: {
    store: EntryStore;
    vectors: VectorSearch;
    bus: EventBus;
    clock: Clock;
    pipeline: Pick<PublicPipeline, "publishable" | "text" | "token">;
    letheK?: number | undefined;
    federation?: FederationOutlet | undefined;
    embedDim?: number | undefined;
  }) {
    this.#federation = deps.federation;
    this.#embedDim = deps.embedDim;
    this.#store = deps.store;
    this.#vectors = deps.vectors;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#pipeline = deps.pipeline;
    this.#letheK = deps.letheK;
  }

  /**
   * Publishes every candidate due now (in batches); safe to run concurrently with writes and
   * across restarts. The first pass of a process first releases candidates left waiting in
   * domains that now have k writers (STYX_LETHE_K lowered across a restart): they fall due
   * after their own delay, counted from then.
   */
  async publishDue(batch = PUBLISH_BATCH): Promise<PublishReport> {
    if (!this.#swept && this.#letheK !== undefined) {
      await this.#store.releaseLethe(this.#letheK, this.#clock.now());
      this.#swept = true;
    }
    let published = 0;
    let reinforced = 0;
    for (;;) {
      const now = this.#clock.now();
      const due = await this.#store.dueLethe(now, batch);
      for (const c of due) {
        const r = await this.#publishOne(c, now);
        if (r === "published") published++;
        if (r === "reinforced") reinforced++;
      }
      if (due.length < batch) return { published, reinforced };
    }
  }

  /** The earliest pending publication time. */
  nextDue(): Promise<number | undefined> {
    return this.#store.nextLetheDue();
  }

  /**
   * Publishes another instance's lethe record like a local candidate (SPEC §17.3): its content
   * scrubbed again (and its metadata: none travels), domain and regime through the public
   * pipeline, its embedding kept only in this Styx's dimension, its source `origin:source` (a
   * writer of the domain for k-anonymity, a distinct source for quorum). Queued due now and
   * published by the one publication pass (§4.4 hygiene: a near duplicate reinforces), with
   * `"federated": true` on its event; never queued for an upstream.
   */
  async applyFederated(record: FederationRecord & { kind: "lethe" }): Promise<"published" | "reinforced" | "gone"> {
    const f = record.lethe;
    const writer = { userId: null };
    const domain = this.#pipeline.token(record.domain, writer);
    const regime = f.regime === null ? null : this.#pipeline.token(f.regime, writer);
    if (domain === undefined || regime === undefined) throw new StyxError("STYX_NOT_PUBLISHABLE");
    const now = this.#clock.now();
    const candidate: LetheCandidate = {
      id: newId("lth"),
      dueAt: now,
      domain,
      category: f.category,
      content: await this.#pipeline.text(f.content, writer),
      embedding: f.embedding && f.embedding.length === this.#embedDim ? f.embedding : null,
      regime,
      confidence: f.confidence,
      isBloodstain: f.isBloodstain,
      metadata: {},
      source: federatedSource({ origin: record.origin, source: f.source }),
      createdAt: roundToHour(record.at),
      k: this.#letheK ?? DEFAULT_LETHE_K,
      delayMs: 0,
    };
    await this.#store.queueLethe(candidate);
    return this.#publishOne(candidate, now);
  }

  async #publishOne(queued: LetheCandidate, now: number): Promise<"published" | "reinforced" | "gone"> {
    // Scrubbed when queued; matched again here against identifiers created since (another gateway's, a late signal),
    // and generalized when a generalizer is configured.
    const c = { ...queued, content: await this.#pipeline.publishable(queued.content) };
    const hash = blake3Hex(c.content);
    const federated = isFederatedSource(c.source);
    const own = federated ? undefined : await this.#own(c);
    const twin = (await this.#store.findLetheByHash(c.domain, hash)) ?? (await this.#nearest(c));
    if (twin) {
      const updated = await this.#store.reinforceLethe(
        c.id,
        twin.seq,
        {
          source: c.source,
          // The source's own confidence (the candidate carries it halved), for the contradiction rule.
          confidence: c.confidence * 2,
          fromBloodstain: c.isBloodstain,
          at: now,
        },
        own?.outbox,
      );
      if (!updated) return "gone";
      await this.#emit(updated, true, federated);
      this.#federation?.written(own);
      return "reinforced";
    }
    const entry = await this.#store.publishLethe(c, hash, now, own?.outbox);
    if (!entry) return "gone";
    const embedding = entry.embedding;
    if (embedding) for (const ns of letheIndexNamespaces(entry.domain)) this.#vectors.put(ns, entry.seq, embedding);
    await this.#emit(entry, false, federated);
    this.#federation?.written(own);
    return "published";
  }

  /** A local candidate as this Styx's record: its published (scrubbed) text, its time to the hour. */
  async #own(c: LetheCandidate): Promise<OwnRecord | undefined> {
    return this.#federation?.own({
      kind: "lethe",
      id: c.id,
      domain: c.domain,
      at: c.createdAt,
      lethe: {
        category: c.category,
        content: c.content,
        regime: c.regime,
        confidence: c.confidence,
        isBloodstain: c.isBloodstain,
        source: c.source,
        embedding: c.embedding,
      },
    });
  }

  /** The domain's nearest entry above the duplicate threshold: its own index, so other domains never reinforce it. */
  async #nearest(c: LetheCandidate): Promise<LetheEntry | undefined> {
    if (!c.embedding) return undefined;
    const [best] = await this.#vectors.search(namespaceOf("lethe", c.domain), c.embedding, 1);
    if (!best || best.similarity <= LETHE_DUPLICATE_COSINE) return undefined;
    return (await this.#store.getLetheBySeqs([best.key], { domains: [c.domain] }))[0];
  }

  async #emit(e: LetheEntry, reinforced: boolean, federated: boolean): Promise<void> {
    await this.#bus.publish({
      stream: `domain:${e.domain}`,
      channel: "styx:lethe:published",
      payload: {
        id: e.id,
        domain: e.domain,
        category: e.category,
        reinforced,
        confirmations: e.sources.length - 1,
        established: isEstablished(e),
        ...(federated ? { federated: true } : {}),
      },
    });
  }
}
