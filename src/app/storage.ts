import { accessSync, constants } from "node:fs";
import { join, resolve } from "node:path";
import { directoryBytes } from "../adapters/fs/directory-bytes.js";
import { FsBlobStore } from "../adapters/fs/fs-blob-store.js";
import { MemoryAuditLog } from "../adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../adapters/memory/memory-blob-store.js";
import { MemoryCredit } from "../adapters/memory/memory-credit.js";
import { MemoryPaymentLedger } from "../adapters/memory/memory-payment-ledger.js";
import { MemoryPresence } from "../adapters/memory/memory-presence.js";
import { MemoryPulseStore } from "../adapters/memory/memory-pulse-store.js";
import { MemoryRateLimiter } from "../adapters/memory/memory-rate-limiter.js";
import { MemorySocketCounts } from "../adapters/memory/memory-socket-counts.js";
import { MemoryUsageCounters } from "../adapters/memory/memory-usage-counters.js";
import { closeDatabase, openDatabase, type SqliteDatabase, writtenElsewhere } from "../adapters/sqlite/database.js";
import { SqliteAchievementStore } from "../adapters/sqlite/sqlite-achievement-store.js";
import { SqliteAuditLog } from "../adapters/sqlite/sqlite-audit-log.js";
import { SqliteCausalStore } from "../adapters/sqlite/sqlite-causal-store.js";
import { SqliteCladeStore } from "../adapters/sqlite/sqlite-clade-store.js";
import { SqliteCredit } from "../adapters/sqlite/sqlite-credit.js";
import { SqliteDeathStore } from "../adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore } from "../adapters/sqlite/sqlite-entry-store.js";
import { SqliteErasureStore } from "../adapters/sqlite/sqlite-erasure-store.js";
import { SqliteEventLog } from "../adapters/sqlite/sqlite-event-log.js";
import { SqliteFederationStore } from "../adapters/sqlite/sqlite-federation-store.js";
import { SqliteIdentityStore } from "../adapters/sqlite/sqlite-identity-store.js";
import { SqliteMarketplaceStore } from "../adapters/sqlite/sqlite-marketplace-store.js";
import { SqlitePaymentLedger } from "../adapters/sqlite/sqlite-payment-ledger.js";
import { SqlitePheromoneStore } from "../adapters/sqlite/sqlite-pheromone-store.js";
import { SqliteQuotaStore } from "../adapters/sqlite/sqlite-quota-store.js";
import { SqliteStorageMeter } from "../adapters/sqlite/sqlite-storage-meter.js";
import { traceTransactions } from "../adapters/sqlite/traced-database.js";
import type { Config } from "../config/load.js";
import type { AchievementStore } from "../core/coordination/achievements.js";
import type { CausalStore } from "../core/coordination/causal.js";
import type { DeathStore } from "../core/coordination/death.js";
import type { PheromoneStore } from "../core/coordination/pheromone-store.js";
import type { PulseStore } from "../core/coordination/pulse-store.js";
import type { CladeStore } from "../core/fabric/clade.js";
import type { EventBus, SequencedEvent, StyxEvent } from "../core/fabric/event-bus.js";
import type { EventLog } from "../core/fabric/event-log.js";
import type { History, StreamEraser } from "../core/fabric/history.js";
import type { Presence } from "../core/fabric/presence.js";
import type { FederationStore } from "../core/federation/federation-store.js";
import type { ErasureStore } from "../core/identity/erasure.js";
import type { IdentityStore } from "../core/identity/identity-store.js";
import type { EntryStore } from "../core/knowledge/entry-store.js";
import type { MarketplaceStore } from "../core/marketplace/store.js";
import type { CreditStore, SpendLimitStore } from "../core/payments/credit.js";
import type { PaymentLedger } from "../core/payments/ledger.js";
import type { AuditLog } from "../core/platform/audit.js";
import type { BlobStore } from "../core/platform/blob-store.js";
import type { Clock } from "../core/platform/clock.js";
import { type DependencyCheck, probe } from "../core/platform/health.js";
import { type Leadership, SoleLeadership } from "../core/platform/leadership.js";
import type { RateLimiter } from "../core/platform/rate-limiter.js";
import type { SecretKey } from "../core/platform/secret-key.js";
import type { SecretStore } from "../core/platform/secret-store.js";
import type { Signals } from "../core/platform/signals.js";
import type { StorageMeter } from "../core/platform/storage-usage.js";
import { noTracer, type Tracer } from "../core/platform/tracer.js";
import type { QuotaStore } from "../core/quota/quota-store.js";
import type { SocketCounts } from "../core/quota/socket-counts.js";
import type { UsageCounters } from "../core/quota/usage-counters.js";
import { type ResolvedSecretKey, readSecretKey, resolveSecretKey } from "./secret-key.js";
import { fileSecrets, memorySecrets } from "./secrets.js";
import { traceStorage } from "./tracing.js";

/** The macronode event fabric of one gateway. */
export interface ClusterFabric {
  readonly history: History & StreamEraser & { append(event: StyxEvent): Promise<SequencedEvent> };
  readonly bus: EventBus & { onError: (err: unknown) => void };
  /** Resolves when every publish made so far was acknowledged (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** What the gateways of a macronode share besides their stores. */
export interface ClusterLink {
  /** Builds this gateway's stream history and bus over JetStream (one per process). */
  openFabric(opts: { retentionMs: number }): Promise<ClusterFabric>;
  /** Broadcasts between the gateways (vector-index sync, wake-ups); at most once. */
  readonly signals: Signals;
}

/** The coordination stores of one profile. */
export interface CoordinationStores {
  readonly pheromones: PheromoneStore;
  readonly causal: CausalStore;
  readonly deaths: DeathStore;
  readonly achievements: AchievementStore;
}

/** The stores of one profile, with their health checks and a close. */
export interface Storage {
  readonly identity: IdentityStore;
  /** The audit chain, keyed by `secretKey` (sealed at open when its newest record was unkeyed). */
  readonly audit: AuditLog;
  /** STYX_SECRET_KEY in force (never in the database), checked against the store's check value. */
  readonly secretKey: ResolvedSecretKey;
  /** Knowledge entries and lethe: SQLite (micronode), SQLite in RAM (amnesia). */
  readonly entries: EntryStore;
  /** Blobs: files under `<dataDir>/blobs` (micronode), RAM (amnesia). */
  readonly blobs: BlobStore;
  /**
   * Warm stream history and its cold-archive index (micronode: same database as entries).
   * Undefined in the macronode, whose stream history is JetStream (see `cluster`).
   */
  readonly events: EventLog | undefined;
  /** Erasure jobs and the identity rows an erasure removes (same database as identities). */
  readonly erasure: ErasureStore;
  /** Clade membership and the clade-delta outbox (same database as entries). */
  readonly clade: CladeStore;
  /** Pheromones, causal edges, deaths and achievements (same database as entries). */
  readonly coordination: CoordinationStores;
  /** Token buckets: memory (one process) or Redis (shared by every gateway). */
  readonly limiter: RateLimiter;
  /** Open sockets per user, key and address: memory (one process) or Redis (the cluster's, local while Redis is down). */
  readonly socketCounts: SocketCounts;
  /** Per-user quota state kept durably (admin overrides, blob bytes): the database of the profile. */
  readonly quotas: QuotaStore;
  /** The payments ledger (SPEC §11.3): SQLite (micronode), PostgreSQL (macronode); in RAM (and empty: pricing is refused) under amnesia. */
  readonly payments: PaymentLedger | undefined;
  /** Relay credit and key spend limits (SPEC §11.4), beside the ledger; none under amnesia. */
  readonly credit: (CreditStore & SpendLimitStore) | undefined;
  /** The marketplace's listings, purchases, ratings and payouts (SPEC §16): the profile's database (SQLite in RAM under amnesia). */
  readonly marketplace: MarketplaceStore;
  /**
   * Federation links, claims, cursors and outbox (SPEC §17): the profile's database, the one the
   * fact stores write their outbox rows to (SQLite in RAM under amnesia: gone at restart).
   */
  readonly federation: FederationStore;
  /** Windowed quota counters (entries and lethe writes per day, deposits per minute): memory or Redis. */
  readonly counters: UsageCounters;
  /** Golems' last heartbeats: memory or Redis. */
  readonly presence: Presence;
  /** The last computed pulse, read by every process: memory or Redis. */
  readonly pulse: PulseStore;
  /** Who runs the background tasks: the process itself, or the holder of a PostgreSQL lease. */
  readonly leadership: Leadership;
  /** Macronode only: the NATS link that carries stream history, fan-out and signals. */
  readonly cluster: ClusterLink | undefined;
  /** The server's own secrets (admin token when generated, lethe salt, challenge key). */
  readonly secrets: SecretStore;
  readonly checks: readonly DependencyCheck[];
  /** What the data occupies by kind (styx_storage_bytes): slow, read off the request path only. */
  readonly meter: StorageMeter;
  /** Macronode: how long the PostgreSQL pool made a probe wait for an idle connection (seconds, bounded). */
  readonly poolWait: (() => Promise<number>) | undefined;
  /** Where the data lives, for operators (never a credential). */
  readonly location: string;
  /**
   * Micronode data dir: whether another process (a `styx` command on the same file) wrote to the
   * database since the last call, so caches of what it may have changed forget it. Undefined
   * where no other process writes (amnesia) or where the writers signal (macronode).
   */
  readonly writtenElsewhere?: (() => boolean) | undefined;
  close(): Promise<void>;
}

/** Coordination stores on one SQLite database (the death store spans entries and pheromones). */
function sqliteCoordination(db: SqliteDatabase, entries: SqliteEntryStore): CoordinationStores {
  const pheromones = new SqlitePheromoneStore(db);
  return {
    pheromones,
    causal: new SqliteCausalStore(db),
    deaths: new SqliteDeathStore(db, { entries, pheromones }),
    achievements: new SqliteAchievementStore(db),
  };
}

/** Name of the micronode database file inside the data dir. */
export const DATABASE_FILE = "styx.db";

/** The stores of a profile before STYX_SECRET_KEY is known: the audit log is built once it is. */
export type UnkeyedStorage = Omit<Storage, "audit" | "secretKey"> & { auditLog(key: SecretKey): AuditLog };

/** The one-process backends shared by micronode and amnesia. */
function processLocal(
  clock: Clock,
): Pick<Storage, "limiter" | "socketCounts" | "counters" | "presence" | "pulse" | "leadership" | "cluster"> {
  return {
    limiter: new MemoryRateLimiter(clock),
    socketCounts: new MemorySocketCounts(clock),
    counters: new MemoryUsageCounters(clock),
    presence: new MemoryPresence(),
    pulse: new MemoryPulseStore(),
    leadership: new SoleLeadership(),
    cluster: undefined,
  };
}

/** The micronode backends: SQLite in the data dir, or in RAM under amnesia; blobs and secrets beside it. */
function openMicroStorage(config: Config, clock: Clock, opts: StorageOptions): UnkeyedStorage {
  const tracer = opts.tracer ?? noTracer;
  if (config.amnesia) {
    // The same SQLite code in RAM (":memory:", temp_store=MEMORY): FTS5 and transactions that span
    // identities, entries and coordination (a bloodstain) included, and no file.
    const ram = openDatabase(":memory:");
    traceTransactions(ram, tracer);
    const blobs = new MemoryBlobStore();
    const entries = new SqliteEntryStore(ram);
    return {
      entries,
      coordination: sqliteCoordination(ram, entries),
      events: new SqliteEventLog(ram),
      clade: new SqliteCladeStore(ram),
      erasure: new SqliteErasureStore(ram),
      identity: new SqliteIdentityStore(ram),
      quotas: new SqliteQuotaStore(ram),
      // Pricing is refused under amnesia (load.ts): the ledger stays empty, and receipts answer with nothing.
      payments: new MemoryPaymentLedger(),
      // Spend limits set by the admin live as long as the keys they limit: in RAM.
      credit: new MemoryCredit(),
      marketplace: new SqliteMarketplaceStore(ram),
      federation: new SqliteFederationStore(ram),
      auditLog: (key) => new MemoryAuditLog(clock, key),
      blobs,
      secrets: memorySecrets(),
      ...processLocal(clock),
      checks: [{ name: "memory", check: () => probe(() => "amnesia: RAM only, nothing is written to disk") }],
      meter: new SqliteStorageMeter({ db: ram, file: undefined, blobBytes: async () => blobs.bytes }),
      poolWait: undefined,
      location: "memory (amnesia)",
      close: async () => {
        if (ram.open) ram.close();
      },
    };
  }
  const dir = resolve(config.dataDir);
  const file = join(dir, DATABASE_FILE);
  const db = openDatabase(file, { readonly: opts.readonly ?? false });
  traceTransactions(db, tracer);
  const ping = db.prepare("SELECT 1");
  const entries = new SqliteEntryStore(db);
  return {
    identity: new SqliteIdentityStore(db),
    quotas: new SqliteQuotaStore(db),
    payments: new SqlitePaymentLedger(db),
    credit: new SqliteCredit(db),
    marketplace: new SqliteMarketplaceStore(db),
    federation: new SqliteFederationStore(db),
    auditLog: (key) => new SqliteAuditLog(db, clock, key),
    entries,
    coordination: sqliteCoordination(db, entries),
    events: new SqliteEventLog(db),
    clade: new SqliteCladeStore(db),
    erasure: new SqliteErasureStore(db),
    blobs: new FsBlobStore(join(dir, "blobs")),
    secrets: fileSecrets(dir),
    ...processLocal(clock),
    checks: [
      // Details stay generic: health is public, and paths are for `styx doctor`.
      { name: "sqlite", check: () => probe(() => (ping.get(), "WAL")) },
      { name: "data_dir", check: () => probe(() => (accessSync(dir, constants.W_OK), "writable")) },
    ],
    meter: new SqliteStorageMeter({ db, file, blobBytes: () => directoryBytes(join(dir, "blobs")) }),
    poolWait: undefined,
    location: file,
    writtenElsewhere: opts.readonly ? undefined : writtenElsewhere(db),
    close: () => closeDatabase(db),
  };
}

/** How `openStorage` opens the stores. */
export interface StorageOptions {
  /** Open without writing (doctor, audit verify): no migration, no generated secret, no seal. */
  readonly readonly?: boolean;
  /** Tracing on: store calls, SQLite and PostgreSQL transactions and NATS publishes become spans. */
  readonly tracer?: Tracer;
}

/**
 * Opens the configured backends: SQLite in RAM for amnesia, SQLite in the data dir for the
 * micronode, PostgreSQL, NATS, Redis and S3 for the macronode (macro-storage.ts). With
 * buildStyx, the only place that knows concrete adapters. Then resolves STYX_SECRET_KEY
 * against the store (creating nothing when `readonly`) and keys the audit chain with it;
 * a store opened for writing seals audit records written before the chain was keyed.
 */
export async function openStorage(config: Config, clock: Clock, opts: StorageOptions = {}): Promise<Storage> {
  const tracer = opts.tracer ?? noTracer;
  // Loaded only when configured: a micronode never loads the PostgreSQL, NATS, Redis and S3 clients.
  const stores =
    config.profile === "macro"
      ? await (await import("./macro-storage.js")).openMacroStorage(config, clock, tracer)
      : openMicroStorage(config, clock, opts);
  try {
    const secretKey = opts.readonly ? await readSecretKey(config, stores.secrets) : await resolveSecretKey(config, stores.secrets);
    const { auditLog, ...rest } = stores;
    const audit = auditLog(secretKey.key);
    if (!opts.readonly) await audit.seal();
    return traceStorage({ ...rest, audit, secretKey }, tracer, config.profile === "macro" ? "postgresql" : "sqlite");
  } catch (err) {
    await stores.close();
    throw err;
  }
}
