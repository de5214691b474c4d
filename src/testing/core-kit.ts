import { LocalEventBus } from "../adapters/memory/local-event-bus.js";
import { MemoryBlobStore } from "../adapters/memory/memory-blob-store.js";
import { openDatabase, type SqliteDatabase } from "../adapters/sqlite/database.js";
import { SqliteEventLog } from "../adapters/sqlite/sqlite-event-log.js";
import { TieredHistory } from "../core/fabric/tiered-history.js";
import type { Golem } from "../core/identity/types.js";
import type { Clock } from "../core/platform/clock.js";
import { SecretKey } from "../core/platform/secret-key.js";
import { IdentifierDirectory } from "../core/privacy/directory.js";
import { PublicPipeline } from "../core/privacy/public-pipeline.js";
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
