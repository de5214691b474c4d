import type { StreamPosition } from "../../core/fabric/history.js";
import type { FederationLink, OutboxEntry, OutboxItem, RelayItem } from "../../core/federation/federation-store.js";
import type { FederationRecordWire } from "../../protocol/federation.js";
import { recordFromWire, recordToWire } from "../../protocol/federation-codec.js";

/** A row of `federation_links` as both engines return it (PostgreSQL's bigint may come as a string). */
export interface FederationLinkRow {
  key_id: string;
  user_id: string;
  instance_id: string;
  version: string;
  flows: string;
  domains: string;
  embed_dim: number | string;
  hello_at: number | string;
  last_seen_at: number | string;
}

/** The columns of `link`, for an insert (flows and domains as JSON text, as every list column). */
export function federationLinkRow(link: FederationLink): FederationLinkRow {
  return {
    key_id: link.keyId,
    user_id: link.userId,
    instance_id: link.instanceId,
    version: link.version,
    flows: JSON.stringify(link.flows),
    domains: JSON.stringify(link.domains),
    embed_dim: link.embedDim,
    hello_at: link.helloAt,
    last_seen_at: link.lastSeenAt,
  };
}

/** The link a row holds. */
export function toFederationLink(r: FederationLinkRow): FederationLink {
  return {
    keyId: r.key_id,
    userId: r.user_id,
    instanceId: r.instance_id,
    version: r.version,
    flows: JSON.parse(r.flows) as string[],
    domains: JSON.parse(r.domains) as string[],
    embedDim: Number(r.embed_dim),
    helloAt: Number(r.hello_at),
    lastSeenAt: Number(r.last_seen_at),
  };
}

/** A row of `federation_cursors`. */
export interface FederationCursorRow {
  stream: string;
  epoch: string;
  seq: number | string;
}

/** The position a cursor row holds. */
export function toStreamPosition(r: FederationCursorRow): StreamPosition {
  return { epoch: r.epoch, seq: Number(r.seq) };
}

/** The columns of a new `federation_outbox` row (seq is the database's; due at once, no attempt yet). */
export interface OutboxInsertRow {
  kind: string;
  domain: string;
  record: string;
  enqueued_at: number;
  attempts: number;
  next_at: number;
}

/** The columns of `entry`, for the insert a fact store makes in its write's transaction (record: the wire form as JSON text). */
export function outboxRow(entry: OutboxEntry): OutboxInsertRow {
  const r = entry.record;
  return {
    kind: r.kind,
    domain: r.domain,
    record: JSON.stringify(recordToWire(r)),
    enqueued_at: entry.enqueuedAt,
    attempts: 0,
    next_at: entry.enqueuedAt,
  };
}

/** A row of `federation_outbox` as both engines return it. */
export interface OutboxRow {
  seq: number | string;
  kind: string;
  record: string;
  enqueued_at: number | string;
  attempts: number | string;
  next_at: number | string;
}

/** The outbox item a row holds (the record read back from its wire form; it was checked when written). */
export function toOutboxItem(r: OutboxRow): OutboxItem {
  return {
    seq: Number(r.seq),
    record: recordFromWire(JSON.parse(r.record) as FederationRecordWire),
    enqueuedAt: Number(r.enqueued_at),
    attempts: Number(r.attempts),
    nextAt: Number(r.next_at),
  };
}

/** The columns of a new `federation_relay` row (seq is the database's). */
export interface RelayInsertRow {
  kind: string;
  domain: string;
  record: string;
  enqueued_at: number;
}

/** The columns of `entry` for the relay outbox (the same wire form as the outbox's). */
export function relayRow(entry: OutboxEntry): RelayInsertRow {
  const r = entry.record;
  return { kind: r.kind, domain: r.domain, record: JSON.stringify(recordToWire(r)), enqueued_at: entry.enqueuedAt };
}

/** A row of `federation_relay` as both engines return it. */
export interface RelayRow {
  seq: number | string;
  record: string;
  enqueued_at: number | string;
}

/** The relay item a row holds. */
export function toRelayItem(r: RelayRow): RelayItem {
  return {
    seq: Number(r.seq),
    record: recordFromWire(JSON.parse(r.record) as FederationRecordWire),
    enqueuedAt: Number(r.enqueued_at),
  };
}

/** Counts per record kind from `(kind, n)` rows (what `drop` answers). */
export function countsByKind(rows: readonly { kind: string; n: number | string }[]): ReadonlyMap<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) out.set(r.kind, (out.get(r.kind) ?? 0) + Number(r.n));
  return out;
}
