import type { Socket } from "node:net";
import type { WebSocket } from "ws";
import type { SharedFrame } from "./shared-frame.js";

/**
 * What the socket layer needs of a WebSocket: the seam between the session and `ws`, so
 * sessions and subscriptions are unit-tested with a plain object (test/unit/server/ws/).
 */
export interface SocketTransport {
  /** Whether frames can still be sent. */
  readonly open: boolean;
  /** Bytes sent but not yet written to the network (the library's queue and the kernel-side backlog). */
  readonly bufferedAmount: number;
  /** Sends one text frame. */
  send(data: Buffer): void;
  /** Sends a frame shared by many sockets (written already framed when the transport can). */
  sendShared(frame: SharedFrame): void;
  /** Sends a protocol ping. */
  ping(): void;
  /** Starts the closing handshake. */
  close(code: number, reason: string): void;
  /** Drops the connection at once. */
  terminate(): void;
  /** Calls `listener` once, when the connection is closed for any reason, with its close code. */
  onClose(listener: (code: number) => void): void;
  /** Resolves when the backlog may have drained: the socket emptied its buffer, closed, or `maxWaitMs` passed. */
  drained(maxWaitMs: number): Promise<void>;
}

/** Options of every text frame sent (one object for all sends). */
const TEXT = { binary: false } as const;

/**
 * The transport of a `ws` socket. With the upgraded TCP socket given and no extension
 * negotiated (no permessage-deflate), shared frames are written to it directly, already framed;
 * `ws` then never holds frames back (it queues only while compressing), so the order of all
 * frames on the socket is the order of the calls.
 */
export function wsTransport(ws: WebSocket, socket?: Socket): SocketTransport {
  return new WsTransport(ws, socket);
}

/**
 * A class, not an object literal: every live event reads `open` and `bufferedAmount` and calls
 * `sendShared` once per recipient. An object literal with getters is a dictionary-mode object in
 * V8 (each property read a hash lookup and an uninlined getter call); instances of a class share
 * one fast map, so those reads are inlined.
 */
class WsTransport implements SocketTransport {
  readonly #ws: WebSocket;
  readonly #socket: Socket | undefined;
  /** The TCP socket shared frames are written to, when no extension was negotiated. */
  readonly #raw: Socket | undefined;

  constructor(ws: WebSocket, socket: Socket | undefined) {
    this.#ws = ws;
    this.#socket = socket;
    this.#raw = socket !== undefined && ws.extensions === "" ? socket : undefined;
  }

  get open(): boolean {
    return this.#ws.readyState === 1;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(data: Buffer): void {
    this.#ws.send(data, TEXT);
  }

  sendShared(frame: SharedFrame): void {
    const raw = this.#raw;
    if (raw !== undefined && !raw.destroyed) raw.write(frame.wire);
    else this.#ws.send(frame.data, TEXT);
  }

  ping(): void {
    this.#ws.ping();
  }

  close(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }

  onClose(listener: (code: number) => void): void {
    // `ws` emits `close` once; `once` and a wrapper would cost the socket ~250 bytes for its life.
    this.#ws.on("close", listener);
  }

  drained(maxWaitMs: number): Promise<void> {
    const ws = this.#ws;
    const socket = this.#socket;
    return new Promise<void>((resolve) => {
      // `drain` is the TCP socket's; under permessage-deflate `ws` also queues while it
      // compresses, which no event announces, so the wait is bounded and the caller looks again.
      const done = () => {
        clearTimeout(timer);
        socket?.off("drain", done);
        ws.off("close", done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      socket?.once("drain", done);
      ws.once("close", done);
    });
  }
}
