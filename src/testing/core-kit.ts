import { LocalEventBus } from "../adapters/memory/local-event-bus.js";
import { MemoryAuditLog } from "../adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../adapters/memory/memory-blob-store.js";
import { MemoryUsageCounters } from "../adapters/memory/memory-usage-counters.js";
import { openDatabase, type SqliteDatabase } from "../adapters/sqlite/database.js";
import { SqliteEventLog } from "../adapters/sqlite/sqlite-event-log.js";
import { SqliteQuotaStore } from "../adapters/sqlite/sqlite-quota-store.js";
import { TieredHistory } from "../core/fabric/tiered-history.js";
import { Tenancy } from "../core/identity/tenancy.js";
import type { Golem } from "../core/identity/types.js";
import { type EntryCaller, EntryService, type EntryServiceDeps } from "../core/knowledge/entry-service.js";
import type { Clock } from "../core/platform/clock.js";
import { SecretKey } from "../core/platform/secret-key.js";
import { IdentifierDirectory } from "../core/privacy/directory.js";
import { PublicPipeline } from "../core/privacy/public-pipeline.js";
import { tierTable } from "../core/quota/limits.js";
import { type QuotaDeps, QuotaService } from "../core/quota/quota-service.js";
import { golemFixture } from "./contracts/identity-store.contract.js";

/**
 * What the unit tests of core services share (test/unit/<area>/*-service.test.ts): services
 * are built from the micronode's own adapters in RAM (SQLite `:memory:`, memory adapters) and
 * a `ManualClock`, and driven without HTTP.
 */

/** A STYX_SECRET_KEY for tests (32 bytes of 7). */
export const TEST_SECRET_KEY = SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64"));

/** An event as a subscriber of the bus received it, its payload parsed. */
export interface RecordedEvent {
  readonly stream: string;
  readonly seq: number;
  readonly channel: string;
  readonly payload: Record<string, unknown>;
}

/** The micronode's event bus (LocalEventBus over a TieredHistory in RAM) with every delivered event recorded. */
export interface RecordingBus {
  readonly bus: LocalEventBus;
  readonly history: TieredHistory;
  readonly events: RecordedEvent[];
  /** The recorded events of one channel, in delivery order. */
  on(channel: string): RecordedEvent[];
}

/** A bus as the micronode builds it, timestamps from `clock`, recording what it delivers. */
export async function recordingBus(clock: Clock, db: SqliteDatabase = openDatabase(":memory:")): Promise<RecordingBus> {
  const history = new TieredHistory({ log: new SqliteEventLog(db), blobs: new MemoryBlobStore(), clock });
  await history.open();
  const bus = new LocalEventBus(history);
  const events: RecordedEvent[] = [];
  bus.subscribe((e) =>
    events.push({ stream: e.stream, seq: e.seq, channel: e.channel, payload: JSON.parse(e.payloadJson) as Record<string, unknown> }),
  );
  return { bus, history, events, on: (channel) => events.filter((e) => e.channel === channel) };
}

/** The public pipeline with an empty directory, scrubbing without pauses. */
export function testPipeline(): PublicPipeline {
  return new PublicPipeline({ directory: new IdentifierDirectory(), pause: async () => {} });
}

/** An alive golem of `userId` (generation 0, no parent, no wallet), as tenancy hands it to services. */
export function aliveGolem(id: string, userId: string, extra: Partial<Golem> = {}): Golem {
  return golemFixture(id, userId, { status: "alive", createdAt: 0, ...extra });
}

/** A user caller for core tests: an owner credential, or a golem credential when `golemId` is given. */
export function callerOf(userId: string, golemId: string | null = null): EntryCaller {
  return { kind: "user", userId, credentialId: "key_test", via: "api_key", golemId, scopes: ["read", "write"], expiresAt: null };
}

/**
 * An EntryService over a test's store and vectors, with the real tenancy decision (its denials
 * audited into `audit`).
 */
export function testEntryService(deps: Omit<EntryServiceDeps, "access" | "key"> & { key?: SecretKey }): {
  entries: EntryService;
  audit: MemoryAuditLog;
} {
  const key = deps.key ?? TEST_SECRET_KEY;
  const audit = new MemoryAuditLog(deps.clock, key);
  const unused = async () => {
    throw new Error("entry tenancy reads no identity");
  };
  const access = new Tenancy({ identity: { getGolem: unused, markGolemAlive: unused, getSession: unused }, audit });
  return { entries: new EntryService({ ...deps, key, access }), audit };
}

/** A QuotaService of the `consumer` tier (50/s, burst 100) over the user_quotas of `db` and counters in RAM. */
export function testQuotaService(db: SqliteDatabase, deps: Pick<QuotaDeps, "users" | "entries" | "audit" | "clock">): QuotaService {
  return new QuotaService({
    table: tierTable("consumer", { rate: 50, burst: 100 }, {}),
    defaultTier: "consumer",
    store: new SqliteQuotaStore(db),
    counters: new MemoryUsageCounters(deps.clock),
    ...deps,
  });
}
