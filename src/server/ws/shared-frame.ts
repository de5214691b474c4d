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
