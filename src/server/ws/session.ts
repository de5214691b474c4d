import type { History } from "../../core/fabric/history.js";
import type { AuthService } from "../../core/identity/auth-service.js";
import type { Principal } from "../../core/identity/principal.js";
import type { Golem } from "../../core/identity/types.js";
import { ERROR_TABLE } from "../../core/platform/errors.js";
import { MAX_FRAME_BYTES } from "../../protocol/fabric.js";
import { answering, type ClientFrameDecoder, type FrameData, type MessageId } from "../../protocol/frames.js";
import { BEARER_HINT } from "../admission.js";
import type { Metrics } from "../metrics.js";
import { toStyxError } from "../presenters/errors.js";
import { Connection } from "./connection.js";
import { joinHome } from "./home.js";
import type { Hub } from "./hub.js";
import { MessageOrder } from "./message-order.js";
import type { MessageHandler } from "./messages.js";
import { authDeadline, refuseCredential, signInByMessage, type UpgradeCredential } from "./sign-in.js";
import type { SocketQuota } from "./socket-quota.js";
import { type StreamIndex, Subscriptions } from "./subscriptions.js";
import type { SocketTransport } from "./transport.js";

/** Socket timers and bounds (config values). */
export interface SessionOptions {
  readonly pingIntervalMs: number;
  readonly authTimeoutMs: number;
  readonly maxQueueBytes: number;
  /** Client messages a socket may have waiting to be handled before it is closed as a flood. */
  readonly maxPendingMessages: number;
}

/** What a session needs from the rest of the server. */
export interface SessionDeps {
  readonly hub: Hub;
  readonly history: History;
  readonly auth: Pick<AuthService, "authenticate"> & { refused(ip: string, code: string): void };
  readonly handler: MessageHandler;
  /** The socket caps: a socket that authenticates by message is counted for its user and key then. */
  readonly quota: Pick<SocketQuota, "claim" | "release">;
  readonly decoder: ClientFrameDecoder;
  readonly metrics: Metrics;
  readonly log: { error(obj: object, msg: string): void };
  readonly options: SessionOptions;
}

/**
 * One client socket from its upgrade to its close: who it is (authentication at upgrade or
 * by a first `auth` message within the timeout), the order its messages are handled in
 * (MessageOrder: one at a time, in arrival order; consecutive relayed events pipelined), its liveness (pings), the
 * golems it speaks for, and — through its Subscriptions — what it follows. The hub indexes
 * sessions; the connection is the session's bounded way out.
 */
export class SocketSession {
  readonly connection: Connection;
  readonly subscriptions: Subscriptions;
  readonly #deps: SessionDeps;
  #principal: Principal | undefined;
  /** Golems tenancy already resolved for this socket. */
  readonly #golems = new Map<string, Golem>();
  /** Golems this socket speaks for (a golem credential's, or a heartbeat / event / clade delta it sent). */
  readonly #speaksFor = new Set<string>();
  #missedPings = 0;
  readonly #order: MessageOrder;
  #authTimer: NodeJS.Timeout | undefined;

  constructor(id: string, ip: string, transport: SocketTransport, deps: SessionDeps) {
    this.#deps = deps;
    this.#order = new MessageOrder(deps.options.maxPendingMessages);
    this.connection = new Connection(id, ip, transport, { maxQueueBytes: deps.options.maxQueueBytes, onClose: (c) => this.#closed(c) });
    this.subscriptions = new Subscriptions(this.connection, deps.history, new HubStreams(deps.hub, this));
    deps.hub.add(this);
  }

  get id(): string {
    return this.connection.id;
  }

  get ip(): string {
    return this.connection.ip;
  }

  get open(): boolean {
    return this.connection.open;
  }

  /** Who authenticated the socket (undefined until then). */
  get principal(): Principal | undefined {
    return this.#principal;
  }

  /**
   * Starts the session with the upgrade's credential: authenticated (welcomed now), refused or
   * malformed (closed with the error), or none (an `auth` message must come within the timeout).
   */
  start(credential: UpgradeCredential): void {
    if (credential.kind === "malformed") this.connection.close("STYX_AUTH_REQUIRED", BEARER_HINT);
    else if (credential.kind === "refused") refuseCredential(this, this.#deps, credential.error, undefined);
    else if (credential.kind === "authenticated") this.#order.push(() => this.#welcome(credential.principal, undefined));
    else this.#authTimer = authDeadline(this, this.#deps);
  }

  /** One client frame: queued behind the messages before it, or the socket is closed as a flood. */
  receive(data: FrameData, isBinary: boolean): void {
    this.#missedPings = 0;
    if (this.#order.push(() => this.#handle(data, isBinary))) return;
    this.#deps.metrics.wsDropped.inc({ reason: "flood" });
    this.connection.close("STYX_RATE_LIMITED", "too many messages waiting");
  }

  /** A sign of life (a pong). */
  alive(): void {
    this.#missedPings = 0;
  }

  /** One ping: false when the socket already missed three and was closed for it. */
  ping(): boolean {
    if (!this.open) return true;
    if (this.#missedPings >= 3) {
      this.#deps.metrics.wsDropped.inc({ reason: "ping_timeout" });
      this.connection.close("STYX_PING_TIMEOUT");
      return false;
    }
    this.#missedPings++;
    this.connection.ping();
    return true;
  }

  /** A golem tenancy resolved earlier for this socket. */
  knownGolem(golemId: string): Golem | undefined {
    return this.#golems.get(golemId);
  }

  /** Remembers a golem tenancy resolved for this socket. */
  rememberGolem(golem: Golem): void {
    this.#golems.set(golem.id, golem);
  }

  /** Forgets a golem (it died): its cached tenancy, and that the socket speaks for it. */
  forgetGolem(golemId: string): void {
    this.#golems.delete(golemId);
    this.#speaksFor.delete(golemId);
  }

  /** Records that the socket speaks for `golemId`; true the first time. */
  speakFor(golemId: string): boolean {
    if (this.#speaksFor.has(golemId)) return false;
    this.#speaksFor.add(golemId);
    return true;
  }

  /** The golems the socket speaks for. */
  golems(): IterableIterator<string> {
    return this.#speaksFor.values();
  }

  /** Orders a relayed event's start after the previous one's (see MessageOrder.relayTurn). */
  relayTurn(start: () => Promise<void>): Promise<void> {
    return this.#order.relayTurn(start);
  }

  /** Handles one frame; for a pipelined event, resolves with the promise of its completion (errors already answered). */
  async #handle(data: FrameData, isBinary: boolean): Promise<Promise<void> | undefined> {
    if (!this.open) return;
    const conn = this.connection;
    const decoded = this.#deps.decoder.decode(data, isBinary);
    if (!decoded.ok) {
      this.#deps.metrics.wsMessages.inc({ type: "invalid" });
      conn.sendError(decoded.error.code, decoded.error.message, decoded.id, decoded.error.details);
      if (!this.#principal) conn.close("STYX_AUTH_REQUIRED", "the first message must be auth");
      return;
    }
    const msg = decoded.msg;
    this.#deps.metrics.wsMessages.inc({ type: msg.type });
    if (msg.type === "auth") {
      if (this.#principal) return conn.sendError("STYX_BAD_REQUEST", "This socket is already authenticated.", msg.id);
      return this.#authenticate(msg.token, msg.id);
    }
    if (!this.#principal) {
      conn.sendError("STYX_AUTH_REQUIRED", "Authenticate first.", msg.id);
      return conn.close("STYX_AUTH_REQUIRED", "the first message must be auth");
    }
    const failed = (err: unknown) => {
      const e = toStyxError(err);
      if (e.code === "STYX_INTERNAL") this.#deps.log.error({ err, connection: this.id, type: msg.type }, "socket message failed");
      conn.sendError(e.code, e.message, msg.id, e.details);
      if (e.code === "STYX_HISTORY_GONE") conn.close(e.code);
    };
    // Anything but another event waits for the events before it: a pong still means "all done".
    if (msg.type !== "event") await this.#order.eventsSettled();
    try {
      const out = await this.#deps.handler.handle(this, msg);
      return out?.settled.catch(failed);
    } catch (err) {
      failed(err);
      return undefined;
    }
  }

  /** An `auth` message: signed in (credential, then socket caps) and welcomed, or refused and closed. */
  async #authenticate(token: string, id: MessageId | undefined): Promise<void> {
    const principal = await signInByMessage(this, token, id, this.#deps);
    if (principal) return this.#welcome(principal, id);
  }

  async #welcome(principal: Principal, id: MessageId | undefined): Promise<void> {
    if (!this.open) return;
    this.#principal = principal;
    const user = principal.kind === "user" ? principal : undefined;
    const home = await joinHome(this, principal, (s, golemId) => this.#deps.handler.claim(s, golemId));
    this.connection.sendFrame({
      type: "welcome",
      ...answering(id),
      connection_id: this.id,
      user_id: user?.userId ?? null,
      golem_id: user?.golemId ?? null,
      streams: home.streams,
      ping_interval_ms: this.#deps.options.pingIntervalMs,
      max_frame_bytes: MAX_FRAME_BYTES,
    });
    await home.after();
  }

  #closed(code: number): void {
    clearTimeout(this.#authTimer);
    this.subscriptions.clear();
    this.#deps.hub.remove(this);
    // A release the shared store missed is left to the count's expiry.
    this.#deps.quota.release(this.id).catch(() => {});
    if (code === ERROR_TABLE.STYX_SLOW_CONSUMER.ws) this.#deps.metrics.wsDropped.inc({ reason: "slow_consumer" });
  }
}

/** The hub's index of one session's streams: an instance, not two closures and their context per socket. */
class HubStreams implements StreamIndex {
  readonly #hub: Hub;
  readonly #session: SocketSession;

  constructor(hub: Hub, session: SocketSession) {
    this.#hub = hub;
    this.#session = session;
  }

  join(stream: string): void {
    this.#hub.join(this.#session, stream);
  }

  leave(stream: string): void {
    this.#hub.leave(this.#session, stream);
  }
}
