import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { LoggedEvent } from "../../core/fabric/event-log.js";
import {
  decodeBatch,
  encodeLine,
  eventSubject,
  eventSubjectPrefix,
  FIRST_SEQ_HEADER,
  jetStreamName,
  LAST_SEQ_HEADER,
  streamOfSubject,
} from "./event-codec.js";
import { type EventStreamLimits, ensureEventStream } from "./event-stream.js";
import { type NatsConnection, withTimeout } from "./nats-connection.js";

/** One batch message of the event stream as a backup holds it: the Styx stream, its seq range, the NDJSON body. */
export type EventMessageRow = readonly [stream: string, first: number, last: number, body: string];

/** The messages the event stream of `cluster` holds now (0 when it does not exist) and the last one's JetStream seq. */
export async function eventStreamExtent(conn: NatsConnection, cluster: string): Promise<{ messages: number; lastSeq: number }> {
  const jsm = await jetstreamManager(conn.nc, { timeout: 5000 });
  try {
    const info = await jsm.streams.info(jetStreamName(cluster));
    return { messages: info.state.messages, lastSeq: info.state.last_seq };
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return { messages: 0, lastSeq: 0 };
    throw err;
  }
}

/**
 * The messages of `cluster`'s event stream in stream order, up to JetStream seq `lastSeq`
 * (fixed when the backup began, so events published meanwhile are not half taken), through an
 * ordered consumer (~100k messages/s here, where a direct get per message is ~1k/s).
 */
export async function* eventMessages(conn: NatsConnection, cluster: string, lastSeq: number): AsyncGenerator<EventMessageRow> {
  if (lastSeq === 0) return;
  const js = jetstream(conn.nc, { timeout: 5000 });
  const consumer = await js.consumers.get(jetStreamName(cluster));
  const messages = await consumer.consume({ max_bytes: 4 * 1024 * 1024 });
  const it = messages[Symbol.asyncIterator]();
  /** The last seq yielded per Styx stream. */
  const seen = new Map<string, number>();
  try {
    for (;;) {
      // Every message up to lastSeq exists unless retention removed it meanwhile: silence ends the read.
      const r = await withTimeout(it.next(), 10_000, `the event stream sent nothing for 10 s before JetStream seq ${lastSeq}`);
      if (r.done) return;
      const m = r.value;
      const first = Number(m.headers?.get(FIRST_SEQ_HEADER));
      const last = Number(m.headers?.get(LAST_SEQ_HEADER));
      const stream = streamOfSubject(m.subject);
      // A redaction under way (or cut short) leaves copies repeating stored events
      // (JetStreamHistory.redact): each seq goes into the backup once, the first time it shows.
      const prev = seen.get(stream) ?? 0;
      if (last > prev) {
        seen.set(stream, last);
        if (first > prev) yield [stream, first, last, m.string()];
        else {
          const rest = decodeBatch(stream, "", m.string()).filter((e) => e.seq > prev);
          yield [stream, prev + 1, last, rest.map((e) => encodeLine(e.seq, e.ts, e.channel, e.payloadJson)).join("\n")];
        }
      }
      if (m.seq >= lastSeq) return;
    }
  } finally {
    messages.stop();
  }
}

/**
 * Writes backed-up messages into `cluster`'s event stream (created with `limits`), in the
 * order given, up to `inFlight` publishes awaiting their acks: one connection's publishes are
 * stored in the order sent. The stream is new, so its epoch is too.
 */
export async function eventStreamWriter(conn: NatsConnection, cluster: string, limits: EventStreamLimits, inFlight = 256) {
  const jsm = await jetstreamManager(conn.nc, { timeout: 5000 });
  const info = await ensureEventStream(jsm, jetStreamName(cluster), eventSubjectPrefix(cluster), limits);
  const js = jetstream(conn.nc, { timeout: 10_000 });
  const pending = new Set<Promise<unknown>>();
  let failed: unknown;
  return {
    created: info.created,
    /** Bytes of NDJSON a batch message may hold here (as the gateways' appender: 256 KiB under the server's max_payload). */
    maxBatchBytes: Math.min(256 * 1024, (conn.nc.info?.max_payload ?? 1024 * 1024) - 8192),
    async add([stream, first, last, body]: EventMessageRow) {
      if (failed) throw failed;
      const h = headers();
      h.set(FIRST_SEQ_HEADER, String(first));
      h.set(LAST_SEQ_HEADER, String(last));
      const p: Promise<unknown> = js.publish(eventSubject(cluster, stream), body, { headers: h }).then(
        () => pending.delete(p),
        (err) => {
          failed ??= err;
          pending.delete(p);
        },
      );
      pending.add(p);
      if (pending.size >= inFlight) await Promise.race(pending);
    },
    async flush() {
      await Promise.all(pending);
      if (failed) throw failed;
    },
  };
}

/** Deletes `cluster`'s event stream (the one a failed restore created); a stream already gone is not an error. */
export async function deleteEventStream(conn: NatsConnection, cluster: string): Promise<void> {
  const jsm = await jetstreamManager(conn.nc, { timeout: 5000 });
  await jsm.streams.delete(jetStreamName(cluster)).catch(() => false);
}

/**
 * Events of the Styx stream `stream`, in seq order, as the batch messages a gateway's appender
 * writes (NDJSON lines of at most `maxBytes` together, headed by their first and last seq): how a
 * micronode's history enters a cluster's event stream with its seqs kept.
 */
export function eventBatches(stream: string, events: readonly LoggedEvent[], maxBytes: number): EventMessageRow[] {
  const out: EventMessageRow[] = [];
  let lines: string[] = [];
  let bytes = 0;
  let first = 0;
  let last = 0;
  const cut = () => {
    if (lines.length > 0) out.push([stream, first, last, lines.join("\n")]);
    lines = [];
    bytes = 0;
  };
  for (const e of events) {
    const line = encodeLine(e.seq, e.ts, e.channel, e.payloadJson);
    const size = Buffer.byteLength(line) + 1;
    if (lines.length > 0 && bytes + size > maxBytes) cut();
    if (lines.length === 0) first = e.seq;
    lines.push(line);
    bytes += size;
    last = e.seq;
  }
  cut();
  return out;
}
