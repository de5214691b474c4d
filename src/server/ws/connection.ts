import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { SequencedEvent } from "../../core/fabric/event-bus.js";
import type { Principal } from "../../core/identity/principal.js";
import type { Golem } from "../../core/identity/types.js";
import { ERROR_TABLE, type ErrorCode } from "../../core/platform/errors.js";
import { encodeBatchFrame, encodeEventFrame } from "../../protocol/fabric.js";

/** Rough memory of an event held in a resume buffer beyond its payload. */
const BUFFERED_EVENT_OVERHEAD = 200;

/** `ws.send` options of every frame (text; one object for all sends). */
const TEXT = { binary: false } as const;

/**
 * A frame the hub sends to many sockets: its bytes, and the same bytes framed once as a
 * complete server-to-client WebSocket text frame (FIN, unmasked), built on first use, so a
 * live event costs each recipient one socket write of shared bytes and no per-socket framing.
 */
export class SharedFrame {
  readonly data: Buffer;
  #wire: Buffer | undefined;

  constructor(data: Buffer) {
    this.data = data;
  }

  /** The frame as it goes on the wire (RFC 6455 §5.2). */
  get wire(): Buffer {
    if (this.#wire === undefined) {
      const n = this.data.length;
      const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
      const wire = Buffer.allocUnsafe(head + n);
      wire[0] = 0x81; // FIN + text
      if (head === 2) wire[1] = n;
      else if (head === 4) {
        wire[1] = 126;
        wire.writeUInt16BE(n, 2);
      } else {
        wire[1] = 127;
        wire.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
        wire.writeUInt32BE(n >>> 0, 6);
      }
      this.data.copy(wire, head);
      this.#wire = wire;
    }
    return this.#wire;
  }
}

/** Options every connection shares. */
export interface ConnectionOptions {
  /** Bytes a socket may have waiting to be sent (kernel-side backlog included) before it is closed with 4008. */
  readonly maxQueueBytes: number;
  /**
   * The upgraded TCP socket under `ws`. Given, and with no extension negotiated (no
   * permessage-deflate), shared frames are written to it directly, already framed; `ws` then
   * never holds frames back (it queues only while compressing), so the order of all frames on
   * the socket is the order of the calls.
   */
  readonly socket?: Socket;
  /** Called once when the connection closes for any reason. */
  readonly onClose: (conn: Connection, code: number) => void;
}

/**
 * One client socket: who it is, what it follows, and its bounded way out. Every send goes
 * through `send`, which closes the socket with 4008 (`STYX_SLOW_CONSUMER`) instead of letting
 * a reader that does not keep up pile frames into memory.
 */
export class Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly ip: string;
  principal: Principal | undefined;
  /** Streams delivered to this socket. */
  readonly streams = new Set<string>();
  /** Per followed stream, the seq it was joined at: every later event is delivered live. */
  readonly joinedAt = new Map<string, number>();
  /** Channel prefixes to deliver; null = every channel. */
  categories: readonly string[] | null = null;
  /** Golems tenancy already resolved for this socket. */
  readonly golems = new Map<string, Golem>();
  /** Golems this socket speaks for (golem-bound key, or a heartbeat / event it sent). */
  readonly speaksFor = new Set<string>();
  /** Server pings sent since the last sign of life. */
  missedPings = 0;
  readonly #opts: ConnectionOptions;
  readonly #maxQueueBytes: number;
  /** Where shared frames are written already framed (see ConnectionOptions.socket), if anywhere. */
  readonly #raw: Socket | undefined;
  /** Streams being replayed: live events wait here until the replay reached them. */
  readonly #held = new Map<string, SequencedEvent[]>();
  #heldBytes = 0;
  #closed = false;

  constructor(id: string, ws: WebSocket, ip: string, opts: ConnectionOptions) {
    this.id = id;
    this.ws = ws;
    this.ip = ip;
    this.#opts = opts;
    this.#maxQueueBytes = opts.maxQueueBytes;
    this.#raw = opts.socket !== undefined && ws.extensions === "" ? opts.socket : undefined;
    ws.once("close", (code) => this.#markClosed(code));
  }

  /** Whether the socket can still take frames. */
  get open(): boolean {
    return !this.#closed && this.ws.readyState === 1;
  }

  /** Bytes waiting to go out (socket backlog plus events held during a replay). */
  get queuedBytes(): number {
    return this.ws.bufferedAmount + this.#heldBytes;
  }

  /** Whether the category filter lets `channel` through (`golem` matches `golem:tick`). */
  wants(channel: string): boolean {
    const cats = this.categories;
    if (cats === null) return true;
    for (const c of cats) if (channel === c || (channel.startsWith(c) && channel.charCodeAt(c.length) === 58)) return true;
    return false;
  }

  /** Live delivery of one event whose frame the hub serialised once for all its recipients. */
  deliver(event: SequencedEvent, frame: SharedFrame): void {
    // The path every recipient of every live event takes: no allocation, no lookup it can skip.
    if (this.categories !== null && !this.wants(event.channel)) return;
    if (!this.#isNew(event)) return;
    if (this.#held.size > 0 && this.#hold(event.stream, [event])) return;
    this.#sendShared(frame);
  }

  /**
   * Live delivery of a tick's events of one stream (one frame; re-encoded only when the category
   * filter or the join position leaves out some of them).
   */
  deliverBatch(stream: string, events: readonly SequencedEvent[], frame: SharedFrame): void {
    let mine = events;
    if (this.categories !== null || !this.#isNew(events[0] as SequencedEvent)) {
      mine = events.filter((e) => this.wants(e.channel) && this.#isNew(e));
      if (mine.length === 0) return;
    }
    if (this.#hold(stream, mine)) return;
    if (mine === events) this.#sendShared(frame);
    else this.send(Buffer.from(encodeBatchFrame(mine)));
  }

  /** Starts holding live events of `stream` while its history is replayed. */
  holdLive(stream: string): void {
    if (!this.#held.has(stream)) this.#held.set(stream, []);
  }

  /** Ends a replay: sends the held events newer than `afterSeq`, in order, and resumes live delivery. */
  releaseLive(stream: string, afterSeq: number): void {
    const held = this.#held.get(stream);
    if (!held) return;
    this.#held.delete(stream);
    for (const e of held) {
      this.#heldBytes -= e.payloadJson.length + BUFFERED_EVENT_OVERHEAD;
      if (e.seq > afterSeq) this.send(Buffer.from(encodeEventFrame(e)));
    }
  }

  /** Sends a control frame. */
  sendJson(frame: Record<string, unknown>): boolean {
    return this.send(Buffer.from(JSON.stringify(frame)));
  }

  /** Sends an error frame for `code` (the socket stays open). */
  sendError(code: ErrorCode, message: string | undefined, id?: unknown, details?: unknown): void {
    this.sendJson({
      type: "error",
      ...(id !== undefined ? { id } : {}),
      code,
      message: message ?? ERROR_TABLE[code].message,
      ...(details !== undefined ? { details } : {}),
    });
  }

  /** Queues a text frame; closes the socket with 4008 when its queue would pass the bound. */
  send(data: Buffer): boolean {
    if (!this.#admit(data.length)) return false;
    this.ws.send(data, TEXT);
    return true;
  }

  /** `send` of a frame shared by many sockets: written already framed when the socket allows it. */
  #sendShared(frame: SharedFrame): boolean {
    if (!this.#admit(frame.data.length)) return false;
    const raw = this.#raw;
    if (raw !== undefined && !raw.destroyed) raw.write(frame.wire);
    else this.ws.send(frame.data, TEXT);
    return true;
  }

  /** Whether `bytes` more may be queued; closes the socket with 4008 when they would pass the bound. */
  #admit(bytes: number): boolean {
    if (this.#closed) return false;
    const ws = this.ws;
    if (ws.readyState !== 1) return false;
    if (ws.bufferedAmount + this.#heldBytes + bytes > this.#maxQueueBytes) {
      this.close("STYX_SLOW_CONSUMER");
      return false;
    }
    return true;
  }

  /** Closes with the error's WebSocket code (a peer that stopped reading is cut 5 s later). */
  close(code: ErrorCode, reason?: string): void {
    if (this.#closed) return;
    const wsCode = ERROR_TABLE[code].ws;
    const text = (reason ?? code).slice(0, 120);
    if (code === "STYX_SLOW_CONSUMER" || code === "STYX_PING_TIMEOUT") {
      // The close frame queues behind the backlog; a peer that never reads it is cut after 5 s
      // (the backlog is bounded meanwhile: nothing more is sent).
      setTimeout(() => this.ws.terminate(), 5000).unref();
    }
    this.ws.close(wsCode, text);
    this.#markClosed(wsCode);
  }

  /**
   * Whether `event` comes after the position the socket joined its stream at. A tick's batch
   * or an event sequenced just before the join may still be on its way; the join position (or
   * the replay) already covers those, so they are not sent twice.
   */
  #isNew(event: SequencedEvent): boolean {
    return event.seq > (this.joinedAt.get(event.stream) ?? 0);
  }

  #hold(stream: string, events: readonly SequencedEvent[]): boolean {
    const held = this.#held.get(stream);
    if (!held) return false;
    for (const e of events) {
      held.push(e);
      this.#heldBytes += e.payloadJson.length + BUFFERED_EVENT_OVERHEAD;
    }
    if (this.ws.bufferedAmount + this.#heldBytes > this.#opts.maxQueueBytes) this.close("STYX_SLOW_CONSUMER");
    return true;
  }

  #markClosed(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held.clear();
    this.#heldBytes = 0;
    this.#opts.onClose(this, code);
  }
}
