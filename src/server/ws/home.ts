import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import type { StreamPosition } from "../../core/fabric/history.js";
import { golemStream, userStream } from "../../core/fabric/streams.js";
import { isGolemCredential, type Principal } from "../../core/identity/principal.js";
import { encodeEventFrame } from "../../protocol/fabric.js";
import type { SocketSession } from "./session.js";

/** A socket's home stream as `welcome` states it, and what to send once the welcome is out. */
export interface Home {
  readonly streams: Record<string, StreamPosition>;
  /** Sends what follows the welcome: the held clade deltas of a golem credential's golem (a replay, in order). */
  readonly after: () => Promise<void>;
}

/** Takes (once) the clade deltas held for a golem and marks the socket as speaking for it. */
export type ClaimGolem = (session: SocketSession, golemId: string) => Promise<SequencedEvent[]>;

/**
 * Joins an authenticated socket to the stream its credential follows without asking (SPEC §9):
 * an owner credential its user's `user:{id}`; a golem credential its golem's `golem:{id}` —
 * never its owner's, which carries every sibling's events. The admin token follows nothing, nor
 * does a `federate` key (a linked Styx follows only the federation streams it subscribes to).
 *
 * The clade deltas held for a golem credential's golem while it was offline were published on
 * its stream, so they are handed out as that stream's history: the welcome's position is the one
 * just before the oldest of them and the events after it are replayed, then live ones follow.
 * A client that keeps positions sees them in order and once (sent outside the stream, below
 * the welcome's position, it would take them for duplicates). When the history no longer
 * reaches them (its epoch changed) they are sent as they were held, after the welcome.
 */
export async function joinHome(session: SocketSession, principal: Principal, claim: ClaimGolem): Promise<Home> {
  const nothing = async () => {};
  if (principal.kind !== "user" || principal.scopes.includes("federate")) return { streams: {}, after: nothing };
  if (!isGolemCredential(principal)) {
    const stream = userStream(principal.userId);
    return { streams: { [stream]: await session.subscriptions.join(stream) }, after: nothing };
  }
  const stream = golemStream(principal.golemId);
  const held = await claim(session, principal.golemId);
  const first = held.find((e) => e.stream === stream);
  if (!first) return { streams: { [stream]: await session.subscriptions.join(stream) }, after: () => sendHeld(session, held) };
  const since = { epoch: first.epoch, seq: first.seq - 1 };
  const r = await session.subscriptions.resume(stream, since);
  const position = r.answer.recovered ? since : { epoch: r.answer.epoch, seq: r.answer.seq };
  // Deltas the replay carries are not sent again; any other (held before golem streams existed) goes as it was.
  const rest = r.answer.recovered ? held.filter((e) => e.stream !== stream) : held;
  return {
    streams: { [stream]: position },
    after: async () => {
      await r.replay();
      await sendHeld(session, rest);
    },
  };
}

/** Sends held events as they were published. */
async function sendHeld(session: SocketSession, events: readonly SequencedEvent[]): Promise<void> {
  for (const e of events) session.connection.send(Buffer.from(encodeEventFrame(e)));
}
