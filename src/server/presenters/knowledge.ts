import type { RankedHit } from "../../core/knowledge/query.js";
import type { Entry } from "../../core/knowledge/types.js";
import { entryNamespaces } from "../../core/knowledge/types.js";
import { iso } from "../../core/platform/clock.js";

/** Domain → wire JSON for knowledge. Lethe hits carry no owner, golem or key identifier. */

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** A ranked hit (with its factors when `explain`). */
export function presentHit(h: RankedHit, explain: boolean) {
  return {
    id: h.id,
    layer: h.layer,
    namespace: h.namespace,
    score: round(h.score),
    content: h.content,
    category: h.category,
    domain: h.domain,
    regime: h.regime,
    confidence: h.confidence,
    is_bloodstain: h.isBloodstain,
    created_at: iso(h.createdAt),
    ...(explain
      ? {
          explain: {
            semantic: round(h.explain.semantic),
            temporal: round(h.explain.temporal),
            quality: round(h.explain.quality),
            provenance: h.explain.provenance,
            bloodstain: h.explain.bloodstain,
            layer_weight: h.explain.layer_weight,
          },
        }
      : {}),
  };
}

/** The answer to a query: its hits, best first. */
export function presentQueryAnswer(hits: readonly RankedHit[], explain: boolean) {
  return { hits: hits.map((h) => presentHit(h, explain)) };
}

/** A page of a paged (JSON) snapshot; `next_after` is the cursor of the next page. */
export function presentSnapshotPage(page: { readonly entries: readonly Entry[]; readonly next: string | null }) {
  return { entries: page.entries.map(presentSnapshotEntry), next_after: page.next };
}

/** A vault entry in a snapshot export. */
export function presentSnapshotEntry(e: Entry) {
  return {
    id: e.id,
    golem_id: e.golemId,
    category: e.category,
    content: e.content,
    content_hash: `b3:${e.contentHash}`,
    content_blob: e.contentBlob,
    namespaces: entryNamespaces(e),
    domain: e.domain,
    regime: e.regime,
    confidence: e.confidence,
    affect: e.affect,
    emotion: e.emotion,
    metadata: e.metadata,
    embedding: e.embedding ? Array.from(e.embedding) : null,
    is_bloodstain: e.isBloodstain,
    created_at: iso(e.createdAt),
    expires_at: e.expiresAt === null ? null : iso(e.expiresAt),
  };
}

/** One of the caller's entries (get, list): the snapshot view with its validation counts. */
export function presentEntry(e: Entry) {
  return { ...presentSnapshotEntry(e), validations: e.validations, contradictions: e.contradictions };
}
