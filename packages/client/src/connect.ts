import type { BackoffOptions } from "./backoff.js";
import { type BreakerOptions, CircuitBreaker } from "./breaker.js";
import { StyxClient } from "./client.js";
import type { HttpOptions } from "./http.js";
import { StyxSocket } from "./socket.js";

/** Options of `connect`: the HTTP options plus the socket's backoff and ack timeout. */
export interface ConnectOptions extends Omit<HttpOptions, "breaker" | "token"> {
  /** The API key (or session token) for both HTTP and the socket. */
  readonly token: string;
  readonly breaker?: BreakerOptions;
  readonly backoff?: BackoffOptions;
  readonly ackTimeoutMs?: number;
}

/**
 * The HTTP client and the socket of one golem or surface, sharing one circuit breaker; each
 * socket reconnect flushes the offline write queue.
 */
export class Styx extends StyxClient {
  /** The reconnecting socket (events, heartbeats, resume). */
  readonly socket: StyxSocket;

  constructor(opts: ConnectOptions) {
    const breaker = new CircuitBreaker(opts.breaker);
    super({ ...opts, breaker });
    this.socket = new StyxSocket({
      url: opts.url,
      token: opts.token,
      breaker,
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.ackTimeoutMs ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
    });
    this.socket.on("open", () => void this.flush());
  }

  /** Closes the socket and stops the write queue. */
  override close(): void {
    this.socket.close();
    super.close();
  }
}

/** Opens a `Styx` (HTTP + socket) and resolves once the socket's first welcome arrived. */
export async function connect(opts: ConnectOptions): Promise<Styx> {
  const styx = new Styx(opts);
  await styx.socket.connect();
  return styx;
}
