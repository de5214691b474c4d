import type { Server, ServerOptions } from "node:http";
import type { Socket } from "node:net";
import type { TrustFunction } from "./client-ip.js";

/** The HTTP server's timers and the cap on connections still sending their headers (config values). */
export interface ConnectionLimits {
  /** Time to send a request's headers (STYX_HEADERS_TIMEOUT). */
  readonly headersTimeoutMs: number;
  /** Time for a whole request, body included (STYX_REQUEST_TIMEOUT). */
  readonly requestTimeoutMs: number;
  /** Idle time kept between requests of a keep-alive connection (STYX_KEEP_ALIVE_TIMEOUT). */
  readonly keepAliveTimeoutMs: number;
  /** Connections per address that have not completed their first request's headers (STYX_UNFINISHED_CONNECTIONS_PER_IP). */
  readonly unfinishedPerIp: number;
}

/**
 * How often Node looks for connections past the headers or request timeout: its default (30 s)
 * kept a client trickling a header line every few seconds for ~80 s whatever the timeout said.
 */
export function checkIntervalMs(limits: Pick<ConnectionLimits, "headersTimeoutMs">): number {
  return Math.min(1000, Math.floor(limits.headersTimeoutMs / 2));
}

/** Options of `http.createServer` for these limits (Fastify's `http`; it sets keep-alive and request timeouts itself). */
export function httpServerOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: checkIntervalMs(limits),
  };
}

/**
 * Caps the connections of one address that have not finished their first request's headers
 * (slowloris: each holds a socket until the headers timeout). A connection counts from its
 * accept until its first request or upgrade is parsed, or it closes; one past the cap is
 * destroyed at once (nothing is written: the peer has not asked anything yet). Connections from a
 * trusted proxy are not counted: every client behind it shares its address, and the proxy
 * buffers headers itself. `refused` hears of each connection dropped (a metric).
 */
export function capUnfinishedConnections(server: Server, perIp: number, trust: TrustFunction, refused: () => void): void {
  const pending = new Map<Socket, string>();
  const byIp = new Map<string, number>();
  const done = (socket: Socket) => {
    const ip = pending.get(socket);
    if (ip === undefined) return;
    pending.delete(socket);
    socket.off("close", onClose);
    const n = (byIp.get(ip) ?? 1) - 1;
    if (n <= 0) byIp.delete(ip);
    else byIp.set(ip, n);
  };
  // One listener for every socket, removed once the connection is done: a listener per socket
  // (`once` and a closure) lived as long as the socket, ~250 bytes per open WebSocket.
  function onClose(this: Socket): void {
    done(this);
  }
  server.on("connection", (socket: Socket) => {
    const ip = socket.remoteAddress;
    if (ip === undefined || trust(ip, 0)) return;
    const n = (byIp.get(ip) ?? 0) + 1;
    if (n > perIp) {
      refused();
      socket.destroy();
      return;
    }
    byIp.set(ip, n);
    pending.set(socket, ip);
    socket.on("close", onClose);
  });
  server.on("request", (req: { socket: Socket }) => done(req.socket));
  server.on("upgrade", (req: { socket: Socket }) => done(req.socket));
}
