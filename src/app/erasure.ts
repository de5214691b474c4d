import type { Config } from "../config/load.js";
import type { StreamEraser } from "../core/fabric/history.js";
import type { AuthService } from "../core/identity/auth-service.js";
import { ErasureService } from "../core/identity/erasure-service.js";
import { exportUser } from "../core/identity/export-service.js";
import type { IdentityService } from "../core/identity/identity-service.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { EntryService } from "../core/knowledge/entry-service.js";
import type { Clock } from "../core/platform/clock.js";
import type { BlobRelease, QuotaService } from "../core/quota/quota-service.js";
import type { ErasureRouteDeps } from "../server/routes/identity/erasure.routes.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { ProcessLog } from "./log.js";
import type { Storage } from "./storage.js";

/** Name of the erasure task: runs unfinished erasure jobs (the leader's on a macronode). */
export const ERASURE_TASK = "erasure";

/** How often the erasure task looks for unfinished jobs besides the wake-ups of new ones (ms). */
const ERASURE_EVERY_MS = 60_000;

/**
 * Erasure and export (SPEC §3): the job service over the profile's stores, run by the erasure
 * task — at once when this process starts leading (a job a crash interrupted resumes then), on
 * each new job's wake-up, and every minute — and the export reader.
 */
export function buildErasure(opts: {
  config: Pick<Config, "erasureStepPauseMs">;
  clock: Clock;
  storage: Pick<Storage, "erasure" | "entries" | "blobs" | "presence" | "audit" | "coordination" | "marketplace" | "federation">;
  identityStore: Pick<IdentityStore, "getUser" | "getGolem" | "listGolems" | "listApiKeys" | "listSessions">;
  identity: Pick<IdentityService, "revokeKey">;
  auth: Pick<AuthService, "endSessionAs">;
  entries: Pick<EntryService, "remove">;
  quota: BlobRelease & Pick<QuotaService, "forgetUser">;
  history: StreamEraser;
  /** A golem's keyed source hash (PheromoneService.sourceOf). */
  sourceOf: (golemId: string) => string;
  scheduler: Scheduler;
  log: ProcessLog;
}): ErasureRouteDeps & { readonly service: ErasureService } {
  const { storage, clock, config, log } = opts;
  const pause = config.erasureStepPauseMs;
  const service = new ErasureService({
    store: storage.erasure,
    identity: opts.identityStore,
    revokeKey: (actor, keyId) => opts.identity.revokeKey(actor, keyId),
    endSession: (actor, id) => opts.auth.endSessionAs(actor, id),
    presence: storage.presence,
    entries: storage.entries,
    removeEntry: (e) => opts.entries.remove(e),
    blobs: storage.blobs,
    quota: opts.quota,
    history: opts.history,
    deaths: storage.coordination.deaths,
    sourceOf: opts.sourceOf,
    audit: storage.audit,
    clock,
    beforeStep: async (job, step) => {
      log.info({ job_id: job.id, kind: job.kind, step }, "erasure step");
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    },
  });
  opts.scheduler.add({ name: ERASURE_TASK, everyMs: ERASURE_EVERY_MS, atLead: true, run: () => service.runPending() });
  return {
    service,
    jobs: service,
    start: () => opts.scheduler.wake(ERASURE_TASK, 0),
    exportOf: (userId) =>
      exportUser(
        {
          identity: opts.identityStore,
          entries: storage.entries,
          deaths: storage.coordination.deaths,
          achievements: storage.coordination.achievements,
          blobs: storage.blobs,
          marketplace: storage.marketplace,
          federation: storage.federation,
          clock,
        },
        userId,
      ),
  };
}
