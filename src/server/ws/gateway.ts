import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { ValidateFunction } from "ajv";
import type { FastifyInstance } from "fastify";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { userStream } from "../../core/fabric/streams.js";
import type { AuthService } from "../../core/identity/auth-service.js";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { Principal } from "../../core/identity/principal.js";
import type { Clock } from "../../core/platform/clock.js";
import { newId } from "../../core/platform/crypto.js";
import { ERROR_TABLE, type ErrorCode, StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { CLIENT_MESSAGES, type ClientMessage, MAX_FRAME_BYTES } from "../../protocol/fabric.js";
import { BEARER_HINT, bearerToken, ipBucket } from "../admission.js";
import type { Metrics } from "../metrics.js";
import { toStyxError, validationError } from "../presenters/errors.js";
import { makeAjv, nestedDeeperThan, tooDeep } from "../validation.js";
import { Connection } from "./connection.js";
import { sweepCredentials } from "./credential-sweep.js";
import type { Hub } from "./hub.js";
import type { MessageHandler } from "./messages.js";

/** Slices of the sockets pinged in turn across one ping interval. */
const PING_SLICES = 20;

/** The path of the socket endpoint. */
export const WS_PATH = "/v1/styx/ws";

/** Socket limits and timers (config values). */
export interface GatewayOptions {
  readonly pingIntervalMs: number;
  readonly authTimeoutMs: number;
  readonly maxQueueBytes: number;
  readonly maxConnections: number;
  /** permessage-deflate (off by default: it costs ~10× broadcast throughput). */
  readonly deflate: boolean;
  /** Client messages a socket may have waiting to be handled before it is closed as a flood. */
  readonly maxPendingMessages: number;
}

/** What the gateway needs from the rest of the server. */
export interface GatewayDeps {
  readonly hub: Hub;
  readonly auth: Pick<AuthService, "authenticate">;
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
 * connection cap, IP bucket), authentication at upgrade (`Authorization: Bearer` or `?token=`)
 * or by a first `auth` message within the auth timeout, frame parsing and validation, pings,
 * and the 1012 goodbye at shutdown. What each message does is `messages.ts`.
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
  const validators = compileValidators();
  metrics.gauge("styx_ws_connections", "Open WebSocket connections.", () => hub.size);
  metrics.gauge("styx_ws_send_queue_bytes", "Bytes waiting in all socket send queues.", () => sumQueues(hub, "sum"));
  metrics.gauge("styx_ws_send_queue_max_bytes", "Deepest socket send queue, in bytes.", () => sumQueues(hub, "max"));

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void admit(req).then(
      (refusal) => {
        if (refusal) return refuse(socket, refusal);
        wss.handleUpgrade(req, socket, head, (ws) => open(ws, req));
      },
      () => refuse(socket, "STYX_INTERNAL"),
    );
  };
  app.server.on("upgrade", onUpgrade);

  async function admit(req: IncomingMessage): Promise<ErrorCode | undefined> {
    const path = (req.url ?? "").split("?")[0];
    if (path !== WS_PATH) return "STYX_ROUTE_NOT_FOUND";
    if (deps.closing()) return "STYX_SHUTTING_DOWN";
    if (hub.size >= options.maxConnections) {
      metrics.rejected.inc({ reason: "overloaded" });
      return "STYX_OVERLOADED";
    }
    const ip = req.socket.remoteAddress ?? "unknown";
    const r = await deps.limiter.take(ipBucket(ip), deps.ipRateLimit);
    if (!r.allowed) {
      metrics.rejected.inc({ reason: "rate_limit" });
      return "STYX_RATE_LIMITED";
    }
    return undefined;
  }

  function open(ws: WebSocket, req: IncomingMessage): void {
    const conn = new Connection(newId("ws"), ws, req.socket.remoteAddress ?? "unknown", {
      maxQueueBytes: options.maxQueueBytes,
      socket: req.socket,
      onClose: (c, code) => {
        hub.remove(c);
        if (code === ERROR_TABLE.STYX_SLOW_CONSUMER.ws) metrics.wsDropped.inc({ reason: "slow_consumer" });
      },
    });
    hub.add(conn);
    ws.on("error", () => ws.terminate());
    ws.on("pong", () => {
      conn.missedPings = 0;
    });
    // Messages waiting or in flight (pipelined events count until their publish settled).
    let pending = 0;
    let chain: Promise<void> = Promise.resolve();
    const inflight = new Set<Promise<void>>();
    ws.on("message", (data: RawData, isBinary: boolean) => {
      conn.missedPings = 0;
      if (++pending > options.maxPendingMessages) {
        metrics.wsDropped.inc({ reason: "flood" });
        conn.close("STYX_RATE_LIMITED", "too many messages waiting");
        return;
      }
      // One message at a time per socket, in arrival order; consecutive events pipeline (see MessageHandler.handle).
      chain = chain
        .then(() => receive(conn, data, isBinary, inflight))
        .then(
          (tail) => {
            if (!tail) return void pending--;
            inflight.add(tail);
            void tail.finally(() => {
              inflight.delete(tail);
              pending--;
            });
          },
          () => void pending--,
        );
    });

    const token = tokenOf(req);
    if (token === null) {
      conn.close("STYX_AUTH_REQUIRED", BEARER_HINT);
      return;
    }
    if (token !== undefined) {
      chain = chain.then(() => authenticate(conn, token, undefined));
      return;
    }
    const timer = setTimeout(() => {
      if (conn.principal || !conn.open) return;
      metrics.wsDropped.inc({ reason: "auth_timeout" });
      conn.sendError("STYX_AUTH_REQUIRED", `Send {"type":"auth","token":…} within ${options.authTimeoutMs} ms of connecting.`);
      conn.close("STYX_AUTH_REQUIRED", "authentication timeout");
    }, options.authTimeoutMs);
    timer.unref();
    ws.once("close", () => clearTimeout(timer));
  }

  /** Handles one message; for a pipelined event, resolves with the promise of its completion (errors already answered). */
  async function receive(
    conn: Connection,
    data: RawData,
    isBinary: boolean,
    inflight: ReadonlySet<Promise<void>>,
  ): Promise<Promise<void> | undefined> {
    if (!conn.open) return;
    const parsed = parse(data, isBinary, validators);
    if (!("msg" in parsed)) {
      metrics.wsMessages.inc({ type: "invalid" });
      const e = parsed.error;
      conn.sendError(e.code, e.message, parsed.id, e.details);
      if (!conn.principal) conn.close("STYX_AUTH_REQUIRED", "the first message must be auth");
      return;
    }
    const msg = parsed.msg;
    metrics.wsMessages.inc({ type: msg.type });
    if (msg.type === "auth") {
      if (conn.principal) return conn.sendError("STYX_BAD_REQUEST", "This socket is already authenticated.", msg.id);
      return authenticate(conn, msg.token, msg.id);
    }
    if (!conn.principal) {
      conn.sendError("STYX_AUTH_REQUIRED", "Authenticate first.", msg.id);
      return conn.close("STYX_AUTH_REQUIRED", "the first message must be auth");
    }
    const failed = (err: unknown) => {
      const e = toStyxError(err);
      if (e.code === "STYX_INTERNAL") app.log.error({ err, connection: conn.id, type: msg.type }, "socket message failed");
      conn.sendError(e.code, e.message, msg.id, e.details);
      if (e.code === "STYX_HISTORY_GONE") conn.close(e.code);
    };
    // Anything but another event waits for the events before it: a pong still means "all done".
    if (msg.type !== "event" && inflight.size > 0) await Promise.allSettled(inflight);
    try {
      const out = await deps.handler.handle(conn, msg);
      return out?.settled.catch(failed);
    } catch (err) {
      failed(err);
      return undefined;
    }
  }

  async function authenticate(conn: Connection, token: string, id: unknown): Promise<void> {
    let principal: Principal;
    try {
      principal = await deps.auth.authenticate(token);
    } catch (err) {
      const e = toStyxError(err);
      conn.sendError(e.code, e.message, id);
      return conn.close(e.code);
    }
    if (!conn.open) return;
    conn.principal = principal;
    const streams: Record<string, { epoch: string; seq: number }> = {};
    if (principal.kind === "user") {
      const mine = userStream(principal.userId);
      streams[mine] = await deps.handler.join(conn, mine);
    }
    conn.sendJson({
      type: "welcome",
      ...(id !== undefined ? { id } : {}),
      connection_id: conn.id,
      user_id: principal.kind === "user" ? principal.userId : null,
      golem_id: principal.kind === "user" ? principal.golemId : null,
      streams,
      ping_interval_ms: options.pingIntervalMs,
      max_frame_bytes: MAX_FRAME_BYTES,
    });
    if (principal.kind === "user" && principal.golemId) await deps.handler.identify(conn, principal.golemId);
  }

  // Each socket is pinged once per interval, but the sockets are visited in PING_SLICES slices
  // spread over the interval: pinging 10,000 sockets in one loop stalled every other message for
  // ~100 ms on a 2-core machine (bench/connections.ts).
  let round: Connection[] = [];
  let slice = 0;
  const pinger = setInterval(() => {
    if (slice === 0) round = [...hub.connections()];
    const per = Math.ceil(round.length / PING_SLICES);
    for (const conn of round.slice(slice * per, (slice + 1) * per)) {
      if (!conn.open) continue;
      if (conn.missedPings >= 3) {
        metrics.wsDropped.inc({ reason: "ping_timeout" });
        conn.close("STYX_PING_TIMEOUT");
        continue;
      }
      conn.missedPings++;
      conn.ws.ping();
    }
    slice = (slice + 1) % PING_SLICES;
  }, options.pingIntervalMs / PING_SLICES);
  pinger.unref();

  // Once per ping interval: sockets whose key was revoked elsewhere or whose credential expired.
  let sweeping = false;
  const sweeper = setInterval(() => {
    if (sweeping || hub.size === 0) return;
    sweeping = true;
    sweepCredentials(hub.connections(), deps.credentials, deps.clock.now())
      .then(
        (n) => {
          if (n > 0) metrics.wsDropped.inc({ reason: "credential" }, n);
        },
        (err) => app.log.warn({ err }, "credential sweep failed; retried next interval"),
      )
      .finally(() => {
        sweeping = false;
      });
  }, options.pingIntervalMs);
  sweeper.unref();

  app.addHook("preClose", async () => {
    clearInterval(pinger);
    clearInterval(sweeper);
    app.server.off("upgrade", onUpgrade);
    hub.stop();
    for (const conn of [...hub.connections()]) conn.close("STYX_SHUTTING_DOWN", "server restarting; reconnect and resume");
    wss.close();
  });
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

type Validators = Record<string, ValidateFunction>;

function compileValidators(): Validators {
  // Finite numbers only, as on HTTP (src/server/validation.ts): `1e999` parses to Infinity.
  const ajv = makeAjv(false, { formats: false });
  const out: Validators = {};
  for (const [type, schema] of Object.entries(CLIENT_MESSAGES)) out[type] = ajv.compile(schema);
  return out;
}

/** Parses and validates one client frame (a text JSON object with a known `type`); errors keep the frame's `id` when it has one. */
function parse(data: RawData, isBinary: boolean, validators: Validators): { msg: ClientMessage } | { error: StyxError; id?: unknown } {
  if (isBinary) return { error: new StyxError("STYX_UNSUPPORTED_MEDIA_TYPE", "Frames must be text (JSON).") };
  let value: unknown;
  try {
    value = JSON.parse(rawText(data));
  } catch {
    return { error: new StyxError("STYX_BAD_JSON", "The frame is not valid JSON.") };
  }
  const raw = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const id = typeof raw.id === "string" || (typeof raw.id === "number" && Number.isFinite(raw.id)) ? raw.id : undefined;
  if (nestedDeeperThan(value)) return { error: tooDeep("frame"), id };
  const validate = typeof raw.type === "string" && Object.hasOwn(validators, raw.type) ? validators[raw.type] : undefined;
  if (!validate) {
    const known = Object.keys(validators).join(", ");
    return { error: new StyxError("STYX_VALIDATION", `Unknown message type; expected one of ${known}.`), id };
  }
  if (!validate(value)) return { error: validationError(validate.errors ?? [], "message"), id };
  return { msg: value as ClientMessage };
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data).toString("utf8");
}

function sumQueues(hub: Hub, how: "sum" | "max"): number {
  let n = 0;
  for (const c of hub.connections()) n = how === "sum" ? n + c.queuedBytes : Math.max(n, c.queuedBytes);
  return n;
}
