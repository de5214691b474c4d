import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import type { FabricService } from "../../core/fabric/fabric-service.js";
import type { History, StreamPosition } from "../../core/fabric/history.js";
import { domainStream, PUBLIC_STREAM, streamKind } from "../../core/fabric/streams.js";
import { isGolemCredential } from "../../core/identity/principal.js";
import type { Tenancy } from "../../core/identity/tenancy.js";
import type { CreditMeter } from "../../core/payments/credit.js";
import { StyxError } from "../../core/platform/errors.js";
import type { BucketSpec, RateLimiter } from "../../core/platform/rate-limiter.js";
import { noTracer, type Tracer } from "../../core/platform/tracer.js";
import type { QuotaPolicy } from "../../core/quota/limits.js";
import {
  type CladeDeltaMessage,
  type ClientMessage,
  type EventMessage,
  encodeEventFrame,
  type HeartbeatMessage,
  MAX_DOMAINS_PER_SOCKET,
  MAX_EVENT_BYTES,
  type ResumeMessage,
  type SteerMessage,
  type SubscribeMessage,
} from "../../protocol/fabric.js";
import { answering, type ResumedStream } from "../../protocol/frames.js";
import type { Metrics } from "../metrics.js";
import { SocketAccess, type SocketLinks } from "./access.js";
import { type FederationPricing, followFederation, resumeFederation } from "./federation-follow.js";
import type { Hub } from "./hub.js";
import { positionFor, tracedRelay } from "./relay.js";
import { RelayCharges } from "./relay-charges.js";
import type { SocketSession } from "./session.js";

/** A message whose work goes on after `handle` returned: `settled` rejects with what would have been thrown. */
export interface Pipelined {
  readonly settled: Promise<void>;
}

/** Streams by name, in an object with no prototype (stream names come from clients). */
const byStream = <T>(): Record<string, T> => Object.create(null) as Record<string, T>;

/**
 * What each authenticated client message does (SPEC §9). Access is SocketAccess's (the same
 * Tenancy as HTTP routes): a golem id must be the caller's own, a user stream the caller's
 * own; writes need the `write` scope, reads `read`. Every message but `ping` draws from the
 * user's token bucket (and a golem credential's own), as on HTTP. Ordering and authentication are the session's; what a
 * socket follows, and from where, its Subscriptions'.
 */
export class MessageHandler {
  readonly #hub: Hub;
  readonly #history: History;
  readonly #fabric: FabricService;
  readonly #access: SocketAccess;
  readonly #metrics: Metrics;
  readonly #credit: RelayCharges | undefined;
  readonly #pricing: FederationPricing | undefined;
  readonly #tracer: Tracer;

  constructor(deps: {
    hub: Hub;
    history: History;
    fabric: FabricService;
    tenancy: Tenancy;
    limiter: RateLimiter;
    rateLimit: BucketSpec;
    /** Each user's limits: the bucket every credential of the user draws from. */
    quotas: Pick<QuotaPolicy, "limitsOf">;
    metrics: Metrics;
    /** Relay credit (pricing on, SPEC §11.4): relayed events and clade deltas pay (RelayCharges), federation records too (RecordToll). */
    credit?: Pick<CreditMeter, "spend" | "refund" | "take" | "refill"> | undefined;
    links: SocketLinks; // federation links by key: who may follow federation:{domain} (SPEC §17.2)
    /** Tracing on: each relay a span continuing the message's `traceparent` (relay.ts). */
    tracer?: Tracer | undefined;
    /** Reports what no client is told of (a federation socket's credit that could not be drawn). */
    warn?: ((msg: string, err: unknown) => void) | undefined;
  }) {
    this.#hub = deps.hub;
    this.#history = deps.history;
    this.#fabric = deps.fabric;
    this.#access = new SocketAccess(deps);
    this.#metrics = deps.metrics;
    this.#credit = deps.credit && new RelayCharges(deps.credit, deps.metrics);
    this.#pricing = deps.credit && { meter: deps.credit, warn: deps.warn ?? (() => {}) };
    this.#tracer = deps.tracer ?? noTracer;
  }

  /**
   * Handles one message. A relayed event answers at once with `settled` (when its publish
   * finished and its ack or error went out), so a socket's consecutive events are published in
   * a pipeline — still in order, each stream's appends are queued in call order — instead of
   * one round trip to the history at a time.
   */
  async handle(session: SocketSession, msg: Exclude<ClientMessage, { type: "auth" }>): Promise<Pipelined | undefined> {
    if (msg.type === "ping") {
      session.connection.sendFrame({ type: "pong", ...answering(msg.id) });
      return undefined;
    }
    // An event's token is taken inside its pipeline (see #event); every other message waits for it here.
    if (msg.type === "event") return this.#event(session, msg);
    await this.#access.limit(session);
    switch (msg.type) {
      case "subscribe":
      case "unsubscribe":
        return void (await this.#subscribe(session, msg));
      case "resume":
        return void (await this.#resume(session, msg));
      case "heartbeat":
        return void (await this.#heartbeat(session, msg));
      case "steer":
        return void (await this.#steer(session, msg));
      case "clade_delta":
        return void (await this.#cladeDelta(session, msg));
    }
  }

  /** Marks the socket as speaking for a golem; the first time, takes the clade deltas held for it (else none). */
  async claim(session: SocketSession, golemId: string): Promise<SequencedEvent[]> {
    if (!this.#hub.identify(session, golemId)) return [];
    return this.#fabric.pendingDeltas(golemId);
  }

  /** Marks the socket as speaking for a golem (an owner credential's message named it); the first time, hands it its held clade deltas. */
  async identify(session: SocketSession, golemId: string): Promise<void> {
    for (const e of await this.claim(session, golemId)) session.connection.send(Buffer.from(encodeEventFrame(e)));
  }

  async #subscribe(session: SocketSession, msg: SubscribeMessage): Promise<void> {
    const federation = [...new Set(msg.federation ?? [])];
    // A federation-only message asks nothing of `read` (a federate key has only `federate`) and adds no public stream.
    const plain = federation.length === 0 || msg.domains !== undefined || msg.public !== undefined;
    if (plain) this.#access.scope(session, "read");
    if (federation.length > 0) await followFederation(session, await this.#access.federation(session), msg.type, federation, this.#pricing);
    const subs = session.subscriptions;
    const domains = [...new Set(msg.domains ?? [])].map(domainStream);
    if (msg.type === "subscribe") {
      const added = domains.filter((s) => !subs.follows(s));
      if (subs.domainCount() + added.length > MAX_DOMAINS_PER_SOCKET) {
        throw new StyxError("STYX_VALIDATION", `A socket follows at most ${MAX_DOMAINS_PER_SOCKET} domains.`);
      }
      for (const s of added) await subs.join(s);
      if ((msg.public ?? plain) && !subs.follows(PUBLIC_STREAM)) await subs.join(PUBLIC_STREAM);
      if (msg.categories) subs.channels.filter(msg.categories);
    } else {
      for (const s of domains) subs.leave(s);
      if (msg.public === true) subs.leave(PUBLIC_STREAM);
      if (msg.categories) subs.channels.unfilter(msg.categories);
    }
    const streams = byStream<StreamPosition>();
    for (const s of [...subs.streams()]) streams[s] = await this.#history.position(s);
    session.connection.sendFrame({
      type: "subscribed",
      ...answering(msg.id),
      streams,
      categories: subs.channels.categories && [...subs.channels.categories],
    });
  }

  async #resume(session: SocketSession, msg: ResumeMessage): Promise<void> {
    const names = Object.keys(msg.streams);
    if (names.some((s) => streamKind(s) !== "federation")) this.#access.scope(session, "read");
    if (names.some((s) => streamKind(s) === "federation")) resumeFederation(session, await this.#access.federation(session), this.#pricing);
    const answers = byStream<ResumedStream>();
    const replays: (() => Promise<void>)[] = [];
    for (const [stream, since] of Object.entries(msg.streams)) {
      if (!(await this.#access.mayFollow(session, stream))) {
        answers[stream] = { recovered: false, epoch: "", seq: 0, reason: "not_found" };
        continue;
      }
      const r = await session.subscriptions.resume(stream, since);
      answers[stream] = r.answer;
      replays.push(r.replay);
    }
    session.connection.sendFrame({ type: "resumed", ...answering(msg.id), streams: answers });
    for (const replay of replays) await replay();
  }

  async #heartbeat(session: SocketSession, msg: HeartbeatMessage): Promise<void> {
    this.#access.scope(session, "write");
    const golem = await this.#access.acting(session, msg.golem_id);
    await this.identify(session, golem.id);
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
    if (msg.id !== undefined) session.connection.sendFrame({ type: "ack", id: msg.id });
  }

  /**
   * A relayed event: checked at once, then its rate-limit take and its publish run in the
   * background (`settled`). Takes are issued in arrival order and each publish starts only
   * after the previous event's did (the session's relay turn), so a socket's events keep their
   * order while neither the limiter's round trip (Redis on a macronode) nor the history's makes
   * the next event wait.
   */
  async #event(session: SocketSession, msg: EventMessage): Promise<Pipelined> {
    this.#access.scope(session, "write");
    const golem = await this.#access.acting(session, msg.golem_id);
    if (JSON.stringify(msg.event).length > MAX_EVENT_BYTES) {
      throw new StyxError("STYX_PAYLOAD_TOO_LARGE", `A relayed event is at most ${MAX_EVENT_BYTES} bytes of JSON.`);
    }
    await this.identify(session, golem.id);
    const allowed = this.#access.limit(session);
    allowed.catch(() => {}); // a refusal is answered through `settled`, maybe a few turns later
    let published: Promise<SequencedEvent> | undefined;
    const started = session.relayTurn(async () => {
      await allowed;
      // Paid after the rate limit (a refused event costs nothing), before the publish; in the turn, so in order.
      await this.#credit?.charge(golem.userId);
      published = tracedRelay(this.#tracer, msg, golem.id, () => this.#fabric.relay(golem, msg.event));
      // A publish that failed relayed nothing: its unit is given back (the error frame still goes out through `settled`).
      published.catch(() => this.#credit?.refund(golem.userId));
    });
    const settled = started
      .then(() => published as Promise<SequencedEvent>)
      .then((e) => {
        if (msg.id !== undefined) session.connection.sendFrame({ type: "ack", id: msg.id, ...positionFor(session, e) });
      });
    return { settled };
  }

  async #steer(session: SocketSession, msg: SteerMessage): Promise<void> {
    this.#access.scope(session, "write");
    this.#access.ownerOnly(session);
    const golem = await this.#access.golem(session, msg.golem_id);
    const r = await this.#fabric.steer(golem, msg.intent, msg.severity ?? "medium");
    session.connection.sendFrame({ type: "ack", ...answering(msg.id), delivered: r.delivered, stream: r.event.stream, seq: r.event.seq });
  }

  async #cladeDelta(session: SocketSession, msg: CladeDeltaMessage): Promise<void> {
    this.#access.scope(session, "write");
    const golem = await this.#access.acting(session, msg.golem_id);
    await this.identify(session, golem.id);
    await this.#credit?.charge(golem.userId);
    const r = await this.#fabric.cladeDelta(golem, msg.entries as Record<string, unknown>[]).catch((err: unknown) => {
      this.#credit?.refund(golem.userId); // not relayed: not paid
      throw err;
    });
    if (r.dropped > 0) this.#metrics.wsDropped.inc({ reason: "clade_outbox_full" }, r.dropped);
    if (msg.id === undefined) return;
    const { delivered, stored } = r;
    session.connection.sendFrame({ type: "ack", id: msg.id, delivered, stored, ...positionFor(session, r.event) });
  }
}
