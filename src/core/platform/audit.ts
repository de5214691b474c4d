import { blake3Hex, constantTimeEqual } from "./crypto.js";
import { HASH_LABELS, KEYED_HASH_BYTES, keyedHash, type SecretKey } from "./secret-key.js";

/** What a caller hands to the audit log; the log adds `seq`, `ts` and the chain hashes. */
export interface AuditInput {
  /** Who acted: `admin`, `user:<id>`, `cli`, `anonymous`, `styx` (the server itself). */
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

/**
 * One stored audit record. `hash` is the record's keyed hash (SPEC §3: HMAC-SHA256 under
 * `STYX_SECRET_KEY`, label `audit:`, 24 hex) over its content including `prevHash`; records
 * written before the chain was keyed carry BLAKE3 (64 hex) instead (see `chainKind`).
 */
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

/** The end of a chain: its newest record's seq and hash (seq 0 and GENESIS_HASH when empty). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * The outcome of walking the chain. `firstBad` names the first record that fails. `unkeyed`
 * counts records written before the chain was keyed: each is sealed by a keyed record after it.
 */
export type AuditVerification =
  | { readonly ok: true; readonly records: number; readonly head: string; readonly unkeyed: number }
  | { readonly ok: false; readonly records: number; readonly firstBad: number; readonly reason: string };

/**
 * Append-only, hash-chained audit log, keyed by `STYX_SECRET_KEY` (never in the store).
 * Obligations: `append` is atomic and serialised (seq is gap-free from 1, each record's
 * `prevHash` is the previous record's `hash`, each record keyed by `chainRecord`); the adapter
 * also keeps the head (last seq and hash) so that deleting the newest record is detected too.
 */
export interface AuditLog {
  append(input: AuditInput): Promise<AuditRecord>;
  /**
   * When the newest record is unkeyed (a log written before keyed chaining), appends the
   * keyed `audit.sealed` record (`sealInput`) in the same serialised way as `append`; does
   * nothing otherwise. Run when a store is opened for writing.
   */
  seal(): Promise<AuditRecord | undefined>;
  /** Records with `seq > after`, oldest first, at most `limit`. */
  list(after: number, limit: number): Promise<AuditRecord[]>;
  /** The newest record of `action`, or undefined when there is none. */
  latest(action: string): Promise<AuditRecord | undefined>;
  /** Walks the whole chain and checks it against the stored head (and `kept`: see verifyChain). */
  verify(kept?: ChainHead): Promise<AuditVerification>;
}

/** The `prevHash` of the first record. */
export const GENESIS_HASH = "0".repeat(64);

/** The action of the record that seals unkeyed records (see `sealInput`). */
export const AUDIT_SEALED = "audit.sealed";

const KEYED_HASH = new RegExp(`^[0-9a-f]{${KEYED_HASH_BYTES * 2}}$`);
const UNKEYED_HASH = /^[0-9a-f]{64}$/;

/**
 * How a record's hash was made, told by its form: `keyed` (24 hex: HMAC under the key) or
 * `unkeyed` (64 hex: BLAKE3, what Styx wrote before the chain was keyed); undefined for
 * anything else. The form needs no protection of its own: an unkeyed record is accepted only
 * where a keyed record after it commits to its hash (see verifyChain).
 */
export function chainKind(hash: string): "keyed" | "unkeyed" | undefined {
  if (KEYED_HASH.test(hash)) return "keyed";
  if (UNKEYED_HASH.test(hash)) return "unkeyed";
  return undefined;
}

/** Builds the next record of the chain, keyed under `key` (pure apart from hashing). */
export function chainRecord(key: SecretKey, prev: ChainHead, ts: number, input: AuditInput): AuditRecord {
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
  return { ...base, hash: keyedRecordHash(key, base) };
}

/** A record's keyed hash: `keyedHash(key, "audit:" + canonical content)`. */
export function keyedRecordHash(key: SecretKey, r: Omit<AuditRecord, "hash">): string {
  return keyedHash(key, HASH_LABELS.audit + canonical(r));
}

/** The hash of a record written before the chain was keyed (kept only to verify old records). */
function unkeyedRecordHash(r: Omit<AuditRecord, "hash">): string {
  return blake3Hex(canonical(r));
}

function canonical(r: Omit<AuditRecord, "hash">): string {
  return JSON.stringify([r.seq, r.ts, r.actor, r.action, r.target, r.requestId, r.ip, r.details, r.prevHash]);
}

/**
 * The record that seals a log whose newest record is unkeyed (written before the upgrade, or
 * by a gateway not yet upgraded): appended keyed, its MAC covers that record's hash, which
 * commits to every record before it. Undefined when the log is empty or ends keyed.
 */
export function sealInput(head: ChainHead): AuditInput | undefined {
  if (head.seq === 0 || chainKind(head.hash) !== "unkeyed") return undefined;
  return { actor: "styx", action: AUDIT_SEALED, target: "", details: { unkeyed_through: head.seq } };
}

/**
 * Checks records (oldest first) against the chain rules, the stored head and the key.
 * Reports the first record that is missing, altered, out of place or not sealed by a keyed
 * record: without the key, the newest record cannot be rewritten, and it commits to all
 * before it. `kept` is a head recorded earlier outside the store (an earlier `verify`'s): the
 * log must still hold that record with that hash, which detects the newest records deleted
 * together with the head moved back (a rollback the stored head alone cannot show).
 */
export function verifyChain(
  key: SecretKey,
  records: Iterable<AuditRecord>,
  head: ChainHead | undefined,
  kept?: ChainHead,
): AuditVerification {
  let prev: ChainHead = { seq: 0, hash: GENESIS_HASH };
  let count = 0;
  let unkeyed = 0;
  let lastKeyed = 0;
  const bad = (firstBad: number, reason: string): AuditVerification => ({ ok: false, records: count, firstBad, reason });
  for (const r of records) {
    count++;
    if (r.seq !== prev.seq + 1) return bad(prev.seq + 1, `record ${prev.seq + 1} is missing`);
    if (r.prevHash !== prev.hash) return bad(r.seq, `record ${r.seq} does not link to record ${prev.seq}`);
    const kind = chainKind(r.hash);
    const expected = kind === "keyed" ? keyedRecordHash(key, r) : kind === "unkeyed" ? unkeyedRecordHash(r) : "";
    if (!kind || !constantTimeEqual(expected, r.hash)) return bad(r.seq, `record ${r.seq} was altered (hash mismatch)`);
    if (kind === "keyed") lastKeyed = r.seq;
    else unkeyed++;
    if (kept && r.seq === kept.seq && r.hash !== kept.hash) return bad(r.seq, `record ${r.seq} is not the one of the kept head`);
    prev = { seq: r.seq, hash: r.hash };
  }
  const headSeq = head?.seq ?? 0;
  if (headSeq !== prev.seq) {
    const firstBad = Math.min(headSeq, prev.seq) + 1;
    return bad(
      firstBad,
      headSeq > prev.seq
        ? `record ${firstBad} is missing (the log head is at ${headSeq})`
        : `record ${firstBad} is beyond the log head (${headSeq})`,
    );
  }
  if (head && head.hash !== prev.hash) return bad(prev.seq, `record ${prev.seq} does not match the log head`);
  if (lastKeyed !== prev.seq) {
    return bad(
      lastKeyed + 1,
      `records ${lastKeyed + 1}–${prev.seq} are not keyed by STYX_SECRET_KEY: written by a Styx older than the keyed chain ` +
        "(the next start seals them) or forged by someone without the key",
    );
  }
  if (kept && kept.seq > prev.seq) {
    return bad(prev.seq + 1, `record ${prev.seq + 1} is missing (the kept head is at ${kept.seq}): newer records were deleted`);
  }
  return { ok: true, records: count, head: prev.hash, unkeyed };
}
