import type { CallContext, Principal } from "../identity/principal.js";
import type { Tenancy } from "../identity/tenancy.js";
import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import { StyxError } from "../platform/errors.js";
import type { SecretKey } from "../platform/secret-key.js";
import type { StoredBytesRelease } from "../quota/quota-service.js";
import { letheCandidateIdOf, letheSourceOf } from "./anonymize.js";
import { type EntryPosition, type EntryStore, isLetheSource, metadataMatch } from "./entry-store.js";
import { storedBytesOf } from "./knowledge-service.js";
import type { Category, Entry } from "./types.js";
import { entryNamespaces } from "./types.js";
import type { VectorSearch } from "./vector-search.js";

/** Most entries in one page of `GET /v1/styx/entries`, and the page size when none is asked. */
export const MAX_LIST_LIMIT = 100;
export const DEFAULT_LIST_LIMIT = 20;
/** Most `metadata.<key>=<value>` filters in one listing, and their sizes (characters). */
export const MAX_METADATA_FILTERS = 8;
export const MAX_METADATA_KEY = 64;
export const MAX_METADATA_VALUE = 256;

/** A user caller (an owner credential, or a golem credential with its `golemId`). */
export type EntryCaller = Extract<Principal, { kind: "user" }>;

/** A listing as the API hands it over (SPEC §4.1). */
export interface ListEntriesInput {
  readonly golemId?: string | undefined;
  /** `vault`: every entry (all are in the vault); `clade`: the promoted ones. */
  readonly layer?: "vault" | "clade" | undefined;
  readonly category?: Category | undefined;
  readonly domain?: string | undefined;
  /** `metadata.<key>=<value>` pairs, keys without the prefix. */
  readonly metadata: readonly (readonly [string, string])[];
  readonly createdAfter?: number | undefined;
  readonly createdBefore?: number | undefined;
  readonly cursor?: string | undefined;
  readonly limit: number;
}

/** The answer to a delete (SPEC §4.1): the namespaces it left, and what became of its lethe copy. */
export interface DeleteResult {
  readonly id: string;
  readonly deleted: readonly string[];
  /** `none`: no copy was queued, or the queued one was removed; `kept_anonymized`: already public, it stays. */
  readonly lethe: "none" | "kept_anonymized";
}

/** The answer to a validation: the entry's counters now, and whether this vote counted. */
export interface ValidationResult {
  readonly id: string;
  readonly layer: "vault" | "clade" | "lethe";
  readonly validations: number;
  readonly contradictions: number;
  readonly counted: boolean;
}

/** Dependencies of the entry service. */
export interface EntryServiceDeps {
  readonly store: EntryStore;
  readonly vectors: Pick<VectorSearch, "remove">;
  readonly clock: Clock;
  /** STYX_SECRET_KEY: finds an entry's queued lethe copy, and a user's lethe source hash. */
  readonly key: SecretKey;
  /** The one tenancy decision for an entry (core/identity/tenancy.ts). */
  readonly access: Pick<Tenancy, "entry">;
  /** Given the bytes of a deleted entry; none: no quotas. */
  readonly quota?: StoredBytesRelease | undefined;
}

/**
 * One entry at a time (SPEC §4.1): read by id, list with filters and cursor paging, delete
 * (vault and clade copies, vectors, lexical rows, a still-queued lethe copy), validate (feeds the
 * quality factor, SPEC §4.3). Who may reach an entry is decided by tenancy only.
 */
export class EntryService {
  readonly #d: EntryServiceDeps;

  constructor(deps: EntryServiceDeps) {
    this.#d = deps;
  }

  /** The caller's entry `id` (a golem credential: its own, or one of the clade); 404 otherwise. */
  async get(caller: EntryCaller, id: string, ctx: CallContext): Promise<Entry> {
    return this.#d.access.entry(caller, await this.#d.store.getEntry(id, this.#d.clock.now()), id, "read", ctx);
  }

  /**
   * A page of the caller's entries, oldest first ((createdAt, id) order); `next` is the cursor
   * of the following page, null on the last. A golem credential lists its own golem's entries.
   */
  async list(caller: EntryCaller, q: ListEntriesInput): Promise<{ entries: Entry[]; next: string | null }> {
    if (q.metadata.length > MAX_METADATA_FILTERS) {
      throw new StyxError("STYX_VALIDATION", `At most ${MAX_METADATA_FILTERS} metadata filters.`, { details: [{ path: "/metadata" }] });
    }
    for (const [k, v] of q.metadata) {
      if (k.length === 0 || k.length > MAX_METADATA_KEY || v.length > MAX_METADATA_VALUE) {
        throw new StyxError(
          "STYX_VALIDATION",
          `A metadata filter's key is 1-${MAX_METADATA_KEY} characters and its value at most ${MAX_METADATA_VALUE}.`,
          { details: [{ path: "/metadata" }] },
        );
      }
    }
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const rows = await this.#d.store.listEntries(
      {
        userId: caller.userId,
        golemId: caller.golemId ?? q.golemId,
        cladeOnly: q.layer === "clade",
        category: q.category,
        domain: q.domain,
        metadata: q.metadata.map(([k, v]) => metadataMatch(k, v)),
        createdAfter: q.createdAfter,
        createdBefore: q.createdBefore,
        now: this.#d.clock.now(),
      },
      after,
      q.limit + 1,
    );
    const entries = rows.slice(0, q.limit);
    const last = entries.at(-1);
    return { entries, next: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  /**
   * Deletes the caller's entry (a golem credential: one its golem wrote): its row in the vault
   * and the clade, its lexical rows, validations and vectors, and its lethe copy while queued.
   * A published copy is anonymized and stays. The bytes are given back to the quota.
   */
  async delete(caller: EntryCaller, id: string, ctx: CallContext): Promise<DeleteResult> {
    const d = this.#d;
    const entry = await d.access.entry(caller, await d.store.getEntry(id, d.clock.now()), id, "own", ctx);
    const gone = await this.remove(entry);
    if (!gone) throw new StyxError("STYX_NOT_FOUND");
    return gone;
  }

  /**
   * Deletes `entry` without a tenancy check (a delete, an erasure): rows, vectors, its queued
   * lethe copy, bytes given back. Undefined when it was already gone.
   */
  async remove(entry: Pick<Entry, "userId" | "id">): Promise<DeleteResult | undefined> {
    const d = this.#d;
    const gone = await d.store.deleteEntry(entry.userId, entry.id, letheCandidateIdOf(entry.id, d.key), d.clock.now());
    if (!gone) return undefined;
    const namespaces = entryNamespaces(gone.entry);
    if (gone.entry.embedding) await Promise.all(namespaces.map((ns) => d.vectors.remove(ns, [gone.entry.seq])));
    d.quota?.releaseBytes(entry.userId, storedBytesOf(gone.entry.content, gone.entry.metadata));
    return { id: entry.id, deleted: namespaces, lethe: letheAfterDelete(gone.entry, gone.letheDropped) };
  }

  /**
   * A vote on entry `id` by golem `validator` (of the caller's user, checked by tenancy): on one
   * of the user's entries, by another golem than its writer; on a lethe entry, by a user that
   * neither published nor confirmed it (`isLetheSource`). A repeated voter counts once.
   */
  async validate(caller: EntryCaller, id: string, validator: Golem, agrees: boolean, ctx: CallContext): Promise<ValidationResult> {
    const d = this.#d;
    const now = d.clock.now();
    const own = await d.store.getEntry(id, now);
    const lethe = own ? undefined : await d.store.getLetheById(id);
    if (lethe) {
      const source = letheSourceOf(caller.userId, d.key);
      if (isLetheSource(lethe, source)) {
        throw new StyxError("STYX_CONFLICT", "Your own knowledge holds this lethe entry: validations come from other users.");
      }
      const v = await d.store.validateLethe(lethe.seq, source, agrees, now);
      if (!v) throw new StyxError("STYX_NOT_FOUND");
      return { id, layer: "lethe", validations: v.entry.validations, contradictions: v.entry.contradictions, counted: v.counted };
    }
    const entry = await d.access.entry(caller, own, id, "read", ctx);
    if (entry.golemId === validator.id) {
      throw new StyxError("STYX_CONFLICT", "A golem cannot validate its own entry: validations come from other golems of the clade.", {
        details: [{ path: "/golem_id" }],
      });
    }
    const v = await d.store.validateEntry(entry.seq, validator.id, agrees, now);
    if (!v) throw new StyxError("STYX_NOT_FOUND");
    return {
      id,
      layer: v.entry.inClade ? "clade" : "vault",
      validations: v.entry.validations,
      contradictions: v.entry.contradictions,
      counted: v.counted,
    };
  }
}

/**
 * What a delete did to the entry's lethe copy (SPEC §4.1, §4.2 step 5): none was ever queued,
 * or the queued one was removed with the entry — `none`; it was published (or counted as a
 * confirmation of a public entry) — `kept_anonymized`.
 */
export function letheAfterDelete(entry: Pick<Entry, "letheAt" | "letheWaiting">, dropped: boolean): "none" | "kept_anonymized" {
  if (entry.letheAt === null && !entry.letheWaiting) return "none";
  return dropped ? "none" : "kept_anonymized";
}

const CURSOR_TEXT = /^([0-9]{1,15})~([A-Za-z0-9_-]{1,64})$/;

/** The opaque cursor after `e`: base64url of its creation time and id (the listing's order). */
export function encodeCursor(e: EntryPosition): string {
  return Buffer.from(`${e.createdAt}~${e.id}`, "utf8").toString("base64url");
}

/** A cursor back into a position; 400 for anything `encodeCursor` did not make. */
export function decodeCursor(cursor: string): EntryPosition {
  const m = CURSOR_TEXT.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const position = m ? { createdAt: Number(m[1]), id: m[2] as string } : undefined;
  if (!position || encodeCursor(position) !== cursor) {
    throw new StyxError("STYX_VALIDATION", "`cursor` is not a cursor this server gave: page again from the start.", {
      details: [{ path: "/cursor" }],
    });
  }
  return position;
}
