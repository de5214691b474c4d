import { LocalEventBus } from "../adapters/memory/local-event-bus.js";
import { MemoryPresence } from "../adapters/memory/memory-presence.js";
import type { Config } from "../config/load.js";
import { FabricService } from "../core/fabric/fabric-service.js";
import { TieredHistory } from "../core/fabric/tiered-history.js";
import type { Clock } from "../core/platform/clock.js";
import { Hub } from "../server/ws/hub.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { Storage } from "./storage.js";

/** The event fabric as wired for one process. */
export interface FabricStack {
  readonly history: TieredHistory;
  readonly bus: LocalEventBus;
  readonly hub: Hub;
  readonly service: FabricService;
  /** Stores every event still being batched (graceful shutdown). */
  flush(): Promise<void>;
}

/** Names of the fabric background tasks. */
export const FABRIC_TASKS = { archive: "history-archival", clade: "clade-expiry" } as const;

/**
 * Builds history (hot ring, warm store, cold blobs), the in-process bus, the socket hub and
 * the fabric service, and registers their tasks: history archival every minute, clade-delta
 * and presence expiry every hour.
 */
export async function buildFabric(opts: { config: Config; clock: Clock; storage: Storage; scheduler: Scheduler }): Promise<FabricStack> {
  const { config, clock, storage, scheduler } = opts;
  const history = new TieredHistory({
    log: storage.events,
    blobs: storage.blobs,
    clock,
    options: { coldRetentionMs: config.historyRetentionMs },
  });
  await history.open();
  const bus = new LocalEventBus(history);
  const hub = new Hub({ tickMs: config.ws.fanoutTickMs });
  bus.subscribe((e) => hub.dispatch(e));
  const service = new FabricService({ bus, presence: new MemoryPresence(), clade: storage.clade, clock, online: (id) => hub.online(id) });
  scheduler.add({ name: FABRIC_TASKS.archive, everyMs: 60_000, run: () => history.archive() });
  scheduler.add({ name: FABRIC_TASKS.clade, everyMs: 3_600_000, run: () => service.expire() });
  return { history, bus, hub, service, flush: () => history.flush() };
}
