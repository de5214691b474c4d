import { type NatsConnection as CoreConnection, connect } from "@nats-io/transport-node";
import { type DependencyStatus, probe } from "../../core/platform/health.js";

/** A change of the connection's state, for logs and metrics. */
export type NatsStatus =
  | { readonly type: "disconnected"; readonly server: string }
  | { readonly type: "reconnecting" }
  | { readonly type: "reconnected"; readonly server: string }
  | { readonly type: "error"; readonly error: Error }
  | { readonly type: "closed" };

/** How to reach NATS. */
export interface NatsConnectionOptions {
  /** `nats://host:port` (or `tls://`); several may be given comma-separated. */
  readonly url: string;
  /** Shown by the server's monitoring pages, e.g. `styx-gateway-<host>`. */
  readonly name?: string;
  /** Time between reconnect attempts, ms (default 1,000: a restarted server is found within a second). */
  readonly reconnectWaitMs?: number;
}

/** Thrown for an operation attempted while the connection is down (it fails fast instead of queueing). */
export class NatsUnavailableError extends Error {
  override readonly name = "NatsUnavailableError";
}

/**
 * One connection to NATS for a gateway, reconnecting forever: a NATS restart is an outage of
 * the fabric, never a reason to restart the process. Everything NATS-backed shares it.
 */
export class NatsConnection {
  /** The client itself, for the JetStream and core NATS adapters. */
  readonly nc: CoreConnection;
  /** Called on every state change (never throws into the connection). */
  onStatus: (status: NatsStatus) => void = () => {};
  #connected = true;
  readonly #statusLoop: Promise<void>;

  private constructor(nc: CoreConnection) {
    this.nc = nc;
    this.#statusLoop = this.#watch();
  }

  /** Connects (the first connection must succeed: a bad URL fails boot rather than hanging it). */
  static async connect(options: NatsConnectionOptions): Promise<NatsConnection> {
    const nc = await connect({
      servers: options.url.split(",").map((s) => s.trim()),
      name: options.name ?? "styx",
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 1000,
      // Detects a silently dead server in ~20 s instead of the default 4 minutes.
      pingInterval: 10_000,
      maxPingOut: 2,
      // Async stack traces build two Error objects per request: ~24 % of the CPU of a publish here.
      noAsyncTraces: true,
    });
    return new NatsConnection(nc);
  }

  /** False between a disconnect and the following reconnect. */
  get connected(): boolean {
    return this.#connected && !this.nc.isClosed();
  }

  /** Throws NatsUnavailableError when the connection is down. */
  assertConnected(what: string): void {
    if (!this.connected) throw new NatsUnavailableError(`NATS is unavailable: cannot ${what} (reconnecting)`);
  }

  /** Health probe: a round trip to the server, bounded to a second. */
  check(): Promise<DependencyStatus> {
    return probe(async () => {
      this.assertConnected("check health");
      const rtt = await withTimeout(this.nc.rtt(), 1000, "NATS did not answer a ping within 1 s");
      return `${this.nc.getServer()} rtt ${rtt.toFixed(1)} ms`;
    });
  }

  /** Drains subscriptions and closes; safe to call twice. */
  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    try {
      await withTimeout(this.nc.drain(), 5000, "drain timed out");
    } catch {
      // A drain needs the server; when it is gone, closing without one is all there is.
      await this.nc.close();
    }
    await this.#statusLoop;
  }

  async #watch(): Promise<void> {
    const emit = (s: NatsStatus) => {
      try {
        this.onStatus(s);
      } catch {
        // A listener's failure must not end the status loop.
      }
    };
    void this.nc.closed().then(() => emit({ type: "closed" }));
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect") {
        this.#connected = false;
        emit({ type: "disconnected", server: s.server });
      } else if (s.type === "reconnect") {
        this.#connected = true;
        emit({ type: "reconnected", server: s.server });
      } else if (s.type === "reconnecting") {
        emit({ type: "reconnecting" });
      } else if (s.type === "error") {
        emit({ type: "error", error: s.error });
      }
    }
  }
}

/** Connects to NATS (see NatsConnection.connect). */
export function connectNats(options: NatsConnectionOptions): Promise<NatsConnection> {
  return NatsConnection.connect(options);
}

/** Rejects with `message` when `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NatsUnavailableError(message)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Whether `err` means JetStream could not take a publish now (down, timed out, contended): retryable, never the client's fault. */
export function isNatsOutage(err: unknown): boolean {
  return err instanceof Error && (err.name === "NatsUnavailableError" || err.name === "EventPublishError");
}
