import { createHash } from "node:crypto";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";

/** Header of a batch message: the Styx seq of its first event. */
export const FIRST_SEQ_HEADER = "Styx-First-Seq";
/** Header of a batch message: the Styx seq of its last event. */
export const LAST_SEQ_HEADER = "Styx-Last-Seq";
/**
 * Header of a copy written by a redaction (JetStreamHistory.redact): `done` on the last copy of
 * a rewrite, else the time (epoch ms) until which appenders wait for the rest (the fence).
 */
export const REWRITE_HEADER = "Styx-Rewrite";
/** Header of a redaction's copy: the subject's last Styx seq when the rewrite began (≥ its own last). */
export const TIP_SEQ_HEADER = "Styx-Tip-Seq";
/** Header of a batch message published in a trace (tracing on): the W3C `traceparent` of its publish span. */
export const TRACEPARENT_HEADER = "traceparent";

/** The JetStream stream holding every Styx stream of `cluster`. */
export function jetStreamName(cluster: string): string {
  return `${cluster.toUpperCase()}_EVENTS`;
}

/** The subject prefix (with the trailing dot) of `cluster`'s event messages. */
export function eventSubjectPrefix(cluster: string): string {
  return `${cluster}.ev.`;
}

/** The subject of Styx stream `stream`: base64url keeps `user:abc` one valid NATS token. */
export function eventSubject(cluster: string, stream: string): string {
  return eventSubjectPrefix(cluster) + Buffer.from(stream, "utf8").toString("base64url");
}

/** The Styx stream named by the last token of an event subject. */
export function streamOfSubject(subject: string): string {
  return Buffer.from(subject.slice(subject.lastIndexOf(".") + 1), "base64url").toString("utf8");
}

/** The epoch of a JetStream stream: a recreated stream has another `created` and so another epoch. */
export function epochOf(name: string, created: string): string {
  return `ep_${createHash("sha256").update(`${name}\0${created}`).digest("base64url").slice(0, 16)}`;
}

/** One NDJSON line of a batch; `payloadJson` goes in verbatim so replay returns the text as published. */
export function encodeLine(seq: number, ts: number, channel: string, payloadJson: string): string {
  return `{"seq":${seq},"ts":${ts},"channel":${JSON.stringify(channel)},"payload":${payloadJson}}`;
}

/** The events of a batch message body written by `encodeLine`. */
export function decodeBatch(stream: string, epoch: string, body: string): SequencedEvent[] {
  const out: SequencedEvent[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf("\n", start);
    if (end === -1) end = body.length;
    if (end > start) out.push(decodeLine(stream, epoch, body.slice(start, end)));
    start = end + 1;
  }
  return out;
}

const SEQ = '{"seq":';
const TS = ',"ts":';
const CHANNEL = ',"channel":"';
const PAYLOAD = ',"payload":';

/**
 * Reads a line by its known layout instead of JSON.parse: the payload text is sliced out
 * unchanged and unparsed (every gateway decodes every event, so this is the hot path).
 * A line of another layout falls back to JSON.parse.
 */
function decodeLine(stream: string, epoch: string, line: string): SequencedEvent {
  if (line.startsWith(SEQ)) {
    const tsAt = line.indexOf(TS, SEQ.length);
    const chAt = tsAt === -1 ? -1 : line.indexOf(CHANNEL, tsAt);
    if (chAt !== -1) {
      const chEnd = stringEnd(line, chAt + CHANNEL.length);
      if (chEnd !== -1 && line.startsWith(PAYLOAD, chEnd + 1) && line.endsWith("}")) {
        return {
          stream,
          epoch,
          seq: Number(line.slice(SEQ.length, tsAt)),
          ts: Number(line.slice(tsAt + TS.length, chAt)),
          channel: JSON.parse(line.slice(chAt + CHANNEL.length - 1, chEnd + 1)) as string,
          payloadJson: line.slice(chEnd + 1 + PAYLOAD.length, -1),
        };
      }
    }
  }
  const r = JSON.parse(line) as { seq: number; ts: number; channel: string; payload: unknown };
  return { stream, epoch, seq: r.seq, ts: r.ts, channel: r.channel, payloadJson: JSON.stringify(r.payload) };
}

/** Index of the closing quote of the JSON string whose body starts at `from`, or -1. */
function stringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) return i;
  }
  return -1;
}
