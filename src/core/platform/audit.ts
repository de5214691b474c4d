import { blake3Hex } from "./crypto.js";

/** What a caller hands to the audit log; the log adds `seq`, `ts` and the chain hashes. */
export interface AuditInput {
  /** Who acted: `admin`, `user:<id>`, `cli`, `anonymous`. */
  readonly actor: string;
  /** Dotted verb, e.g. `key.create`, `tenancy.denied`. */
  readonly action: string;
  /** What was acted on, e.g. `key:<id>` (empty when nothing). */
  readonly target: string;
  readonly requestId?: string | undefined;
  readonly ip?: string | undefined;
  /** Small JSON-serialisable object; never a secret. */
  readonly details?: Record<string, unknown> | undefined;
}

/** One stored audit record. `hash` = BLAKE3(canonical(record) including `prevHash`). */
export interface AuditRecord {
  readonly seq: number;
  readonly ts: number;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly requestId: string | null;
  readonly ip: string | null;
  /** The details as stored: canonical JSON text. */
  readonly details: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The outcome of walking the chain. `firstBad` names the first record that fails. */
export type AuditVerification =
  | { readonly ok: true; readonly records: number; readonly head: string }
  | { readonly ok: false; readonly records: number; readonly firstBad: number; readonly reason: string };

/**
 * Append-only, hash-chained audit log.
 * Obligations: `append` is atomic and serialised (seq is gap-free from 1, each record's
 * `prevHash` is the previous record's `hash`); the adapter also keeps the head (last seq and
 * hash) so that deleting the newest record is detected too.
 */
export interface AuditLog {
  append(input: AuditInput): Promise<AuditRecord>;
  /** Records with `seq > after`, oldest first, at most `limit`. */
  list(after: number, limit: number): Promise<AuditRecord[]>;
  /** The newest record of `action`, or undefined when there is none. */
  latest(action: string): Promise<AuditRecord | undefined>;
  /** Walks the whole chain and checks it against the stored head. */
  verify(): Promise<AuditVerification>;
}

/** The `prevHash` of the first record. */
export const GENESIS_HASH = "0".repeat(64);

/** Builds the next record of the chain (pure apart from hashing). */
export function chainRecord(prev: { seq: number; hash: string }, ts: number, input: AuditInput): AuditRecord {
  const base = {
    seq: prev.seq + 1,
    ts,
    actor: input.actor,
    action: input.action,
    target: input.target,
    requestId: input.requestId ?? null,
    ip: input.ip ?? null,
    details: JSON.stringify(input.details ?? {}),
    prevHash: prev.hash,
  };
  return { ...base, hash: hashRecord(base) };
}

/** The chain hash of a record's content. */
export function hashRecord(r: Omit<AuditRecord, "hash">): string {
  return blake3Hex(JSON.stringify([r.seq, r.ts, r.actor, r.action, r.target, r.requestId, r.ip, r.details, r.prevHash]));
}

/**
 * Checks records (oldest first) against the chain rules and the stored head.
 * Reports the first record that is missing, altered or out of place.
 */
export function verifyChain(records: Iterable<AuditRecord>, head: { seq: number; hash: string } | undefined): AuditVerification {
  let prev = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  for (const r of records) {
    count++;
    if (r.seq !== prev.seq + 1) {
      return { ok: false, records: count, firstBad: prev.seq + 1, reason: `record ${prev.seq + 1} is missing` };
    }
    if (r.prevHash !== prev.hash) {
      return { ok: false, records: count, firstBad: r.seq, reason: `record ${r.seq} does not link to record ${prev.seq}` };
    }
    if (hashRecord(r) !== r.hash) {
      return { ok: false, records: count, firstBad: r.seq, reason: `record ${r.seq} was altered (hash mismatch)` };
    }
    prev = { seq: r.seq, hash: r.hash };
  }
  const headSeq = head?.seq ?? 0;
  if (headSeq !== prev.seq) {
    const firstBad = Math.min(headSeq, prev.seq) + 1;
    return {
      ok: false,
      records: count,
      firstBad,
      reason:
        headSeq > prev.seq
          ? `record ${firstBad} is missing (the log head is at ${headSeq})`
          : `record ${firstBad} is beyond the log head (${headSeq})`,
    };
  }
  if (head && head.hash !== prev.hash) {
    return { ok: false, records: count, firstBad: prev.seq, reason: `record ${prev.seq} does not match the log head` };
  }
  return { ok: true, records: count, head: prev.hash };
}
