import { actorOf, type CallContext, type Principal } from "../identity/principal.js";
import type { AuditLog } from "../platform/audit.js";
import { type BlobStore, blobNotFound } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import { StyxError } from "../platform/errors.js";
import type { BlobRelease } from "../quota/quota-service.js";
import type { EntryStore } from "./entry-store.js";

/** Orphan marks read per batch by the collection. */
const COLLECT_BATCH = 200;

/** The answer to `DELETE /v1/styx/blobs/:cid`. */
export interface BlobDeleted {
  readonly cid: string;
  readonly deleted: true;
}

/** What one collection run did. */
export interface BlobCollection {
  /** References released (their bytes given back; the bytes themselves go once no user holds the cid). */
  readonly released: number;
  /** Marks dropped because an entry names the blob again. */
  readonly kept: number;
}

/** Dependencies of the blob service. */
export interface BlobServiceDeps {
  /** Who references what: counted from the entries, orphan marks set as entries go. */
  readonly store: Pick<EntryStore, "blobReferences" | "blobOrphans" | "dropBlobOrphan">;
  readonly blobs: Pick<BlobStore, "stat" | "release">;
  /** Gives a released blob's bytes back to the stored-bytes quota; none: releases without counting. */
  readonly quota?: BlobRelease | undefined;
  readonly audit: Pick<AuditLog, "append">;
  readonly clock: Clock;
  /** Whether a marketplace listing of the user still sells the blob (SPEC §16: its reference is held until the purge). */
  readonly held?: ((userId: string, cid: string) => Promise<boolean>) | undefined;
  /** STYX_BLOB_GRACE: how long an orphaned reference stays before the collection releases it (ms). */
  readonly graceMs: number;
}

/**
 * The life of a user's blob references (SPEC §10). A blob is referenced while an entry of its
 * user names it (`content_blob`), counted from the entries themselves. Its owner may delete it
 * once no entry names it (409 before); when its last entry is deleted or expires, the reference
 * is marked orphaned, and `collect` releases it after the grace period — unless an entry names
 * it again meanwhile. Blobs no entry ever named (grimoire backups, death bundles) are never
 * collected: they stay until their owner deletes them.
 *
 * Known window, as for a put racing a release in BlobStore: an entry written while its blob is
 * being released (the write checked the blob, the release checked the entries, each before the
 * other's change) may name a blob that is gone; reading it answers 404.
 */
export class BlobService {
  readonly #d: BlobServiceDeps;

  constructor(deps: BlobServiceDeps) {
    this.#d = deps;
  }

  /**
   * The owner deletes their reference to `cid`: 404 when they hold none (as for a cid nobody
   * stored), 409 STYX_CONFLICT while any of their live entries names it; otherwise released,
   * its bytes given back, audited `blob.delete`.
   */
  async delete(caller: Extract<Principal, { kind: "user" }>, cid: string, ctx: CallContext = {}): Promise<BlobDeleted> {
    const d = this.#d;
    const userId = caller.userId;
    const found = await d.blobs.stat(userId, cid);
    if (!found) throw blobNotFound();
    const references = await d.store.blobReferences(userId, cid, d.clock.now());
    if (references > 0) {
      throw new StyxError(
        "STYX_CONFLICT",
        `${references === 1 ? "An entry" : `${references} entries`} of yours still name this blob as content_blob: delete ${references === 1 ? "it" : "them"} first.`,
        { details: { references } },
      );
    }
    if (await d.held?.(userId, cid))
      throw new StyxError("STYX_CONFLICT", "A marketplace listing of yours sells this blob: it stays until the listing's purge.", {
        details: { listing: true },
      });
    if (!(await this.#release(userId, cid))) throw blobNotFound();
    await d.store.dropBlobOrphan(userId, cid);
    await d.audit.append({ actor: actorOf(caller), action: "blob.delete", target: `blob:${cid}`, ...ctx, details: { bytes: found.size } });
    return { cid, deleted: true };
  }

  /**
   * Releases the references orphaned for longer than the grace period, checking again that no
   * entry names the blob (one written during the grace keeps it: the mark goes, and a later
   * removal sets a new one). A mark moved by a removal during the run is left for a later run.
   */
  async collect(): Promise<BlobCollection> {
    const d = this.#d;
    let released = 0;
    let kept = 0;
    for (;;) {
      const now = d.clock.now();
      const due = await d.store.blobOrphans(now - d.graceMs, COLLECT_BATCH);
      let progressed = false;
      for (const o of due) {
        if ((await d.store.blobReferences(o.userId, o.cid, now)) > 0 || (await d.held?.(o.userId, o.cid))) kept++;
        else if (await this.#release(o.userId, o.cid)) {
          released++;
          await d.audit.append({ actor: "task", action: "blob.collect", target: `blob:${o.cid}`, details: { user_id: o.userId } });
        }
        // A mark whose reference was already gone (the owner deleted the blob) simply goes.
        if (await d.store.dropBlobOrphan(o.userId, o.cid, o.since)) progressed = true;
      }
      if (due.length < COLLECT_BATCH || !progressed) return { released, kept };
    }
  }

  /** Gives back a reference a purged listing held, unless an entry of the user names the blob (SPEC §16.3's purge). */
  async releaseListed(userId: string, cid: string): Promise<void> {
    const d = this.#d;
    if ((await d.store.blobReferences(userId, cid, d.clock.now())) > 0 || (await d.held?.(userId, cid))) return;
    if (await this.#release(userId, cid))
      await d.audit.append({ actor: "task", action: "blob.collect", target: `blob:${cid}`, details: { user_id: userId, listing: true } });
  }

  #release(userId: string, cid: string): Promise<boolean> {
    const d = this.#d;
    return d.quota ? d.quota.releaseBlob(userId, cid, d.blobs) : d.blobs.release(userId, cid);
  }
}
