import { LocalEventBus } from "../adapters/memory/local-event-bus.js";
import type { Config } from "../config/load.js";
import type { EventBus } from "../core/fabric/event-bus.js";
import { FabricService } from "../core/fabric/fabric-service.js";
import type { History, StreamEraser } from "../core/fabric/history.js";
import { TieredHistory } from "../core/fabric/tiered-history.js";
import type { Clock } from "../core/platform/clock.js";
import { noTracer, type Tracer } from "../core/platform/tracer.js";
import type { Metrics } from "../server/metrics.js";
import { closeCredential } from "../server/ws/credential-sweep.js";
import { Hub } from "../server/ws/hub.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { Storage } from "./storage.js";
import { tracePort } from "./tracing.js";

/** The event fabric as wired for one process. */
export interface FabricStack {
  /** Micronode: hot ring, warm SQLite, cold blobs. Macronode: JetStream behind a hot ring. */
  readonly history: History & StreamEraser;
  /** Micronode: in-process. Macronode: JetStream, so every gateway sees every event. */
  readonly bus: EventBus & { onError: (err: unknown) => void };
  readonly hub: Hub;
  readonly service: FabricService;
  /** Stores every event still being batched (graceful shutdown). */
  flush(): Promise<void>;
  /** Stops delivery (macronode: closes the consumer); after `flush`. */
  close(): Promise<void>;
}

/** Names of the fabric background tasks. */
export const FABRIC_TASKS = { archive: "history-archival", clade: "clade-expiry" } as const;

/** The stream history and bus of the profile (micronode: tiered history, in-process bus, archival task every minute). */
async function openHistory(opts: {
  config: Config;
  clock: Clock;
  storage: Storage;
  scheduler: Scheduler;
}): Promise<Pick<FabricStack, "history" | "bus" | "flush" | "close">> {
  const { config, clock, storage, scheduler } = opts;
  if (storage.cluster) {
    const f = await storage.cluster.openFabric({ retentionMs: config.historyRetentionMs });
    return { history: f.history, bus: f.bus, flush: () => f.flush(), close: () => f.close() };
  }
  if (!storage.events) throw new Error("a micronode storage without an event log");
  const history = new TieredHistory({
    log: storage.events,
    blobs: storage.blobs,
    clock,
    options: { coldRetentionMs: config.historyRetentionMs },
  });
  await history.open();
  scheduler.add({ name: FABRIC_TASKS.archive, everyMs: 60_000, run: () => history.archive() });
  return { history, bus: new LocalEventBus(history), flush: () => history.flush(), close: async () => {} };
}

/**
 * Builds history and bus (micronode: tiered history with the in-process bus and the archival
 * task every minute; macronode: JetStream, whose retention needs no task), the socket hub and
 * the fabric service, and registers clade-delta and presence expiry every hour.
 */
export async function buildFabric(opts: {
  config: Config;
  clock: Clock;
  storage: Storage;
  scheduler: Scheduler;
  /** Tracing on: each publish a span `EventBus.publish` (it lasts until the event is in history). */
  tracer?: Tracer;
}): Promise<FabricStack> {
  const { config, clock, storage, scheduler } = opts;
  const opened = await openHistory(opts);
  const core = { ...opened, bus: tracePort(opts.tracer ?? noTracer, "EventBus", opened.bus) };
  const hub = new Hub({ tickMs: config.ws.fanoutTickMs });
  core.bus.subscribe((e) => hub.dispatch(e));
  const service = new FabricService({
    bus: core.bus,
    presence: storage.presence,
    clade: storage.clade,
    clock,
    online: (id) => hub.online(id),
  });
  scheduler.add({ name: FABRIC_TASKS.clade, everyMs: 3_600_000, run: () => service.expire() });
  return { ...core, hub, service };
}

/**
 * Closes the sockets authenticated with a revoked key or an ended session at once (4401), counting them in
 * `styx_ws_dropped_total{reason="credential"}`; the gateway's sweep catches any missed.
 */
export function closeSocketsOf(
  hub: Pick<Hub, "sessions">,
  metrics: Pick<Metrics, "wsDropped">,
): (credentialId: string, reason?: string) => void {
  return (credentialId, reason) => {
    const n = closeCredential(hub.sessions(), credentialId, reason);
    if (n > 0) metrics.wsDropped.inc({ reason: "credential" }, n);
  };
}
