import type { DeathStore } from "../coordination/death.js";
import type { StreamEraser } from "../fabric/history.js";
import type { Presence } from "../fabric/presence.js";
import { golemStream, userStream } from "../fabric/streams.js";
import type { EntryStore } from "../knowledge/entry-store.js";
import type { Entry } from "../knowledge/types.js";
import type { AuditLog } from "../platform/audit.js";
import type { BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import { newId } from "../platform/crypto.js";
import { StyxError } from "../platform/errors.js";
import type { BlobRelease, QuotaService } from "../quota/quota-service.js";
import {
  anonymizedDeath,
  ERASURE_STEPS,
  type ErasureJob,
  type ErasureStep,
  type ErasureStore,
  type ErasureTarget,
  erasedGolemAlias,
  erasedUserAlias,
} from "./erasure.js";
import type { IdentityStore } from "./identity-store.js";
import type { CallContext } from "./principal.js";
import type { Golem } from "./types.js";

/** Entries read per page while erasing them. */
const ENTRY_PAGE = 100;
/** Jobs one run of the erasure task takes up. */
const JOB_BATCH = 20;

/** Dependencies of the erasure service. */
export interface ErasureServiceDeps {
  readonly store: ErasureStore;
  readonly identity: Pick<IdentityStore, "getGolem" | "listGolems" | "listApiKeys" | "listSessions">;
  /** Revokes a key (audited; its sockets close, caches forget it on every gateway). */
  readonly revokeKey: (actor: string, keyId: string) => Promise<unknown>;
  /** Ends a session (audited; its sockets close). */
  readonly endSession: (actor: string, sessionId: string) => Promise<unknown>;
  readonly presence: Pick<Presence, "forget">;
  readonly entries: Pick<EntryStore, "pageGolemEntries" | "listEntries" | "blobReferences" | "dropBlobOrphan">;
  /** Deletes one entry as `DELETE /v1/styx/entries/:id` does (rows, vectors, queued lethe copy, bytes). */
  readonly removeEntry: (entry: Entry) => Promise<unknown>;
  readonly blobs: Pick<BlobStore, "stat" | "release" | "owned">;
  readonly quota: BlobRelease & Pick<QuotaService, "forgetUser">;
  readonly history: StreamEraser;
  readonly deaths: Pick<DeathStore, "find">;
  /** A golem's keyed source hash (PheromoneService.sourceOf): its row of the sealed source directory goes. */
  readonly sourceOf: (golemId: string) => string;
  readonly audit: Pick<AuditLog, "append">;
  readonly clock: Clock;
  /** Test hook: called before each step runs (a crash test stops the process there). */
  readonly beforeStep?: ((job: ErasureJob, step: ErasureStep) => Promise<void>) | undefined;
}

/**
 * Erasure of a golem or a user (SPEC §3) as one durable job per target: `request` stores the job
 * and answers at once; `runPending` (the erasure task, the leader's on a macronode) runs every
 * unfinished job step by step, recording each finished step, so a crash resumes where it stopped.
 * What stays by design: anonymized lethe copies, the anonymized death record, audit records.
 */
export class ErasureService {
  readonly #d: ErasureServiceDeps;

  constructor(deps: ErasureServiceDeps) {
    this.#d = deps;
  }

  /** Stores the erasure of `target` (one job per target while it runs), audited `<kind>.erase`. */
  async request(actor: string, target: ErasureTarget, ctx: CallContext = {}): Promise<ErasureJob> {
    const d = this.#d;
    const now = d.clock.now();
    const job = await d.store.create({
      id: newId("er"),
      target,
      kind: target.kind,
      requestedBy: actor,
      state: "running",
      step: 0,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
    });
    await d.audit.append({
      actor,
      action: `${target.kind}.erase`,
      target: target.kind === "golem" ? `golem:${target.golemId}` : `user:${target.userId}`,
      ...ctx,
      details: { job_id: job.id, user_id: target.userId },
    });
    return job;
  }

  /** The job `id` as seen by `userId` (null: the admin): 404 for another user's job. */
  async status(id: string, userId: string | null): Promise<ErasureJob> {
    const job = await this.#d.store.get(id);
    if (!job || (userId !== null && job.requestedBy !== `user:${userId}`)) {
      throw new StyxError("STYX_NOT_FOUND", "No such erasure job.");
    }
    return job;
  }

  /** Runs every unfinished job to its end (the erasure task). Returns how many finished. */
  async runPending(): Promise<number> {
    let finished = 0;
    for (;;) {
      const jobs = await this.#d.store.unfinished(JOB_BATCH);
      for (const job of jobs) {
        await this.run(job);
        finished++;
      }
      if (jobs.length < JOB_BATCH) return finished;
    }
  }

  /** Runs `job` from its recorded step to the end. */
  async run(job: ErasureJob): Promise<void> {
    const d = this.#d;
    const target = job.target;
    if (job.state === "done" || !target) return;
    const steps: readonly ErasureStep[] = ERASURE_STEPS[target.kind];
    for (let i = job.step; i < steps.length; i++) {
      const step = steps[i] as ErasureStep;
      await d.beforeStep?.(job, step);
      await this.#step(job, target, step);
      await d.store.advance(job.id, i + 1, d.clock.now());
    }
    await d.store.finish(job.id, d.clock.now());
    await d.audit.append({
      actor: "task",
      action: "erasure.done",
      target: `erasure:${job.id}`,
      details: { kind: target.kind },
    });
  }

  async #step(job: ErasureJob, target: ErasureTarget, step: ErasureStep): Promise<void> {
    const d = this.#d;
    const actor = `erasure:${job.id}`;
    const golems = await this.#golems(target);
    switch (step) {
      case "credentials": {
        const golemId = target.kind === "golem" ? target.golemId : null;
        for (const key of await d.identity.listApiKeys(target.userId)) {
          if (golemId !== null && key.golemId !== golemId) continue;
          if (key.revokedAt === null) await d.revokeKey(actor, key.id);
        }
        for (const s of await d.identity.listSessions(target.userId, d.clock.now())) {
          if (golemId === null || s.golemId === golemId) await d.endSession(actor, s.id).catch(ignoreNotFound);
        }
        return;
      }
      case "presence":
        for (const id of golems) await d.presence.forget(id);
        return;
      case "history":
        for (const id of golems) await d.history.eraseStream(golemStream(id));
        if (target.kind === "golem") {
          // The owner's stream and its other golems' streams (clade deltas the golem sent) stay;
          // their events naming the golem become tombstones.
          await d.history.redact(userStream(target.userId), target.golemId);
          for (const g of await d.identity.listGolems(target.userId))
            if (g.id !== target.golemId) await d.history.redact(golemStream(g.id), target.golemId);
        } else await d.history.eraseStream(userStream(target.userId));
        return;
      case "entries":
        if (target.kind === "golem") await this.#eraseGolemEntries(target.userId, target.golemId);
        else await this.#eraseUserEntries(target.userId);
        return;
      case "blobs":
        // Every blob the user holds, referenced or not (grimoire backups, death bundles).
        for await (const cid of d.blobs.owned(target.userId)) {
          await d.quota.releaseBlob(target.userId, cid, d.blobs);
          await d.entries.dropBlobOrphan(target.userId, cid);
        }
        return;
      case "records":
        for (const id of golems) {
          const death = await d.deaths.find(id);
          const alias = erasedGolemAlias(job.id, id);
          await d.store.eraseGolemRecords(id, d.sourceOf(id), death && anonymizedDeath(death, alias, target.kind === "user"));
        }
        if (target.kind === "user") {
          await d.store.eraseUserRecords(target.userId, erasedUserAlias(job.id), d.clock.now());
          await d.quota.forgetUser(target.userId);
        }
        return;
    }
  }

  /** The golems the job erases that still have a row (a golem job: its golem while its row lasts). */
  async #golems(target: ErasureTarget): Promise<string[]> {
    if (target.kind === "golem") {
      const g: Golem | undefined = await this.#d.identity.getGolem(target.golemId);
      return g && g.userId === target.userId ? [g.id] : [target.golemId];
    }
    return (await this.#d.identity.listGolems(target.userId)).map((g) => g.id);
  }

  /**
   * The golem's entries, each with its blob when no other entry of the user names it (released
   * first: a crash between leaves the entry to the resumed step, which finds the blob gone).
   */
  async #eraseGolemEntries(userId: string, golemId: string): Promise<void> {
    const d = this.#d;
    let after = 0;
    for (;;) {
      // now 0: expired entries not yet purged are the golem's too.
      const page = await d.entries.pageGolemEntries(golemId, after, ENTRY_PAGE, 0);
      for (const e of page) {
        if (e.userId !== userId) continue;
        const cid = e.contentBlob;
        if (cid !== null && (await d.entries.blobReferences(userId, cid, 0)) <= 1) await d.quota.releaseBlob(userId, cid, d.blobs);
        await d.removeEntry(e);
        if (cid !== null && (await d.entries.blobReferences(userId, cid, 0)) === 0) await d.entries.dropBlobOrphan(userId, cid);
        after = e.seq;
      }
      if (page.length < ENTRY_PAGE) return;
    }
  }

  /** Every entry of the user (its blobs go in the blobs step). */
  async #eraseUserEntries(userId: string): Promise<void> {
    const d = this.#d;
    for (;;) {
      const page = await d.entries.listEntries({ userId, cladeOnly: false, metadata: [], now: 0 }, undefined, ENTRY_PAGE);
      for (const e of page) await d.removeEntry(e);
      if (page.length < ENTRY_PAGE) return;
    }
  }
}

function ignoreNotFound(err: unknown): void {
  if (!(err instanceof StyxError && err.code === "STYX_NOT_FOUND")) throw err;
}
