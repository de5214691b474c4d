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

/** Raised by a replay page when the history it promised was archived away or expired mid-read. */
export class HistoryGoneError extends Error {
  override readonly name = "HistoryGoneError";
}
