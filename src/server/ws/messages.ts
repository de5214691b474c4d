import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import type { FabricService } from "../../core/fabric/fabric-service.js";
import { type History, HistoryGoneError, type StreamPosition } from "../../core/fabric/history.js";
import { domainStream, PUBLIC_STREAM, streamKind, streamUser } from "../../core/fabric/streams.js";
import type { Tenancy } from "../../core/identity/tenancy.js";
import type { Golem, Scope } from "../../core/identity/types.js";
import { StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import {
  type CladeDeltaMessage,
  type ClientMessage,
  type EventMessage,
  encodeEventFrame,
  type HeartbeatMessage,
  MAX_DOMAINS_PER_SOCKET,
  MAX_EVENT_BYTES,
  type ResumedStream,
  type ResumeMessage,
  type SteerMessage,
  type SubscribeMessage,
} from "../../protocol/fabric.js";
import { identityBucket, requireScope, takeToken } from "../admission.js";
import type { Metrics } from "../metrics.js";
import type { Connection } from "./connection.js";
import type { Hub } from "./hub.js";

/** A message whose work goes on after `handle` returned: `settled` rejects with what would have been thrown. */
export interface Pipelined {
  readonly settled: Promise<void>;
}

/** How long a replay waits for a socket's queue to drain below half its bound before the next page. */
const DRAIN_POLL_MS = 5;

/**
 * What each authenticated client message does (SPEC §9). Access is decided here with the
 * same Tenancy as HTTP routes: a golem id must be the caller's own, a user stream the
 * caller's own; writes need the `write` scope, reads `read`. Every message but `ping` draws
 * from the credential's token bucket.
 */
export class MessageHandler {
  readonly #hub: Hub;
  readonly #history: History;
  readonly #fabric: FabricService;
  readonly #tenancy: Tenancy;
  readonly #limiter: RateLimiter;
  readonly #rate: BucketSpec;
  readonly #metrics: Metrics;
  /** Per socket: resolves once its latest event's publish was started (the next one starts after it). */
  readonly #relayTurn = new WeakMap<Connection, Promise<void>>();
  readonly #maxQueueBytes: number;

  constructor(deps: {
    hub: Hub;
    history: History;
    fabric: FabricService;
    tenancy: Tenancy;
    limiter: RateLimiter;
    rateLimit: BucketSpec;
    metrics: Metrics;
    maxQueueBytes: number;
  }) {
    this.#hub = deps.hub;
    this.#history = deps.history;
    this.#fabric = deps.fabric;
    this.#tenancy = deps.tenancy;
    this.#limiter = deps.limiter;
    this.#rate = deps.rateLimit;
    this.#metrics = deps.metrics;
    this.#maxQueueBytes = deps.maxQueueBytes;
  }

  /**
   * Handles one message. A relayed event answers at once with `settled` (when its publish
   * finished and its ack or error went out), so a socket's consecutive events are published in
   * a pipeline — still in order, each stream's appends are queued in call order — instead of
   * one round trip to the history at a time.
   */
  async handle(conn: Connection, msg: Exclude<ClientMessage, { type: "auth" }>): Promise<Pipelined | undefined> {
    if (msg.type === "ping") {
      conn.sendJson({ type: "pong", ...(msg.id !== undefined ? { id: msg.id } : {}) });
      return undefined;
    }
    // An event's token is taken inside its pipeline (see #event); every other message waits for it here.
    if (msg.type === "event") return this.#event(conn, msg);
    await this.#limit(conn);
    switch (msg.type) {
      case "subscribe":
      case "unsubscribe":
        await this.#subscribe(conn, msg);
        break;
      case "resume":
        await this.#resume(conn, msg);
        break;
      case "heartbeat":
        await this.#heartbeat(conn, msg);
        break;
      case "steer":
        await this.#steer(conn, msg);
        break;
      case "clade_delta":
        await this.#cladeDelta(conn, msg);
        break;
    }
    return undefined;
  }

  /** Marks `conn` as speaking for a golem; the first time, hands it the clade deltas held for it. */
  async identify(conn: Connection, golemId: string): Promise<void> {
    if (!this.#hub.identify(conn, golemId)) return;
    for (const e of await this.#fabric.pendingDeltas(golemId)) conn.send(Buffer.from(encodeEventFrame(e)));
  }

  async #subscribe(conn: Connection, msg: SubscribeMessage): Promise<void> {
    this.#scope(conn, "read");
    const domains = [...new Set(msg.domains ?? [])].map(domainStream);
    if (msg.type === "subscribe") {
      const following = [...conn.streams].filter((s) => streamKind(s) === "domain").length;
      const added = domains.filter((s) => !conn.streams.has(s));
      if (following + added.length > MAX_DOMAINS_PER_SOCKET) {
        throw new StyxError("STYX_VALIDATION", `A socket follows at most ${MAX_DOMAINS_PER_SOCKET} domains.`);
      }
      for (const s of added) await this.join(conn, s);
      if ((msg.public ?? true) && !conn.streams.has(PUBLIC_STREAM)) await this.join(conn, PUBLIC_STREAM);
      if (msg.categories) conn.categories = msg.categories.length > 0 ? [...new Set(msg.categories)] : null;
    } else {
      for (const s of domains) this.#hub.leave(conn, s);
      if (msg.public === true) this.#hub.leave(conn, PUBLIC_STREAM);
      if (msg.categories && conn.categories) {
        const left = conn.categories.filter((c) => !msg.categories?.includes(c));
        conn.categories = left.length > 0 ? left : null;
      }
    }
    const streams: Record<string, { epoch: string; seq: number }> = {};
    for (const s of conn.streams) streams[s] = await this.#history.position(s);
    conn.sendJson({ type: "subscribed", ...idOf(msg), streams, categories: conn.categories });
  }

  /** Joins a stream so that every event after the returned position reaches the socket exactly once. */
  async join(conn: Connection, stream: string): Promise<StreamPosition> {
    conn.holdLive(stream);
    this.#hub.join(conn, stream);
    const position = await this.#history.position(stream);
    conn.joinedAt.set(stream, position.seq);
    conn.releaseLive(stream, position.seq);
    return position;
  }

  async #resume(conn: Connection, msg: ResumeMessage): Promise<void> {
    this.#scope(conn, "read");
    const answers: Record<string, ResumedStream> = {};
    const replays: { stream: string; until: number; pages: AsyncIterable<readonly SequencedEvent[]> | null; fresh: boolean }[] = [];
    for (const [stream, since] of Object.entries(msg.streams)) {
      if (!(await this.#mayFollow(conn, stream))) {
        answers[stream] = { recovered: false, epoch: "", seq: 0, reason: "not_found" };
        continue;
      }
      const fresh = !conn.streams.has(stream);
      if (fresh) {
        conn.holdLive(stream);
        this.#hub.join(conn, stream);
      }
      const r = await this.#history.recover(stream, since);
      // A stream already followed got every event after its join position live; replay only up to it.
      const until = fresh ? r.seq : Math.min(r.seq, conn.joinedAt.get(stream) ?? r.seq);
      if (fresh) conn.joinedAt.set(stream, r.seq);
      answers[stream] = r.recovered
        ? { recovered: true, epoch: r.epoch, seq: r.seq }
        : { recovered: false, epoch: r.epoch, seq: r.seq, reason: r.reason };
      replays.push({ stream, until, pages: r.recovered ? r.pages : null, fresh });
    }
    conn.sendJson({ type: "resumed", ...idOf(msg), streams: answers });
    for (const { stream, until, pages, fresh } of replays) {
      if (pages) await this.#replay(conn, pages, until);
      if (fresh) conn.releaseLive(stream, conn.joinedAt.get(stream) ?? 0);
    }
  }

  async #replay(conn: Connection, pages: AsyncIterable<readonly SequencedEvent[]>, until: number): Promise<void> {
    try {
      for await (const page of pages) {
        for (const e of page) {
          if (e.seq > until) return;
          if (!conn.wants(e.channel)) continue;
          // Replay is paced by the socket: wait while the queue is over half its bound.
          while (conn.open && conn.queuedBytes > this.#maxQueueBytes / 2) await sleep(DRAIN_POLL_MS);
          if (!conn.open) return;
          conn.send(Buffer.from(encodeEventFrame(e)));
        }
      }
    } catch (err) {
      if (err instanceof HistoryGoneError) throw new StyxError("STYX_HISTORY_GONE", undefined, { cause: err });
      throw err;
    }
  }

  async #heartbeat(conn: Connection, msg: HeartbeatMessage): Promise<void> {
    this.#scope(conn, "write");
    const golem = await this.#golem(conn, msg.golem_id);
    await this.identify(conn, golem.id);
    await this.#fabric.heartbeat(golem, {
      phase: msg.phase ?? null,
      vitality: msg.vitality ?? null,
      pad: msg.pad ?? null,
      emotion: msg.emotion ?? null,
      regime: msg.regime ?? null,
      tick: msg.tick ?? null,
      domains: msg.domains ?? [],
      dreaming: msg.dreaming ?? false,
      nav: msg.nav ?? null,
    });
    if (msg.id !== undefined) conn.sendJson({ type: "ack", id: msg.id });
  }

  /**
   * A relayed event: checked at once, then its rate-limit take and its publish run in the
   * background (`settled`). Takes are issued in arrival order and each publish starts only
   * after the previous event's did, so a socket's events keep their order while neither the
   * limiter's round trip (Redis on a macronode) nor the history's makes the next event wait.
   */
  async #event(conn: Connection, msg: EventMessage): Promise<Pipelined> {
    this.#scope(conn, "write");
    const golem = await this.#golem(conn, msg.golem_id);
    if (JSON.stringify(msg.event).length > MAX_EVENT_BYTES) {
      throw new StyxError("STYX_PAYLOAD_TOO_LARGE", `A relayed event is at most ${MAX_EVENT_BYTES} bytes of JSON.`);
    }
    await this.identify(conn, golem.id);
    const allowed = this.#limit(conn);
    allowed.catch(() => {}); // a refusal is answered through `settled`, maybe a few turns later
    const previous = this.#relayTurn.get(conn) ?? Promise.resolve();
    let published: Promise<SequencedEvent> | undefined;
    // Resolves the moment this event's publish was started: the next event's publish waits for that.
    const started = previous
      .then(() => allowed)
      .then(() => {
        published = this.#fabric.relay(golem, msg.event);
      });
    this.#relayTurn.set(
      conn,
      started.catch(() => {}),
    );
    const settled = started
      .then(() => published as Promise<SequencedEvent>)
      .then((e) => {
        if (msg.id !== undefined) conn.sendJson({ type: "ack", id: msg.id, stream: e.stream, seq: e.seq });
      });
    return { settled };
  }

  async #steer(conn: Connection, msg: SteerMessage): Promise<void> {
    this.#scope(conn, "write");
    const golem = await this.#golem(conn, msg.golem_id);
    const r = await this.#fabric.steer(golem, msg.intent, msg.severity ?? "medium");
    conn.sendJson({ type: "ack", ...idOf(msg), delivered: r.delivered, stream: r.event.stream, seq: r.event.seq });
  }

  async #cladeDelta(conn: Connection, msg: CladeDeltaMessage): Promise<void> {
    this.#scope(conn, "write");
    const golem = await this.#golem(conn, msg.golem_id);
    await this.identify(conn, golem.id);
    const r = await this.#fabric.cladeDelta(golem, msg.entries as Record<string, unknown>[]);
    if (r.dropped > 0) this.#metrics.wsDropped.inc({ reason: "clade_outbox_full" }, r.dropped);
    if (msg.id !== undefined) {
      conn.sendJson({ type: "ack", id: msg.id, delivered: r.delivered, stored: r.stored, stream: r.event.stream, seq: r.event.seq });
    }
  }

  /** Whether the socket may follow `stream`: domains and public for anyone, a user stream for its user only (denials audited). */
  async #mayFollow(conn: Connection, stream: string): Promise<boolean> {
    const kind = streamKind(stream);
    if (kind === "domain" || kind === "public") {
      const following = [...conn.streams].filter((s) => streamKind(s) === "domain").length;
      return kind === "public" || conn.streams.has(stream) || following < MAX_DOMAINS_PER_SOCKET;
    }
    const user = streamUser(stream);
    const p = conn.principal;
    if (kind !== "user" || !user || !p) return false;
    try {
      await this.#tenancy.user(p, user, { requestId: conn.id, ip: conn.ip });
      return true;
    } catch {
      return false;
    }
  }

  async #golem(conn: Connection, golemId: string): Promise<Golem> {
    const known = conn.golems.get(golemId);
    if (known) return known;
    const p = conn.principal;
    if (!p) throw new StyxError("STYX_AUTH_REQUIRED");
    const golem = await this.#tenancy.golem(p, golemId, { requestId: conn.id, ip: conn.ip });
    conn.golems.set(golemId, golem);
    return golem;
  }

  #scope(conn: Connection, scope: Scope): void {
    const p = conn.principal;
    if (p?.kind === "admin") {
      if (scope === "read") return;
      throw new StyxError("STYX_AUTH_FORBIDDEN", "The admin token watches streams; golem messages need a user key.");
    }
    if (!p) throw new StyxError("STYX_AUTH_FORBIDDEN", `The key lacks the '${scope}' scope.`);
    requireScope(p, scope);
  }

  async #limit(conn: Connection): Promise<void> {
    const p = conn.principal;
    if (!p) return;
    await takeToken(this.#limiter, identityBucket(p), this.#rate, () => this.#metrics.rejected.inc({ reason: "rate_limit" }));
  }
}

function idOf(msg: { id?: string | number | undefined }): { id?: string | number } {
  return msg.id !== undefined ? { id: msg.id } : {};
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
