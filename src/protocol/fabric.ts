import { type Static, Type } from "typebox";
import type { SequencedEvent } from "../core/fabric/event-bus.js";
import { isPrivateStream } from "../core/fabric/streams.js";
import { TRACEPARENT_PATTERN } from "../core/platform/tracer.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../core/privacy/public-pipeline.js";
import { Id, MAX_SAFE } from "./common.js";
import { Domain } from "./knowledge.js";

/**
 * The socket protocol of `WS /v1/styx/ws` (SPEC §9): client messages (validated strictly,
 * unknown fields rejected), server control frames, and the event frame encoder.
 */

const Strict = { additionalProperties: false } as const;
/** Optional correlation id: a message that carries one is answered with `{type:"ack", id}`. */
const MsgId = Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Integer()]));
const Unit = Type.Number({ minimum: 0, maximum: 1 });
const Signed = Type.Number({ minimum: -1, maximum: 1 });

/** Largest frame either side sends or accepts (1 MiB); a larger client frame closes with 1009. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Largest relayed golem event, as JSON text (it is stored in history and sent to every surface). */
export const MAX_EVENT_BYTES = 64 * 1024;
/** Largest |nav| a heartbeat may report (1e30: wei-denominated fleets included, and any fleet's sum stays finite). */
export const NAV_LIMIT = 1e30;
/** Most domains one socket may follow. */
export const MAX_DOMAINS_PER_SOCKET = 256;

/** A stream name: `user:{id}`, `golem:{id}`, `domain:{d}`, `federation:{d}` or `public`. */
export const StreamName = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: "^(public|(user|golem):[A-Za-z0-9][A-Za-z0-9_.-]{0,127}|(domain|federation):[a-z0-9][a-z0-9_.-]{0,63})$",
});
/** A position in a stream. */
export const Position = Type.Object(
  { epoch: Type.String({ minLength: 1, maxLength: 64 }), seq: Type.Integer({ minimum: 0, maximum: MAX_SAFE }) },
  Strict,
);
/** A channel prefix to filter by (`golem`, `styx:pheromone`, …). */
const Category = Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z][a-z0-9_.:-]*$" });

/** `{"type":"auth","token"}`: authentication as the first message (within 5 s). */
export const AuthMsg = Type.Object({ type: Type.Literal("auth"), token: Type.String({ minLength: 1, maxLength: 512 }), id: MsgId }, Strict);
/** Adds domain streams, the public stream and (federate keys) federation streams, and sets the channel filter. */
export const SubscribeMsg = Type.Object(
  {
    type: Type.Union([Type.Literal("subscribe"), Type.Literal("unsubscribe")]),
    categories: Type.Optional(Type.Array(Category, { maxItems: 32 })),
    domains: Type.Optional(Type.Array(Domain, { maxItems: MAX_DOMAINS_PER_SOCKET })),
    public: Type.Optional(
      Type.Boolean({ description: "Follow the public stream (default true on subscribe, unless only `federation` is given)" }),
    ),
    federation: Type.Optional(
      Type.Array(Domain, {
        maxItems: MAX_DOMAINS_PER_SOCKET,
        description: "Follow (or leave) the federation:{domain} streams (SPEC §17.2; a linked federate key only)",
      }),
    ),
    id: MsgId,
  },
  Strict,
);
/** Replays what was missed in each named stream since the given position. */
export const ResumeMsg = Type.Object(
  {
    type: Type.Literal("resume"),
    // A Record of a patterned key is only `patternProperties`: without `additionalProperties: false` a key outside the
    // pattern (`constructor`, `__proto__`) passed unchecked and reached the handler as a stream name.
    streams: Type.Record(StreamName, Position, { maxProperties: 64, additionalProperties: false }),
    id: MsgId,
  },
  Strict,
);
/** A golem's presence beat. */
export const HeartbeatMsg = Type.Object(
  {
    type: Type.Literal("heartbeat"),
    golem_id: Id,
    phase: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    vitality: Type.Optional(Unit),
    pad: Type.Optional(Type.Object({ pleasure: Signed, arousal: Signed, dominance: Signed }, Strict)),
    emotion: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
    regime: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    tick: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SAFE })),
    domains: Type.Optional(Type.Array(Domain, { maxItems: 32 })),
    dreaming: Type.Optional(Type.Boolean()),
    // Bounded so that a fleet's total stays finite: two navs of 1.7e308 summed to Infinity, and the aggregate answered 500.
    nav: Type.Optional(
      Type.Number({ minimum: -NAV_LIMIT, maximum: NAV_LIMIT, description: "Net asset value, in the golem's unit (|nav| ≤ 1e30)" }),
    ),
    id: MsgId,
  },
  Strict,
);
/** A golem event relayed to its owner's surfaces (stream `user:{owner}`). */
export const EventMsg = Type.Object(
  {
    type: Type.Literal("event"),
    golem_id: Id,
    event: Type.Object(
      { type: Type.String({ pattern: "^golem:[a-z0-9_.:-]{1,63}$", description: "Channel, e.g. golem:tick" }) },
      { additionalProperties: true },
    ),
    traceparent: Type.Optional(
      Type.String({ pattern: TRACEPARENT_PATTERN, description: "W3C trace context: the relay continues the sender's trace" }),
    ),
    id: MsgId,
  },
  Strict,
);
/** Steering severities, mildest first. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
/** Owner → golem steering. */
export const SteerMsg = Type.Object(
  {
    type: Type.Literal("steer"),
    golem_id: Id,
    intent: Type.String({ minLength: 1, maxLength: 4096 }),
    severity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)))),
    id: MsgId,
  },
  Strict,
);
/** A batch of clade knowledge deltas for the golem's siblings. */
export const CladeDeltaMsg = Type.Object(
  {
    type: Type.Literal("clade_delta"),
    golem_id: Id,
    entries: Type.Array(Type.Object({}, { additionalProperties: true }), { minItems: 1, maxItems: 256 }),
    id: MsgId,
  },
  Strict,
);
/** Application-level liveness probe, answered with `pong`. */
export const PingMsg = Type.Object({ type: Type.Literal("ping"), id: MsgId }, Strict);

/** Every client message, by `type`. */
export const CLIENT_MESSAGES = {
  auth: AuthMsg,
  subscribe: SubscribeMsg,
  unsubscribe: SubscribeMsg,
  resume: ResumeMsg,
  heartbeat: HeartbeatMsg,
  event: EventMsg,
  steer: SteerMsg,
  clade_delta: CladeDeltaMsg,
  ping: PingMsg,
} as const;

export type ClientMessageType = keyof typeof CLIENT_MESSAGES;
export type AuthMessage = Static<typeof AuthMsg>;
export type SubscribeMessage = Static<typeof SubscribeMsg>;
export type ResumeMessage = Static<typeof ResumeMsg>;
export type HeartbeatMessage = Static<typeof HeartbeatMsg>;
export type EventMessage = Static<typeof EventMsg>;
export type SteerMessage = Static<typeof SteerMsg>;
export type CladeDeltaMessage = Static<typeof CladeDeltaMsg>;
export type PingMessage = Static<typeof PingMsg>;
/** A validated client message. */
export type ClientMessage =
  | AuthMessage
  | SubscribeMessage
  | ResumeMessage
  | HeartbeatMessage
  | EventMessage
  | SteerMessage
  | CladeDeltaMessage
  | PingMessage;

/** The event frame: `{stream, epoch, seq, ts, channel, payload}`, built from the payload's JSON text without re-serialising it. */
export function encodeEventFrame(e: SequencedEvent): string {
  // Public streams (domain:*, public) carry their time to the minute (SPEC §4.2 step 6); a user's or golem's own stream, exactly.
  const ts = isPrivateStream(e.stream) ? e.ts : publicTime(e.ts, PUBLIC_TIME_RESOLUTION_MS.field);
  return `{"stream":${JSON.stringify(e.stream)},"epoch":${JSON.stringify(e.epoch)},"seq":${e.seq},"ts":${ts},"channel":${JSON.stringify(e.channel)},"payload":${e.payloadJson}}`;
}

/**
 * A batched frame: domain streams deliver at most one frame per domain per fan-out tick; when
 * a tick holds several events of a domain they travel as a JSON array of event frames.
 */
export function encodeBatchFrame(events: readonly SequencedEvent[]): string {
  if (events.length === 1) return encodeEventFrame(events[0] as SequencedEvent);
  return `[${events.map(encodeEventFrame).join(",")}]`;
}

// ── HTTP: fleet, snapshot, clade, steering (SPEC §8) ──────────────────────────────────────

const PadView = Type.Object({ pleasure: Type.Number(), arousal: Type.Number(), dominance: Type.Number() });
const OrNull = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

/** A golem's presence as its owner sees it. */
export const PresenceView = Type.Object({
  golem_id: Type.String(),
  online: Type.Boolean({ description: "A heartbeat arrived within the last 60 s" }),
  last_seen: Type.String({ format: "date-time" }),
  phase: OrNull(Type.String()),
  vitality: OrNull(Type.Number()),
  pad: OrNull(PadView),
  emotion: OrNull(Type.String()),
  regime: OrNull(Type.String()),
  tick: OrNull(Type.Integer()),
  domains: Type.Array(Type.String()),
  dreaming: Type.Boolean(),
  nav: OrNull(Type.Number()),
  archetype: OrNull(Type.String()),
  generation: OrNull(Type.Integer()),
  age_seconds: OrNull(Type.Integer({ description: "Since the golem's registration (null in a heartbeat kept by an older build)" })),
});

/** `GET /v1/styx/fleet/:user_id`. */
export const FleetView = Type.Object({ user_id: Type.String(), golems: Type.Array(PresenceView) });

/** `GET /v1/styx/fleet/:user_id/aggregate`. */
export const FleetAggregateView = Type.Object({
  user_id: Type.String(),
  golems: Type.Integer({ description: "Golems with a heartbeat in the last 24 h" }),
  online: Type.Integer(),
  dreaming: Type.Integer(),
  by_phase: Type.Record(Type.String(), Type.Integer()),
  by_regime: Type.Record(Type.String(), Type.Integer()),
  mean_vitality: OrNull(Type.Number()),
  mean_pad: OrNull(PadView),
  total_nav: OrNull(Type.Number()),
  max_tick: OrNull(Type.Integer()),
  top_domains: Type.Array(Type.Object({ domain: Type.String(), golems: Type.Integer() })),
});

/** `GET /v1/styx/golem/:golem_id/snapshot`. */
export const GolemSnapshotView = Type.Object({
  golem_id: Type.String(),
  user_id: Type.String(),
  status: Type.String(),
  generation: Type.Integer(),
  archetype: OrNull(Type.String()),
  age_seconds: Type.Integer({ description: "Since the golem's registration (to its death, once dead)" }),
  connected: Type.Boolean({ description: "A socket speaks for this golem now" }),
  presence: OrNull(PresenceView),
});

/** `POST /v1/styx/clade/register` body. */
export const CladeRegisterBody = Type.Object({ golem_id: Id, domains: Type.Optional(Type.Array(Domain, { maxItems: 32 })) }, Strict);
export type CladeRegisterBody = Static<typeof CladeRegisterBody>;

/** A registered clade member. */
export const PeerView = Type.Object({
  golem_id: Type.String(),
  user_id: Type.String(),
  domains: Type.Array(Type.String()),
  registered_at: Type.String({ format: "date-time" }),
  online: Type.Boolean({ description: "A socket speaks for this golem now (deltas reach it at once)" }),
});

/** `GET /v1/styx/clade/peers/:user_id`. */
export const PeersView = Type.Object({ user_id: Type.String(), peers: Type.Array(PeerView) });

/** `POST /v1/styx/golem/:golem_id/steer` body (the socket `steer` message without its envelope). */
export const SteerBody = Type.Object(
  { intent: Type.String({ minLength: 1, maxLength: 4096 }), severity: Type.Optional(Type.Union(SEVERITIES.map((s) => Type.Literal(s)))) },
  Strict,
);
export type SteerBody = Static<typeof SteerBody>;

/** The answer to a steer. */
export const SteerView = Type.Object({
  delivered: Type.Boolean({ description: "The golem had a live socket; otherwise it finds the steer on resume" }),
  stream: Type.String(),
  seq: Type.Integer(),
});
