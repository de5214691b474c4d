import type { DeathRecord } from "../../core/coordination/death.js";
import { ERASURE_STEPS, type ErasureJob } from "../../core/identity/erasure.js";
import type { ExportRecord } from "../../core/identity/export-service.js";
import type { ApiKey, Golem, Session, User } from "../../core/identity/types.js";
import { atomicToUsd } from "../../core/payments/money.js";
import { iso } from "../../core/platform/clock.js";
import { presentAchievement, presentDeathFacts, presentGrave } from "./coordination.js";
import { presentEntry } from "./knowledge.js";

/** Domain → wire JSON for identity. The only place these shapes are built. */

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** A user. */
export function presentUser(u: User) {
  return {
    id: u.id,
    wallet_address: u.walletAddress,
    reputation: u.reputation,
    tier: u.tier,
    created_at: iso(u.createdAt),
    updated_at: iso(u.updatedAt),
  };
}

/** A key without its secret or hash; `status` as of `now`. */
export function presentKey(k: ApiKey, now: number) {
  const status = k.revokedAt !== null ? "revoked" : k.expiresAt !== null && k.expiresAt <= now ? "expired" : "active";
  return {
    id: k.id,
    user_id: k.userId,
    golem_id: k.golemId,
    name: k.name,
    scopes: [...k.scopes],
    status: status as "active" | "revoked" | "expired",
    created_at: iso(k.createdAt),
    expires_at: isoOrNull(k.expiresAt),
    revoked_at: isoOrNull(k.revokedAt),
  };
}

/** A golem, for its owner. */
export function presentGolem(g: Golem) {
  return {
    id: g.id,
    user_id: g.userId,
    generation: g.generation,
    parent_golem_id: g.parentGolemId,
    status: g.status,
    archetype: g.archetype,
    wallet_address: g.walletAddress,
    created_at: iso(g.createdAt),
    died_at: isoOrNull(g.diedAt),
    death_cause: g.deathCause,
    ticks_lived: g.ticksLived,
  };
}

/** One golem for its owner (or itself): its age and, once dead, what its death record tells. */
export function presentGolemDetail(g: Golem, death: DeathRecord | undefined, now: number) {
  const end = g.diedAt ?? death?.diedAt ?? now;
  return {
    ...presentGolem(g),
    age_seconds: Math.floor(Math.max(0, end - g.createdAt) / 1000),
    death: death
      ? { died_at: iso(death.diedAt), death_cause: death.deathCause, ticks_lived: death.ticksLived, ...presentDeathFacts(death) }
      : null,
  };
}

/** A wallet session without its token or hash; `current` when `credentialId` (the caller's) is this session. */
export function presentSession(s: Session, credentialId: string) {
  return {
    id: s.id,
    user_id: s.userId,
    golem_id: s.golemId,
    created_at: iso(s.createdAt),
    expires_at: iso(s.expiresAt),
    current: s.id === credentialId,
  };
}

/** What an erasure keeps by design (SPEC §3), named in every job view. */
const ERASURE_KEEPS = ["anonymized_lethe_copies", "anonymized_death_record", "audit_records"] as const;

/** An erasure job, for the owner or the admin: no id of what it erases. */
export function presentErasureJob(j: ErasureJob) {
  return {
    id: j.id,
    kind: j.kind,
    state: j.state,
    step: j.step,
    steps: [...ERASURE_STEPS[j.kind]],
    keeps: [...ERASURE_KEEPS],
    created_at: iso(j.createdAt),
    updated_at: iso(j.updatedAt),
    finished_at: isoOrNull(j.finishedAt),
  };
}

/** One line of `GET /v1/styx/export`: the record's wire form with its `type` first (never a secret or a hash). */
export function presentExportRecord(r: ExportRecord, now: number): Record<string, unknown> {
  switch (r.type) {
    case "user":
      return { type: r.type, ...presentUser(r.user) };
    case "golem":
      return { type: r.type, ...presentGolem(r.golem) };
    case "api_key":
      return { type: r.type, ...presentKey(r.key, now) };
    case "entry":
      return { type: r.type, ...presentEntry(r.entry) };
    case "death":
      return { type: r.type, ...presentGrave(r.death) };
    case "achievement":
      return { type: r.type, golem_id: r.golemId, ...presentAchievement(r.unlocked) };
    case "blob":
      return { type: r.type, cid: r.cid, size: r.size };
    case "listing": {
      // The user's own listing as they wrote it (the escrow wrap stays out: it is the operator's).
      const l = r.listing;
      return {
        type: r.type,
        id: l.id,
        kind: l.kind,
        golem_id: l.golemId,
        title: l.title,
        description: l.description,
        preview: l.preview,
        domain: l.domain,
        price_usd: atomicToUsd(l.price),
        entry_count: l.entryCount,
        content_cid: l.contentCid,
        payout_address: l.payoutAddress,
        status: l.status,
        sales: l.sales,
        created_at: iso(l.createdAt),
        expires_at: iso(l.expiresAt),
        ended_at: isoOrNull(l.endedAt),
      };
    }
    case "purchase": {
      const p = r.purchase;
      return {
        type: r.type,
        id: p.id,
        listing_id: p.listingId,
        golem_id: p.buyerGolemId,
        wrapped_cek: p.wrappedCek,
        price_usd: atomicToUsd(p.price),
        fee_usd: atomicToUsd(p.fee),
        payment_id: p.paymentId,
        created_at: iso(p.createdAt),
      };
    }
    case "rating":
      return {
        type: r.type,
        listing_id: r.rating.listingId,
        rating: r.rating.rating,
        comment: r.rating.comment,
        created_at: iso(r.rating.createdAt),
      };
    case "federation_link":
      return {
        type: r.type,
        key_id: r.link.keyId,
        instance_id: r.link.instanceId,
        version: r.link.version,
        flows: r.link.flows,
        domains: r.link.domains,
        embed_dim: r.link.embedDim,
        hello_at: iso(r.link.helloAt),
        last_seen_at: iso(r.link.lastSeenAt),
      };
  }
}
