import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StreamConfig, type StreamInfo } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

/** Retention limits of a cluster's JetStream event stream. */
export interface EventStreamLimits {
  /** How long events are kept, ms (default 7 days: STYX_HISTORY_RETENTION). */
  readonly retentionMs?: number;
  /**
   * Bytes the stream may hold before the oldest messages go; -1 (the default) leaves it to
   * the age limit. JetStream reserves a stream's max_bytes against the server's storage up
   * front, so a large default would make a second cluster on the same server fail to start.
   */
  readonly maxBytes?: number;
  /** Messages (batches) kept per Styx stream, -1 for no limit (the default; tests set a small one). */
  readonly maxMsgsPerSubject?: number;
}

/** Stream already exists with another configuration (JetStream API error). */
const STREAM_NAME_IN_USE = 10058;

/**
 * Returns the info of the stream `name` over `<prefix>>`, creating it when missing and
 * bringing its limits to `limits` when they changed. Gateways starting together may race to
 * create it: JetStream accepts an identical create, and a loser of a racing update re-reads.
 */
export async function ensureEventStream(
  jsm: JetStreamManager,
  name: string,
  prefix: string,
  limits: EventStreamLimits,
): Promise<StreamInfo> {
  const wanted = {
    name,
    subjects: [`${prefix}>`],
    storage: "file",
    retention: "limits",
    discard: "old",
    max_age: nanos(limits.retentionMs ?? 7 * 86_400_000),
    max_bytes: limits.maxBytes ?? -1,
    max_msgs_per_subject: limits.maxMsgsPerSubject ?? -1,
    allow_direct: true,
    // Publishes carry no Nats-Msg-Id, so a long duplicate window would only cost memory.
    duplicate_window: nanos(60_000),
  } as Partial<StreamConfig> & { name: string };
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(name);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
    try {
      return await jsm.streams.add(wanted);
    } catch (e) {
      if (!(e instanceof JetStreamApiError && e.code === STREAM_NAME_IN_USE)) throw e;
      info = await jsm.streams.info(name);
    }
  }
  const c = info.config;
  if (c.max_age !== wanted.max_age || c.max_bytes !== wanted.max_bytes || c.max_msgs_per_subject !== wanted.max_msgs_per_subject) {
    info = await jsm.streams.update(name, {
      max_age: wanted.max_age,
      max_bytes: wanted.max_bytes,
      max_msgs_per_subject: wanted.max_msgs_per_subject,
    } as Partial<StreamConfig>);
  }
  return info;
}
