import { ERROR_TABLE, type ErrorCode } from "../../core/platform/errors.js";
import { errorFrame, type MessageId, type ServerFrame } from "../../protocol/frames.js";
import type { SharedFrame } from "./shared-frame.js";
import type { SocketTransport } from "./transport.js";

/** How long a replay waits for a drain before it looks at the backlog again (a bound, not a poll: `drain` usually comes first). */
const DRAIN_WAIT_MS = 250;

/** Options of a connection. */
export interface ConnectionOptions {
  /** Bytes a socket may have waiting (transport backlog plus bytes held for it) before it is closed with 4008. */
  readonly maxQueueBytes: number;
  /** Called once when the connection closes for any reason, with the close code. */
  readonly onClose: (code: number) => void;
}

/**
 * One socket's bounded way out. Every frame goes through it, and a reader that does not keep
 * up is closed with 4008 (`STYX_SLOW_CONSUMER`) instead of piling frames into memory. Bytes
 * held for the socket elsewhere (live events waiting behind a replay) count against the same
 * bound. It knows nothing of streams or principals (the session and its subscriptions do).
 */
export class Connection {
  readonly id: string;
  readonly ip: string;
  readonly #transport: SocketTransport;
  /** The options' fields, not the options object: one object less per socket. */
  readonly #maxQueueBytes: number;
  readonly #onClose: (code: number) => void;
  #held = 0;
  #closed = false;

  constructor(id: string, ip: string, transport: SocketTransport, opts: ConnectionOptions) {
    this.id = id;
    this.ip = ip;
    this.#transport = transport;
    this.#maxQueueBytes = opts.maxQueueBytes;
    this.#onClose = opts.onClose;
    transport.onClose((code) => this.#markClosed(code));
  }

  /** Whether the socket can still take frames. */
  get open(): boolean {
    return !this.#closed && this.#transport.open;
  }

  /** Bytes waiting to go out (transport backlog plus bytes held for this socket). */
  get queuedBytes(): number {
    return this.#transport.bufferedAmount + this.#held;
  }

  /** Sends a control frame. */
  sendFrame(frame: ServerFrame): boolean {
    return this.send(Buffer.from(JSON.stringify(frame)));
  }

  /** Sends an error frame for `code` (the socket stays open). */
  sendError(code: ErrorCode, message?: string, id?: MessageId, details?: unknown): void {
    this.sendFrame(errorFrame(code, message, id, details));
  }

  /** Queues a text frame; closes the socket with 4008 when its queue would pass the bound. */
  send(data: Buffer): boolean {
    if (!this.#admit(data.length)) return false;
    this.#transport.send(data);
    return true;
  }

  /** `send` of a frame shared by many sockets. */
  sendShared(frame: SharedFrame): boolean {
    if (!this.#admit(frame.data.length)) return false;
    this.#transport.sendShared(frame);
    return true;
  }

  /** Counts `bytes` held for this socket against its bound; closes it with 4008 (and returns false) past the bound. */
  hold(bytes: number): boolean {
    this.#held += bytes;
    if (this.#closed) return false;
    if (this.queuedBytes > this.#maxQueueBytes) {
      this.close("STYX_SLOW_CONSUMER");
      return false;
    }
    return true;
  }

  /** Bytes held earlier that were sent or dropped. */
  unhold(bytes: number): void {
    this.#held = Math.max(0, this.#held - bytes);
  }

  /** Whether the transport's backlog is over half the bound: a replay waits (`writable`) before it sends more. */
  get backlogged(): boolean {
    return this.#transport.bufferedAmount > this.#maxQueueBytes / 2;
  }

  /**
   * Resolves when the backlog is at most half the bound (true), or the socket closed (false):
   * a replay goes on as fast as the reader takes its frames, woken by the transport's drain.
   */
  async writable(): Promise<boolean> {
    while (this.open && this.backlogged) await this.#transport.drained(DRAIN_WAIT_MS);
    return this.open;
  }

  /** Sends a protocol ping. */
  ping(): void {
    if (this.open) this.#transport.ping();
  }

  /** Closes with the error's WebSocket code (a peer that stopped reading is cut 5 s later). */
  close(code: ErrorCode, reason?: string): void {
    if (this.#closed) return;
    const wsCode = ERROR_TABLE[code].ws;
    if (code === "STYX_SLOW_CONSUMER" || code === "STYX_PING_TIMEOUT") {
      // The close frame queues behind the backlog; a peer that never reads it is cut after 5 s
      // (the backlog is bounded meanwhile: nothing more is sent).
      setTimeout(() => this.#transport.terminate(), 5000).unref();
    }
    this.#transport.close(wsCode, (reason ?? code).slice(0, 120));
    this.#markClosed(wsCode);
  }

  /** Whether `bytes` more may be queued; closes the socket with 4008 when they would pass the bound. */
  #admit(bytes: number): boolean {
    if (!this.open) return false;
    if (this.queuedBytes + bytes > this.#maxQueueBytes) {
      this.close("STYX_SLOW_CONSUMER");
      return false;
    }
    return true;
  }

  #markClosed(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#held = 0;
    this.#onClose(code);
  }
}
