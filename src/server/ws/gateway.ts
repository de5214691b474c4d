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
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { MAX_FRAME_BYTES } from "../../protocol/fabric.js";
import { ClientFrameDecoder } from "../../protocol/frames.js";
import { clientIp, type TrustFunction } from "../client-ip.js";
import type { Metrics } from "../metrics.js";
import { toStyxError } from "../presenters/errors.js";
import { sweepCredentials } from "./credential-sweep.js";
import type { Hub } from "./hub.js";
import type { MessageHandler } from "./messages.js";
import { type SessionDeps, type SessionOptions, SocketSession } from "./session.js";
import type { UpgradeCredential } from "./sign-in.js";
import type { SocketQuota } from "./socket-quota.js";
import { wsTransport } from "./transport.js";
import { admit, refuse } from "./upgrade.js";

/** Slices of the sockets pinged in turn across one ping interval. */
const PING_SLICES = 20;

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
  /** The client-address rule of HTTP requests (STYX_TRUST_PROXY), applied to upgrades. */
  readonly trust: TrustFunction;
  /** Socket caps per user, key and address (SPEC §12). */
  readonly quota: SocketQuota;
  readonly metrics: Metrics;
  readonly closing: () => boolean;
  /** Where the periodic credential sweep asks which keys stopped working, and the time it asks at. */
  readonly credentials: Pick<IdentityStore, "unusableApiKeys">;
  readonly clock: Clock;
  readonly options: GatewayOptions;
}

/**
 * `WS /v1/styx/ws` on the Fastify server (SPEC §9): upgrade admission (path, shutdown, the
 * process's connection cap, the client address's bucket, the credential, the socket caps per
 * user, key and address — all refused with an HTTP answer before any upgrade), one SocketSession per admitted socket wired to its `ws` events,
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
    const id = newId("ws");
    const ip = clientIp(req, deps.trust);
    void admit(id, ip, req, deps).then(
      (credential) => {
        const release = releaser(deps.quota, id);
        if (socket.destroyed) return release();
        // `ws` may still refuse the handshake (400, no callback): the close releases the counts then.
        // Once a session exists its close releases them, and this listener goes: kept, it lived as
        // long as the socket (~250 bytes each, bench/lib/socket-memory.ts).
        socket.once("close", release);
        wss.handleUpgrade(req, socket, head, (ws) => {
          socket.off("close", release);
          open(ws, id, ip, req, credential, sessionDeps);
        });
      },
      (err: unknown) => {
        const e = toStyxError(err);
        if (e.code === "STYX_INTERNAL") app.log.error({ err, connection: id }, "socket upgrade failed");
        refuse(socket, e);
      },
    );
  };
  app.server.on("upgrade", onUpgrade);
  const timers = [pingRounds(hub, options.pingIntervalMs), credentialSweeps(app, deps), countRefreshes(app, deps)];

  app.addHook("preClose", async () => {
    for (const t of timers) clearInterval(t);
    app.server.off("upgrade", onUpgrade);
    hub.stop();
    for (const s of [...hub.sessions()]) s.connection.close("STYX_SHUTTING_DOWN", "server restarting; reconnect and resume");
    wss.close();
  });
}

/**
 * The close listener that gives a socket's counts back. Made here, not inline in the upgrade
 * handler: a closure there shares that handler's context, which holds the upgrade request and
 * its head buffer, and the listener lives as long as the socket (1.7 KiB of live heap per open socket:
 * bench/connections.ts with 3,000 sockets, heap snapshots of the same commit with and without).
 */
function releaser(quota: GatewayDeps["quota"], id: string): () => void {
  return () => void quota.release(id).catch(() => {});
}

/** A session for an admitted socket, fed its frames and pongs. */
function open(ws: WebSocket, id: string, ip: string, req: IncomingMessage, credential: UpgradeCredential, deps: SessionDeps): void {
  const tcp = req.socket as Socket;
  const session = new SocketSession(id, ip, wsTransport(ws, tcp), deps);
  sessionOf.set(ws, session);
  ws.on("error", onError);
  ws.on("pong", onPong);
  ws.on("message", onMessage);
  session.start(credential);
}

/**
 * The session of each open `ws` socket. The listeners below are one function for every socket
 * (`ws` calls them with the socket as `this`): a closure per socket and event, with their
 * context, cost ~200 bytes of each socket's life (bench/lib/socket-memory.ts).
 */
const sessionOf = new WeakMap<WebSocket, SocketSession>();

function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  sessionOf.get(this)?.receive(data, isBinary);
}

function onPong(this: WebSocket): void {
  sessionOf.get(this)?.alive();
}

function onError(this: WebSocket): void {
  this.terminate();
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

/** Once per ping interval: keeps this process's sockets counted (a count not refreshed expires). */
function countRefreshes(app: FastifyInstance, deps: GatewayDeps): NodeJS.Timeout {
  let refreshing = false;
  const timer = setInterval(() => {
    if (refreshing || deps.quota.size === 0) return;
    refreshing = true;
    deps.quota
      .refresh()
      .catch((err: unknown) => app.log.warn({ err }, "socket count refresh failed; retried next interval"))
      .finally(() => {
        refreshing = false;
      });
  }, deps.options.pingIntervalMs);
  timer.unref();
  return timer;
}

function sumQueues(hub: Hub, how: "sum" | "max"): number {
  let n = 0;
  for (const s of hub.sessions()) n = how === "sum" ? n + s.connection.queuedBytes : Math.max(n, s.connection.queuedBytes);
  return n;
}
