import { LocalEventBus } from "../../../../src/adapters/memory/local-event-bus.js";
import { MemoryAuditLog } from "../../../../src/adapters/memory/memory-audit-log.js";
import { MemoryBlobStore } from "../../../../src/adapters/memory/memory-blob-store.js";
import { MemoryFederationStore } from "../../../../src/adapters/memory/memory-federation-store.js";
import { MemoryPresence } from "../../../../src/adapters/memory/memory-presence.js";
import { MemoryRateLimiter } from "../../../../src/adapters/memory/memory-rate-limiter.js";
import { MemorySocketCounts } from "../../../../src/adapters/memory/memory-socket-counts.js";
import { openDatabase } from "../../../../src/adapters/sqlite/database.js";
import { SqliteCladeStore } from "../../../../src/adapters/sqlite/sqlite-clade-store.js";
import { SqliteEventLog } from "../../../../src/adapters/sqlite/sqlite-event-log.js";
import type { SequencedEvent } from "../../../../src/core/fabric/event-bus.js";
import { FabricService } from "../../../../src/core/fabric/fabric-service.js";
import type { History, Recovery, StreamPosition } from "../../../../src/core/fabric/history.js";
import { TieredHistory } from "../../../../src/core/fabric/tiered-history.js";
import type { Principal } from "../../../../src/core/identity/principal.js";
import { Tenancy } from "../../../../src/core/identity/tenancy.js";
import { ManualClock } from "../../../../src/core/platform/clock.js";
import { StyxError } from "../../../../src/core/platform/errors.js";
import { SecretKey } from "../../../../src/core/platform/secret-key.js";
import { TIER_LIMITS } from "../../../../src/core/quota/limits.js";
import { ClientFrameDecoder, SERVER_FRAMES } from "../../../../src/protocol/frames.js";
import { makeAjv } from "../../../../src/protocol/json-rules.js";

const ajv = makeAjv(false, { formats: false });
const serverFrames = new Map(Object.entries(SERVER_FRAMES).map(([type, schema]) => [type, ajv.compile(schema)]));

import { Metrics } from "../../../../src/server/metrics.js";
import { Hub } from "../../../../src/server/ws/hub.js";
import { MessageHandler } from "../../../../src/server/ws/messages.js";
import { SocketSession } from "../../../../src/server/ws/session.js";
import type { SharedFrame } from "../../../../src/server/ws/shared-frame.js";
import type { UpgradeCredential } from "../../../../src/server/ws/sign-in.js";
import { SocketQuota } from "../../../../src/server/ws/socket-quota.js";
import type { SocketTransport } from "../../../../src/server/ws/transport.js";
import { aliveGolem } from "../../../../src/testing/core-kit.js";

/** A frame as the client saw it. */
export type Seen = Record<string, unknown> & { type?: string; seq?: number; stream?: string };

/**
 * A socket as the session sees it, recording what is sent (parsed), with a backlog the test
 * sets and drains by hand. Shared frames arrive as their text, like any other.
 */
export class FakeTransport implements SocketTransport {
  open = true;
  bufferedAmount = 0;
  closedWith: number | undefined;
  /** WebSocket frames written (a batch is one). */
  writes = 0;
  readonly frames: Seen[] = [];
  readonly #closeListeners: ((code: number) => void)[] = [];
  readonly #drainWaiters: (() => void)[] = [];

  send(data: Buffer): void {
    this.#record(data.toString());
  }
  sendShared(frame: SharedFrame): void {
    this.#record(frame.data.toString());
  }
  ping(): void {}
  close(code: number): void {
    if (!this.open) return;
    this.open = false;
    this.closedWith = code;
    for (const l of this.#closeListeners) l(code);
    this.drain();
  }
  terminate(): void {
    this.close(1006);
  }
  onClose(listener: (code: number) => void): void {
    this.#closeListeners.push(listener);
  }
  drained(maxWaitMs: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, maxWaitMs);
      this.#drainWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
  /** The client read everything. */
  drain(): void {
    this.bufferedAmount = 0;
    for (const w of this.#drainWaiters.splice(0)) w();
  }
  /** Event frames seen, flattened (batches are arrays), as `stream#seq`. */
  events(): string[] {
    return this.frames.filter((f) => typeof f.seq === "number" && f.type === undefined).map((f) => `${f.stream}#${f.seq}`);
  }
  control(type: string): Seen[] {
    return this.frames.filter((f) => f.type === type);
  }
  #record(text: string): void {
    this.writes++;
    const v = JSON.parse(text) as Seen | Seen[];
    for (const f of Array.isArray(v) ? v : [v]) {
      // Every control frame the session sends matches its published schema (the SDK's types come from it).
      const validate = f.type === undefined ? undefined : serverFrames.get(f.type);
      if (f.type !== undefined && !validate?.(f))
        throw new Error(`${f.type} frame off its schema: ${JSON.stringify(validate?.errors ?? "unknown type")}`);
      this.frames.push(f);
    }
  }
}

/**
 * History pages released by the test: each page holds one event and waits for `step()` (or
 * everything flows once `flow()` was called). Wraps the real TieredHistory.
 */
export class GatedHistory implements History {
  readonly #inner: History;
  #gated = false;
  #waiting: (() => void)[] = [];
  #positionGate: Promise<void> | undefined;
  #releasePosition: (() => void) | undefined;
  /** Set to make `position` and `recover` fail (the store is down). */
  failure: Error | undefined;

  constructor(inner: History) {
    this.#inner = inner;
  }
  gate(): void {
    this.#gated = true;
  }
  /** Lets one waiting page through; resolves after a few turns so its frames went out. */
  async step(): Promise<void> {
    this.#waiting.shift()?.();
    await turns();
  }
  async flow(): Promise<void> {
    this.#gated = false;
    for (const w of this.#waiting.splice(0)) w();
    await turns();
  }
  /** `position` waits until `releasePosition()`. */
  holdPositions(): void {
    this.#positionGate = new Promise((r) => {
      this.#releasePosition = r;
    });
  }
  releasePositions(): void {
    this.#releasePosition?.();
    this.#positionGate = undefined;
  }
  async position(stream: string): Promise<StreamPosition> {
    if (this.failure) throw this.failure;
    if (this.#positionGate) await this.#positionGate;
    return this.#inner.position(stream);
  }
  async recover(stream: string, since: StreamPosition): Promise<Recovery> {
    if (this.failure) throw this.failure;
    const r = await this.#inner.recover(stream, since, 1);
    if (!r.recovered) return r;
    const pages = r.pages;
    const self = this;
    return {
      ...r,
      pages: (async function* () {
        for await (const page of pages) {
          if (self.#gated) await new Promise<void>((resolve) => self.#waiting.push(resolve));
          yield page;
        }
      })(),
    };
  }
}

/** Lets pending promise chains and immediates run. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

export const USER: Principal = {
  kind: "user",
  userId: "u1",
  credentialId: "key_1",
  via: "api_key",
  golemId: null,
  expiresAt: null,
  scopes: ["read", "write"],
};

/** A golem credential of u1: a key bound to golem `golemId` (or, `via: "session"`, that golem's wallet session). */
export function golemPrincipal(golemId: string, via: "api_key" | "session" = "api_key"): Principal {
  return { ...(USER as Extract<Principal, { kind: "user" }>), credentialId: `${via}_${golemId}`, via, golemId };
}

/** The socket layer of one process on real in-memory adapters, with sessions on fake transports. */
export async function socketLayer(opts: { maxQueueBytes?: number; principals?: Map<string, Principal> } = {}) {
  const clock = new ManualClock(1_700_000_000_000);
  const db = openDatabase(":memory:");
  const real = new TieredHistory({ log: new SqliteEventLog(db), blobs: new MemoryBlobStore(), clock });
  await real.open();
  const history = new GatedHistory(real);
  const bus = new LocalEventBus(real);
  const hub = new Hub({ tickMs: 1 });
  bus.subscribe((e) => hub.dispatch(e));
  // u1 owns g1, g2 and g3; u2 owns x1.
  const golems = new Map([
    ...["g1", "g2", "g3"].map((id) => [id, aliveGolem(id, "u1", { generation: 1 })] as const),
    ["x1", aliveGolem("x1", "u2", { generation: 1 })],
  ]);
  const audit = new MemoryAuditLog(clock, SecretKey.fromBase64(Buffer.alloc(32, 5).toString("base64")));
  const identity = {
    getGolem: async (id: string) => golems.get(id),
    getSession: async () => undefined,
    markGolemAlive: async (id: string) => {
      const g = golems.get(id);
      if (g?.status === "provisioning") golems.set(id, { ...g, status: "alive" });
    },
  };
  const tenancy = new Tenancy({ identity, audit });
  const fabric = new FabricService({
    bus,
    presence: new MemoryPresence(),
    clade: new SqliteCladeStore(db),
    clock,
    online: (id) => hub.online(id),
  });
  const metrics = new Metrics();
  const limiter = new MemoryRateLimiter(clock);
  const rateLimit = { rate: 1_000_000, burst: 1_000_000 };
  // Every user at the same (high) bucket: a fixed policy, as the quota service would answer.
  const quotas = { limitsOf: async () => ({ rate: rateLimit, quotas: TIER_LIMITS.steward.quotas }) };
  const links = new MemoryFederationStore();
  const handler = new MessageHandler({ hub, history, fabric, tenancy, limiter, rateLimit, quotas, metrics, links });
  const principals = opts.principals ?? new Map([["good", USER]]);
  /** Credentials refused, as the session reports them to the failed-authentication audit. */
  const authFailures: { ip: string; code: string }[] = [];
  const auth = {
    authenticate: async (token: string) => {
      const p = principals.get(token);
      if (!p) throw new StyxError("STYX_AUTH_INVALID_KEY");
      return p;
    },
    refused: (ip: string, code: string) => void authFailures.push({ ip, code }),
  };
  const deps = {
    hub,
    history,
    auth,
    handler,
    quota: new SocketQuota({
      counts: new MemorySocketCounts(clock),
      policy: { limitsOf: async () => TIER_LIMITS.steward },
      defaults: TIER_LIMITS.steward,
      ttlMs: 75_000,
    }),
    decoder: new ClientFrameDecoder(),
    metrics,
    log: { error: () => {} },
    options: { pingIntervalMs: 25_000, authTimeoutMs: 5_000, maxQueueBytes: opts.maxQueueBytes ?? 1024 * 1024, maxPendingMessages: 1000 },
  };
  let n = 0;
  /** What the gateway makes of an upgrade's token before the upgrade (null: none). */
  const upgradeCredential = async (token: string | null): Promise<UpgradeCredential> => {
    if (token === null) return { kind: "none" };
    try {
      return { kind: "authenticated", principal: await auth.authenticate(token) };
    } catch (error) {
      return { kind: "refused", error: error as StyxError };
    }
  };
  /** A session on a fake transport, authenticated at its upgrade with `token` (default: the user; null: by a later `auth` message). */
  const connect = async (token: string | null = "good") => {
    const transport = new FakeTransport();
    const session = new SocketSession(`ws_${++n}`, "127.0.0.1", transport, deps);
    session.start(await upgradeCredential(token));
    await turns();
    return { session, transport, send: (msg: object) => session.receive(Buffer.from(JSON.stringify(msg)), false) };
  };
  /** Publishes `count` events on a domain (through the bus, like a pheromone deposit would). */
  const publish = async (stream: string, count: number): Promise<SequencedEvent[]> => {
    const out: SequencedEvent[] = [];
    for (let i = 0; i < count; i++) out.push(await bus.publish({ stream, channel: "styx:test", payload: { i } }));
    hub.flush();
    return out;
  };
  return { clock, db, history, real, bus, hub, fabric, audit, golems, authFailures, connect, publish, close: () => db.close() };
}
