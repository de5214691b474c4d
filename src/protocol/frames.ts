import { type Static, Type } from "typebox";
import { ERROR_TABLE, type ErrorCode, StyxError } from "../core/platform/errors.js";
import { CLIENT_MESSAGES, type ClientMessage, Position, StreamName } from "./fabric.js";
import { jsonProblem, MAX_JSON_DEPTH, makeAjv, validationError } from "./json-rules.js";

/**
 * The frames of `WS /v1/styx/ws` (SPEC §9) as data: the decoder of client frames (text JSON,
 * one known `type`, validated strictly like an HTTP body) and the schemas of the server's
 * control frames, so the server builds them and the SDK reads them with the same types. No I/O:
 * the socket layer (server/ws/) hands bytes in and sends what these describe.
 */

const Strict = { additionalProperties: false } as const;
const FrameId = Type.Optional(Type.Union([Type.String(), Type.Integer()], { description: "The id of the message answered" }));
const Streams = Type.Record(StreamName, Position);

/** After authentication: who the socket is, the streams it already follows (a user key: its own), and the limits. */
export const WelcomeFrame = Type.Object(
  {
    type: Type.Literal("welcome"),
    id: FrameId,
    connection_id: Type.String(),
    user_id: Type.Union([Type.String(), Type.Null()]),
    golem_id: Type.Union([Type.String(), Type.Null()]),
    streams: Streams,
    ping_interval_ms: Type.Integer(),
    max_frame_bytes: Type.Integer(),
  },
  Strict,
);

/**
 * A message with an id was done: a relayed event names where it was sequenced (to an owner
 * credential: a golem credential does not follow its owner's stream, whose seqs count its
 * siblings' events); a steer says whether its golem was online (`delivered`), a clade delta how
 * many siblings got it live and how many have it stored for their reconnect.
 */
export const AckFrame = Type.Object(
  {
    type: Type.Literal("ack"),
    id: FrameId,
    stream: Type.Optional(Type.String()),
    seq: Type.Optional(Type.Integer()),
    delivered: Type.Optional(Type.Union([Type.Boolean(), Type.Integer()])),
    stored: Type.Optional(Type.Integer()),
  },
  Strict,
);

/** A message failed (the socket stays open unless a close follows): the code and message of the error table. */
export const ErrorFrame = Type.Object(
  {
    type: Type.Literal("error"),
    id: FrameId,
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Unknown()),
  },
  Strict,
);

/** After subscribe or unsubscribe: every stream the socket follows now, at its current position, and the channel filter. */
export const SubscribedFrame = Type.Object(
  {
    type: Type.Literal("subscribed"),
    id: FrameId,
    streams: Streams,
    categories: Type.Union([Type.Array(Type.String()), Type.Null()]),
  },
  Strict,
);

/** One stream's answer inside `resumed`: `recovered: false` says events were lost, and why. */
export const ResumedStream = Type.Object(
  {
    recovered: Type.Boolean(),
    epoch: Type.String(),
    seq: Type.Integer(),
    reason: Type.Optional(
      Type.String({ description: "epoch_changed, beyond_retention, ahead_of_stream, not_allowed or not_found (recovered: false)" }),
    ),
  },
  Strict,
);
export type ResumedStream = Static<typeof ResumedStream>;

/** The answer to `resume`, sent before the replayed events. */
export const ResumedFrame = Type.Object(
  { type: Type.Literal("resumed"), id: FrameId, streams: Type.Record(StreamName, ResumedStream) },
  Strict,
);

/** The answer to `ping`. */
export const PongFrame = Type.Object({ type: Type.Literal("pong"), id: FrameId }, Strict);

/** Every server control frame, by `type` (event frames are encoded by `encodeEventFrame`). */
export const SERVER_FRAMES = {
  welcome: WelcomeFrame,
  ack: AckFrame,
  error: ErrorFrame,
  subscribed: SubscribedFrame,
  resumed: ResumedFrame,
  pong: PongFrame,
} as const;

export type WelcomeFrame = Static<typeof WelcomeFrame>;
export type AckFrame = Static<typeof AckFrame>;
export type ErrorFrame = Static<typeof ErrorFrame>;
export type SubscribedFrame = Static<typeof SubscribedFrame>;
export type ResumedFrame = Static<typeof ResumedFrame>;
export type PongFrame = Static<typeof PongFrame>;
/** A server control frame. */
export type ServerFrame = WelcomeFrame | AckFrame | ErrorFrame | SubscribedFrame | ResumedFrame | PongFrame;

/** A message id as the client sent it (a string or an integer), for the answer. */
export type MessageId = string | number;

/** The `id` of an answer: present only when the message had one. */
export function answering(id: MessageId | undefined): { id?: MessageId } {
  return id !== undefined ? { id } : {};
}

/** The error frame for `code` (the table's message unless one is given). */
export function errorFrame(code: ErrorCode, message?: string, id?: MessageId, details?: unknown): ErrorFrame {
  return {
    type: "error",
    ...answering(id),
    code,
    message: message ?? ERROR_TABLE[code].message,
    ...(details !== undefined ? { details } : {}),
  };
}

/** A decoded client frame, or why it was refused (with the frame's `id` when it had a usable one). */
export type DecodedFrame =
  | { readonly ok: true; readonly msg: ClientMessage }
  | { readonly ok: false; readonly error: StyxError; readonly id?: MessageId };

/** What a socket library hands over for one message. */
export type FrameData = Buffer | ArrayBuffer | readonly Buffer[];

/**
 * Decodes client frames: text only, JSON, an object nested at most MAX_JSON_DEPTH deep, a known
 * `type`, and that type's schema (finite numbers, unknown fields refused — the body settings
 * of HTTP, without formats). Validators are compiled once per decoder.
 */
export class ClientFrameDecoder {
  readonly #compiled = new Map<string, ReturnType<ReturnType<typeof makeAjv>["compile"]>>();

  constructor() {
    const ajv = makeAjv(false, { formats: false });
    for (const [type, schema] of Object.entries(CLIENT_MESSAGES)) this.#compiled.set(type, ajv.compile(schema));
  }

  decode(data: FrameData, isBinary: boolean): DecodedFrame {
    if (isBinary) return { ok: false, error: new StyxError("STYX_UNSUPPORTED_MEDIA_TYPE", "Frames must be text (JSON).") };
    let value: unknown;
    let text: string;
    try {
      text = textOf(data);
      value = JSON.parse(text);
    } catch {
      return { ok: false, error: new StyxError("STYX_BAD_JSON", "The frame is not valid JSON.") };
    }
    const raw = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
    const id = typeof raw.id === "string" || (typeof raw.id === "number" && Number.isFinite(raw.id)) ? raw.id : undefined;
    const refused = (error: StyxError): DecodedFrame => (id === undefined ? { ok: false, error } : { ok: false, error, id });
    // JSON text holds U+0000 only as the escape `\u0000` (a raw one is refused by JSON.parse): without one, no NUL checks.
    const problem = jsonProblem(value, "frame", MAX_JSON_DEPTH, text.includes("\\u0000"));
    if (problem) return refused(problem);
    const validate = typeof raw.type === "string" ? this.#compiled.get(raw.type) : undefined;
    if (!validate)
      return refused(new StyxError("STYX_VALIDATION", `Unknown message type; expected one of ${[...this.#compiled.keys()].join(", ")}.`));
    if (!validate(value)) return refused(validationError(validate.errors ?? [], "message"));
    return { ok: true, msg: value as ClientMessage };
  }
}

function textOf(data: FrameData): string {
  if (Buffer.isBuffer(data)) return data.toString("utf8");
  if (Array.isArray(data)) return Buffer.concat(data as Buffer[]).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}
