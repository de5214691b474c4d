import type { SequencedEvent } from "./event-bus.js";

/** Where a client stands in a stream: the last `seq` it received, in the history generation `epoch`. */
export interface StreamPosition {
  /**
   * The history generation. It travels with `seq` because a `seq` means nothing on its own:
   * when history is lost (an amnesia restart, a wiped store) numbering starts again under a
   * new epoch, and a client holding the old epoch must be told rather than silently skipped.
   */
  readonly epoch: string;
  readonly seq: number;
}

/** The answer to a resume request for one stream. */
export type Recovery =
  | {
      readonly recovered: true;
      /** The stream's position when recovery started: replay ends here, live delivery goes on from it. */
      readonly epoch: string;
      readonly seq: number;
      /** The missed events (`since.seq` + 1 … `seq`), oldest first, in pages read lazily. */
      readonly pages: AsyncIterable<readonly SequencedEvent[]>;
    }
  | {
      /** The epoch differs, the position is ahead of the stream, or history no longer reaches back. */
      readonly recovered: false;
      readonly epoch: string;
      readonly seq: number;
      readonly reason: "epoch_changed" | "beyond_retention" | "ahead_of_stream";
    };

/**
 * Read side of stream history (SPEC §9): positions and replay. Histories keep, per stream,
 * a hot tier (recent events in memory), a warm tier (the store) and a cold tier (blob
 * archives) and read whichever reaches back far enough.
 * Obligations: `recover` either promises every event after `since` up to the returned `seq`,
 * in order and without gaps in what was published, or answers `recovered: false` — never a
 * silent skip. Pages hold at most `pageSize` events (default 1,000).
 */
export interface History {
  /** The current position of `stream` (`seq` 0 for a stream with no events yet). */
  position(stream: string): Promise<StreamPosition>;
  recover(stream: string, since: StreamPosition, pageSize?: number): Promise<Recovery>;
}

/**
 * Erasure of history (SPEC §3). `eraseStream` forgets a stream in every tier (nothing when there
 * is none). `redact` replaces, in every tier it can rewrite, each event of `stream` whose payload
 * names `id` as a JSON string by an ERASED_CHANNEL tombstone with the same seq and time, so a
 * replay keeps its numbering without a hole, and answers true once no tier holds such an event
 * (false: a history that cannot rewrite its events). Both are idempotent: after a crash, running
 * them again finishes the job without losing or repeating any other event.
 */
export interface StreamEraser {
  eraseStream(stream: string): Promise<void>;
  redact(stream: string, id: string): Promise<boolean>;
}

/** Channel of an event replaced by an erasure: its payload is `{}`. */
export const ERASED_CHANNEL = "styx:erased";

/** Whether an event's payload names `id` (a JSON string value anywhere in it). */
export function namesId(payloadJson: string, id: string): boolean {
  return payloadJson.includes(JSON.stringify(id));
}

/**
 * THE resume decision of every History (SPEC §9), for a stream now at `at`: a position of
 * another epoch, or ahead of the stream, is refused; one behind it recovers only if history
 * still reaches back to the first missed event. `oldestKept` answers the oldest seq history
 * holds of the stream (undefined: none), or the seq of the first missed event when a tier
 * holding it says so for less; it is asked only when events were missed. `pages` reads the
 * missed events once recovery is promised.
 */
export async function recoverFrom(
  since: StreamPosition,
  at: StreamPosition,
  oldestKept: () => Promise<number | undefined>,
  pages: () => AsyncIterable<readonly SequencedEvent[]>,
): Promise<Recovery> {
  const { epoch, seq } = at;
  if (since.epoch !== epoch) return { recovered: false, epoch, seq, reason: "epoch_changed" };
  if (since.seq > seq) return { recovered: false, epoch, seq, reason: "ahead_of_stream" };
  if (since.seq < seq) {
    const oldest = await oldestKept();
    if (oldest === undefined || oldest > since.seq + 1) return { recovered: false, epoch, seq, reason: "beyond_retention" };
  }
  return { recovered: true, epoch, seq, pages: pages() };
}

/** Raised by a replay page when the history it promised was archived away or expired mid-read. */
export class HistoryGoneError extends Error {
  override readonly name = "HistoryGoneError";
}
