import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { WebSocketServer } from "ws";
import { StyxError, StyxSocket } from "../../../packages/client/src/index.js";

/** A stand-in for the gateway: each connection is handled by the `next` behaviour. */
let next: (ws: import("ws").WebSocket) => void = () => {};
let wss: WebSocketServer;
let url: string;

before(async () => {
  wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
  wss.on("connection", (ws) => next(ws));
  await new Promise((r) => wss.once("listening", r));
  url = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => wss.close(r)));

/** The `close` a socket reports when the server ends its first connection with `end`. */
async function firstClose(end: (ws: import("ws").WebSocket) => void): Promise<{ code: number; reconnectInMs: number | null }> {
  next = end;
  // A first delay of a minute: nothing reconnects while the test looks.
  const socket = new StyxSocket({ url, token: "t", backoff: { baseMs: 60_000, jitter: 0 } });
  const closed = new Promise<{ code: number; reconnectInMs: number | null }>((r) =>
    socket.on("close", ({ code, reconnectInMs }) => r({ code, reconnectInMs })),
  );
  void socket.connect();
  try {
    return await closed;
  } finally {
    socket.close();
  }
}

describe("StyxSocket after a close", () => {
  for (const code of [4400, 4401, 4403]) {
    it(`stops after ${code}: the same credential would be refused again`, async () => {
      assert.deepEqual(await firstClose((ws) => ws.close(code)), { code, reconnectInMs: null });
    });
  }

  for (const code of [1012, 4008, 4429, 4410]) {
    it(`reconnects after ${code}, after the backoff`, async () => {
      assert.deepEqual(await firstClose((ws) => ws.close(code)), { code, reconnectInMs: 60_000 });
    });
  }

  it("reconnects after a dropped connection (1006)", async () => {
    assert.deepEqual(await firstClose((ws) => ws.terminate()), { code: 1006, reconnectInMs: 60_000 });
  });

  it("reconnects after a close code it does not know", async () => {
    assert.deepEqual(await firstClose((ws) => ws.close(4999)), { code: 4999, reconnectInMs: 60_000 });
  });
});

describe("StyxSocket error frames", () => {
  it("reject a request with the frame's code and details, retryable by the table (SPEC §12: retry_after_ms)", async () => {
    next = (ws) => {
      ws.send(JSON.stringify({ type: "welcome", streams: {} }));
      ws.on("message", (data) => {
        const { id } = JSON.parse(data.toString());
        ws.send(
          JSON.stringify({ type: "error", id, code: "STYX_RATE_LIMITED", message: "Too many requests.", details: { retry_after_ms: 250 } }),
        );
      });
    };
    const socket = new StyxSocket({ url, token: "t" });
    try {
      await socket.connect();
      const err = await socket.heartbeat("golem-1").then(
        () => assert.fail("the heartbeat was refused"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StyxError);
      assert.equal(err.code, "STYX_RATE_LIMITED");
      assert.deepEqual(err.details, { retry_after_ms: 250 });
      assert.equal(err.retryable, true);
    } finally {
      socket.close();
    }
  });
});
