import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { after, before, describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * What an open socket keeps alive: not its upgrade request (headers, raw headers, read state)
 * nor the request's head buffer. A close listener made inside the upgrade handler shared its
 * context and held both for the socket's life (bench/connections.ts: ~1.5 KiB per socket).
 */

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("an open socket does not retain its upgrade request", () => {
  let s: TestServer;
  const open: TestSocket[] = [];
  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    for (const sock of open) await sock.close();
    await s.close();
  });

  it("lets the upgrade requests of authenticated, still open sockets be collected", async () => {
    const refs: WeakRef<IncomingMessage>[] = [];
    const track = (req: IncomingMessage) => void refs.push(new WeakRef(req));
    s.styx.app.server.on("upgrade", track);
    const u = await s.user();
    for (let i = 0; i < 5; i++) {
      const sock = await TestSocket.open(s.url, { token: u.key });
      open.push(sock);
      await sock.next((f) => f.type === "welcome");
    }
    s.styx.app.server.off("upgrade", track);
    assert.equal(refs.length, 5);
    // WeakRef targets are kept until the end of the current job: collect across a few turns.
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    assert.equal(alive, 0, `${alive} of 5 upgrade requests still reachable while their sockets are open`);
    // The sockets are still served.
    const last = open[open.length - 1] as TestSocket;
    last.send({ type: "heartbeat", golem_id: "nope", id: "h1" });
    assert.ok(await last.next((f) => f.id === "h1" || f.type === "error"));
  });
});
