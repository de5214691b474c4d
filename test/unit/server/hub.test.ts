import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { describe, it } from "node:test";
import type { WebSocket } from "ws";
import { Connection } from "../../../src/server/ws/connection.js";
import { Hub } from "../../../src/server/ws/hub.js";

/** Just enough of a `ws` socket for a Connection: open, records what is sent, closes on request. */
class FakeWs extends EventEmitter {
  readyState = 1;
  extensions = "";
  bufferedAmount = 0;
  readonly sent: string[] = [];
  send(data: Buffer): void {
    this.sent.push(data.toString());
  }
  close(code: number): void {
    this.readyState = 3;
    this.emit("close", code, Buffer.from(""));
  }
  terminate(): void {
    this.close(1006);
  }
  ping(): void {}
}

function connection(hub: Hub): { conn: Connection; ws: FakeWs } {
  const ws = new FakeWs();
  const conn = new Connection("ws_test", ws as unknown as WebSocket, "127.0.0.1", {
    maxQueueBytes: 1024 * 1024,
    onClose: (c) => hub.remove(c),
  });
  hub.add(conn);
  return { conn, ws };
}

const event = (seq: number) => ({ stream: "user:u1", epoch: "e", seq, ts: 0, channel: "golem:tick", payloadJson: "{}" });

describe("the hub", () => {
  it("delivers a user stream's events to the sockets that joined it", () => {
    const hub = new Hub({ tickMs: 10 });
    const { conn, ws } = connection(hub);
    hub.join(conn, "user:u1");
    hub.dispatch(event(1));
    assert.equal(ws.sent.length, 1, "one frame");
    assert.ok(hub.identify(conn, "g1"), "the first identify counts");
    assert.equal(hub.online("g1"), true);
  });

  it("does not index again a socket that closed while one of its messages was in flight", () => {
    // A subscribe or an auth awaits the history between its joins (a NATS round trip on a
    // macronode); the socket can close meanwhile, and the hub forgets it at once. A join or an
    // identify arriving after that must not put it back: it would stay in the index for good,
    // keep its golem online, and be handed the golem's held clade deltas.
    const hub = new Hub({ tickMs: 10 });
    const { conn, ws } = connection(hub);
    hub.join(conn, "user:u1");
    conn.close("STYX_SHUTTING_DOWN");
    assert.equal(hub.size, 0, "removed at close");

    hub.join(conn, "domain:defi");
    assert.equal(hub.identify(conn, "g1"), false, "a late identify is refused, so no clade delta is taken for it");
    assert.equal(hub.online("g1"), false, "the golem is not online through a closed socket");
    assert.ok(!conn.streams.has("domain:defi"), "nothing is followed after the close");
    const before = ws.sent.length;
    hub.dispatch(event(2));
    assert.equal(ws.sent.length, before, "nothing is sent to it");
  });
});
