import type { LetheCandidate, NewEntry } from "../../core/knowledge/types.js";

/** Fixtures of the EntryStore contract suites: entries of user u1, golem g1, and lethe candidates of domain dex. */

/** The fixtures' creation time. */
export const T = Date.UTC(2026, 0, 1);

/** An entry fixture of user u1, golem g1, in the vault, never expiring. */
export function entryFixture(id: string, extra: Partial<NewEntry> = {}): NewEntry {
  return {
    id,
    userId: "u1",
    golemId: "g1",
    category: "insight",
    content: `note ${id}`,
    contentHash: `hash-${id}`,
    contentBlob: null,
    embedding: null,
    domain: "dex",
    regime: null,
    confidence: 0.8,
    affect: null,
    emotion: null,
    metadata: {},
    isBloodstain: false,
    inClade: false,
    validations: 0,
    contradictions: 0,
    createdAt: T,
    expiresAt: null,
    letheAt: null,
    letheWaiting: false,
    idempotencyKey: null,
    ...extra,
  };
}

/** A lethe candidate fixture in domain dex, due one second after T. */
export function candidateFixture(id: string, extra: Partial<LetheCandidate> = {}): LetheCandidate {
  return {
    id,
    dueAt: T + 1000,
    domain: "dex",
    category: "insight",
    content: `anonymized ${id}`,
    embedding: null,
    regime: null,
    confidence: 0.4,
    isBloodstain: false,
    metadata: {},
    source: "src-a",
    createdAt: T,
    k: 1,
    delayMs: 1000,
    ...extra,
  };
}
