import type { DeathRecord } from "../../core/coordination/death.js";
import type { ErasureJob, ErasureState, ErasureTarget } from "../../core/identity/erasure.js";

/** A row of `erasure_jobs` as both engines return it (PostgreSQL's bigint may come as a string). */
export interface ErasureJobRow {
  id: string;
  kind: string;
  user_id: string | null;
  golem_id: string | null;
  requested_by: string | null;
  state: string;
  step: number | string;
  created_at: number | string;
  updated_at: number | string;
  finished_at: number | string | null;
}

/** The columns of `job`, for an insert. */
export function erasureJobRow(job: ErasureJob): ErasureJobRow {
  const t = job.target;
  return {
    id: job.id,
    kind: job.kind,
    user_id: t?.userId ?? null,
    golem_id: t?.kind === "golem" ? t.golemId : null,
    requested_by: job.requestedBy,
    state: job.state,
    step: job.step,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
    finished_at: job.finishedAt,
  };
}

/** The job a row holds. */
export function toErasureJob(r: ErasureJobRow): ErasureJob {
  const kind = r.kind === "golem" ? "golem" : "user";
  let target: ErasureTarget | null = null;
  if (r.user_id !== null) {
    target = kind === "golem" ? { kind, userId: r.user_id, golemId: r.golem_id ?? "" } : { kind, userId: r.user_id };
  }
  return {
    id: r.id,
    kind,
    target,
    requestedBy: r.requested_by,
    state: r.state as ErasureState,
    step: Number(r.step),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

/** The columns an anonymized death record rewrites (core/identity/erasure.ts anonymizedDeath decides their values). */
export function anonymizedDeathColumns(d: DeathRecord): {
  golem_id: string;
  user_id: string;
  testament_excerpt: string | null;
  somatic_fragment: string | null;
  result: string;
} {
  return {
    golem_id: d.golemId,
    user_id: d.userId,
    testament_excerpt: d.testamentExcerpt,
    somatic_fragment: d.somaticFragment === null ? null : JSON.stringify(d.somaticFragment),
    result: JSON.stringify(d.result),
  };
}
