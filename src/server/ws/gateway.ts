import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { FastifyInstance } from "fastify";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import type { History } from "../../core/fabric/history.js";
import type { AuthService } from "../../core/identity/auth-service.js";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { Clock } from "../../core/platform/clock.js";
import { newId } from "../../core/platform/crypto.js";
import { ERROR_TABLE, type ErrorCode } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { MAX_FRAME_BYTES } from "../../protocol/fabric.js";
import { ClientFrameDecoder } from "../../protocol/frames.js";
import { bearerToken, ipBucket } from "../admission.js";
import type { Metrics } from "../metrics.js";
import { sweepCredentials } from "./credential-sweep.js";
import type { Hub } from "./hub.js";
import type { MessageHandler } from "./messages.js";
import { type SessionDeps, type SessionOptions, SocketSession } from "./session.js";
import { wsTransport } from "./transport.js";

/** Slices of the sockets pinged in turn across one ping interval. */
const PING_SLICES = 20;

/** The path of the socket endpoint. */
export const WS_PATH = "/v1/styx/ws";

/** Socket limits and timers (config values). */
export interface GatewayOptions extends Omit<SessionOptions, "maxPendingMessages"> {
  readonly maxConnections: number;
  /** permessage-deflate (off by default: it costs ~10× broadcast throughput). */
  readonly deflate: boolean;
  /** Client messages a socket may have waiting to be handled before it is closed as a flood. */
  readonly maxPendingMessages: number;
}

/** What the gateway needs from the rest of the server. */
export interface GatewayDeps {
  readonly hub: Hub;
  readonly history: History;
  /** Authenticates a socket's token, and is told of each one refused (its address and the error's code). */
  readonly auth: Pick<AuthService, "authenticate"> & { refused(ip: string, code: string): void };
  readonly handler: MessageHandler;
  readonly limiter: RateLimiter;
  readonly ipRateLimit: BucketSpec;
  readonly metrics: Metrics;
  readonly closing: () => boolean;
  /** Where the periodic credential sweep asks which keys stopped working, and the time it asks at. */
  readonly credentials: Pick<IdentityStore, "unusableApiKeys">;
  readonly clock: Clock;
  readonly options: GatewayOptions;
}

/**
 * `WS /v1/styx/ws` on the Fastify server (SPEC §9): upgrade admission (path, shutdown,
 * connection cap, IP bucket), one SocketSession per admitted socket wired to its `ws` events,
 * the ping rounds, the credential sweep, and the 1012 goodbye at shutdown.
 */
export function attachGateway(app: FastifyInstance, deps: GatewayDeps): void {
  const { hub, metrics, options } = deps;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    clientTracking: false,
    perMessageDeflate: options.deflate
      ? { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 1024, concurrencyLimit: 4 }
      : false,
  });
  const sessionDeps: SessionDeps = { ...deps, decoder: new ClientFrameDecoder(), log: app.log, options };
  metrics.gauge("styx_ws_connections", "Open WebSocket connections.", () => hub.size);
  metrics.gauge("styx_ws_send_queue_bytes", "Bytes waiting in all socket send queues.", () => sumQueues(hub, "sum"));
  metrics.gauge("styx_ws_send_queue_max_bytes", "Deepest socket send queue, in bytes.", () => sumQueues(hub, "max"));

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void admit(req, deps).then(
      (refusal) => {
        if (refusal) return refuse(socket, refusal);
        wss.handleUpgrade(req, socket, head, (ws) => open(ws, req, sessionDeps));
      },
      () => refuse(socket, "STYX_INTERNAL"),
    );
  };
  app.server.on("upgrade", onUpgrade);
  const timers = [pingRounds(hub, options.pingIntervalMs), credentialSweeps(app, deps)];

  app.addHook("preClose", async () => {
    for (const t of timers) clearInterval(t);
    app.server.off("upgrade", onUpgrade);
    hub.stop();
    for (const s of [...hub.sessions()]) s.connection.close("STYX_SHUTTING_DOWN", "server restarting; reconnect and resume");
    wss.close();
  });
}

/** Why an upgrade is refused, or undefined when it is admitted. */
async function admit(req: IncomingMessage, deps: GatewayDeps): Promise<ErrorCode | undefined> {
  const path = (req.url ?? "").split("?")[0];
  if (path !== WS_PATH) return "STYX_ROUTE_NOT_FOUND";
  if (deps.closing()) return "STYX_SHUTTING_DOWN";
  if (deps.hub.size >= deps.options.maxConnections) {
    deps.metrics.rejected.inc({ reason: "overloaded" });
    return "STYX_OVERLOADED";
  }
  const r = await deps.limiter.take(ipBucket(req.socket.remoteAddress ?? "unknown"), deps.ipRateLimit);
  if (!r.allowed) {
    deps.metrics.rejected.inc({ reason: "rate_limit" });
    return "STYX_RATE_LIMITED";
  }
  return undefined;
}

/** A session for an admitted socket, fed its frames and pongs. */
function open(ws: WebSocket, req: IncomingMessage, deps: SessionDeps): void {
  const tcp = req.socket as Socket;
  const session = new SocketSession(newId("ws"), tcp.remoteAddress ?? "unknown", wsTransport(ws, tcp), deps);
  ws.on("error", () => ws.terminate());
  ws.on("pong", () => session.alive());
  ws.on("message", (data: RawData, isBinary: boolean) => session.receive(data, isBinary));
  session.start(tokenOf(req));
}

/**
 * Pings each socket once per interval, visiting them in PING_SLICES slices spread over the
 * interval: pinging 10,000 sockets in one loop stalled every other message for ~100 ms on a
 * 2-core machine (bench/connections.ts).
 */
function pingRounds(hub: Hub, intervalMs: number): NodeJS.Timeout {
  let round: SocketSession[] = [];
  let slice = 0;
  const timer = setInterval(() => {
    if (slice === 0) round = [...hub.sessions()];
    const per = Math.ceil(round.length / PING_SLICES);
    for (const session of round.slice(slice * per, (slice + 1) * per)) session.ping();
    slice = (slice + 1) % PING_SLICES;
  }, intervalMs / PING_SLICES);
  timer.unref();
  return timer;
}

/** Once per ping interval: closes sockets whose key was revoked elsewhere or whose credential expired. */
function credentialSweeps(app: FastifyInstance, deps: GatewayDeps): NodeJS.Timeout {
  let sweeping = false;
  const timer = setInterval(() => {
    if (sweeping || deps.hub.size === 0) return;
    sweeping = true;
    sweepCredentials(deps.hub.sessions(), deps.credentials, deps.clock.now())
      .then(
        (n) => {
          if (n > 0) deps.metrics.wsDropped.inc({ reason: "credential" }, n);
        },
        (err) => app.log.warn({ err }, "credential sweep failed; retried next interval"),
      )
      .finally(() => {
        sweeping = false;
      });
  }, deps.options.pingIntervalMs);
  timer.unref();
  return timer;
}

/** The token of an upgrade: header or `?token=`; undefined when neither (auth by message); null when malformed. */
function tokenOf(req: IncomingMessage): string | undefined | null {
  const h = req.headers.authorization;
  if (h) return bearerToken(h);
  const q = new URL(req.url ?? "/", "http://x").searchParams.get("token");
  return q || undefined;
}

/** Answers an upgrade that is not admitted with a plain HTTP error in the Styx error shape. */
function refuse(socket: Duplex, code: ErrorCode): void {
  const spec = ERROR_TABLE[code];
  const body = JSON.stringify({ error: { code, message: spec.message } });
  const retry = spec.retryable ? "Retry-After: 1\r\n" : "";
  socket.end(
    `HTTP/1.1 ${spec.status} ${code}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Connection: close\r\n\r\n${body}`,
  );
}

function sumQueues(hub: Hub, how: "sum" | "max"): number {
  let n = 0;
  for (const s of hub.sessions()) n = how === "sum" ? n + s.connection.queuedBytes : Math.max(n, s.connection.queuedBytes);
  return n;
}
