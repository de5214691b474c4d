import { Redis } from "ioredis";
import { type DependencyStatus, probe } from "../../core/platform/health.js";

/** Options of `openRedis`. */
export interface RedisConnectionOptions {
  /** `redis://` or `rediss://` URL (credentials and database number included). */
  readonly url: string;
  /** Prepended to every key this connection touches: `<cluster>:`. */
  readonly prefix: string;
  /** A command without an answer after this long fails (default 500 ms), so a hung server never hangs a request. */
  readonly commandTimeoutMs?: number;
  /** Told of connection errors (the client keeps reconnecting on its own); for logging. */
  readonly onError?: (err: Error) => void;
}

/** One Redis client of a cluster, its health probe and its shutdown. */
export interface RedisConnection {
  /** Named for the health report. */
  readonly name: "redis";
  /** The client; every key it sends is prefixed with `prefix` (SCAN patterns are not: add it yourself). */
  readonly client: Redis;
  /** `<cluster>:` */
  readonly prefix: string;
  /** Resolves once connected; rejects when not connected within `timeoutMs` (default 5 s). The client keeps trying either way. */
  ready(timeoutMs?: number): Promise<void>;
  /** PING round trip: up with its latency, or down with the reason; never throws. */
  check(): Promise<DependencyStatus>;
  /** Closes the connection (gracefully when possible) and stops reconnecting. */
  close(): Promise<void>;
}

/** Reconnect delay after the n-th failed attempt: doubling from 50 ms, at most 1 s, forever. */
function reconnectDelay(attempt: number): number {
  return Math.min(50 * 2 ** Math.min(attempt, 5), 1000);
}

/**
 * Opens a client on `url` that reconnects without end. While Redis is unreachable, commands
 * fail at once instead of queueing (no offline queue, no per-request retries): a gateway
 * answers with an error rather than piling up requests that would run late — a queued rate
 * limit take replayed after an outage would spend tokens for requests long answered. This also
 * holds before the first connection: await `ready()` at boot to start only once connected.
 */
export function openRedis(opts: RedisConnectionOptions): RedisConnection {
  const client = new Redis(opts.url, {
    keyPrefix: opts.prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    retryStrategy: reconnectDelay,
  });
  let lastError: Error | undefined;
  // Without a listener ioredis prints every failed reconnect to the console.
  client.on("error", (err: Error) => {
    lastError = err;
    opts.onError?.(err);
  });
  return {
    name: "redis",
    client,
    prefix: opts.prefix,
    async ready(timeoutMs = 5000) {
      if (client.status === "ready") return;
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          new Promise<void>((resolve) => client.once("ready", () => resolve())),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const why = lastError?.message ?? `status ${client.status}`;
              reject(new Error(`Redis at ${redactUrl(opts.url)} not reachable within ${timeoutMs} ms: ${why}`, { cause: lastError }));
            }, timeoutMs);
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    check: () =>
      probe(async () => {
        await client.ping();
        return undefined;
      }),
    async close() {
      if (client.status === "end") return;
      try {
        if (client.status === "ready") await client.quit();
        else client.disconnect();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** `openRedis`, resolved once connected (rejects, closing the client, when not within `timeoutMs`). */
export async function connectRedis(opts: RedisConnectionOptions, timeoutMs = 5000): Promise<RedisConnection> {
  const conn = openRedis(opts);
  try {
    await conn.ready(timeoutMs);
  } catch (err) {
    await conn.close();
    throw err;
  }
  return conn;
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/** ioredis messages for a command that could not reach Redis (no offline queue, timeout, closed). */
const OUTAGE_MESSAGES = /Stream isn't writeable|Connection is closed|Command timed out|Reached the max retries|ECONNREFUSED|ECONNRESET/;

/** Whether `err` means Redis is unreachable (rather than refusing a command). */
export function isRedisOutage(err: unknown): boolean {
  return err instanceof Error && (OUTAGE_MESSAGES.test(err.message) || err.name === "MaxRetriesPerRequestError");
}
