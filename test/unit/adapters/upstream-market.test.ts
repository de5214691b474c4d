import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import { HttpUpstreamMarket } from "../../../src/adapters/http/upstream-market.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { listenOnLoopback, readBody } from "../../../src/testing/fake-openai-http.js";

/** What the fake upstream saw of the last request. */
let seen: { method?: string; url?: string; headers?: IncomingMessage["headers"]; body?: string } = {};
/** Whether the last streamed answer's connection closed before the upstream ended it. */
let closedEarly = false;
/** Released by the test to let a streamed body finish. */
let release: () => void = () => {};

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  seen = { method: req.method, url: req.url, headers: req.headers, body: await readBody(req) };
  const path = (req.url ?? "").replace(/^\/base/, "");
  if (path.startsWith("/json")) {
    res.writeHead(402, { "content-type": "application/json", "payment-required": "offer", "set-cookie": "x=1", "x-secret": "s" });
    res.end('{"error":{"code":"STYX_PAYMENT_REQUIRED"}}');
  } else if (path === "/stream") {
    res.on("close", () => {
      closedEarly = !res.writableEnded;
    });
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.write(Buffer.alloc(1000, 1));
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    res.end(Buffer.alloc(24, 2));
  } else if (path === "/stall") {
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.write(Buffer.alloc(10, 1)); // and never more
  } else if (path === "/hang") {
    // never answers
  } else if (path === "/key") {
    res.writeHead(401, { "content-type": "application/json" });
    res.end('{"error":{"code":"STYX_AUTH_INVALID_KEY"}}');
  } else {
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html>bad gateway</html>");
  }
}

describe("HttpUpstreamMarket: the upstream's marketplace over HTTP", () => {
  let upstream: { url: string; close: () => Promise<void> };
  let market: HttpUpstreamMarket;
  const server = createServer((req, res) => void handle(req, res));

  before(async () => {
    upstream = await listenOnLoopback(server);
    market = new HttpUpstreamMarket({ url: `${upstream.url}/base/`, key: "styx_fedkey", timeoutMs: 300 });
  });
  after(async () => {
    server.closeAllConnections();
    await upstream.close();
  });

  const reason = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      return err instanceof StyxError ? `${err.code} ${(err.details as { reason: string }).reason}` : String(err);
    }
    return "answered";
  };

  it("sends the federate key, the buyer and the JSON body under the base path; returns the offer headers only", async () => {
    const r = await market.forward({
      method: "POST",
      path: "/json?x=1",
      body: { buyer_public_key: "k" },
      buyerRef: "a".repeat(24),
      headers: new Map([["payment-signature", "sig"]]),
    });
    assert.deepEqual([seen.method, seen.url, seen.body], ["POST", "/base/json?x=1", '{"buyer_public_key":"k"}']);
    assert.equal(seen.headers?.authorization, "Bearer styx_fedkey");
    assert.equal(seen.headers?.["x-styx-buyer"], "a".repeat(24));
    assert.equal(seen.headers?.["payment-signature"], "sig");
    assert.equal(r.status, 402);
    assert.equal(r.headers.get("payment-required"), "offer");
    assert.equal(r.headers.has("set-cookie") || r.headers.has("x-secret"), false, "only the returned headers");
    let text = "";
    for await (const c of r.body) text += Buffer.from(c).toString();
    assert.equal(text, '{"error":{"code":"STYX_PAYMENT_REQUIRED"}}');
  });

  it("sends no buyer on a public route", async () => {
    await market.forward({ method: "GET", path: "/json", headers: new Map() });
    assert.equal(seen.headers?.["x-styx-buyer"], undefined);
  });

  it("streams a body as it comes: the first chunk arrives before the upstream has finished", async () => {
    const r = await market.forward({ method: "GET", path: "/stream", headers: new Map() });
    const it = r.body[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    assert.equal(first.value?.length, 1000, "one chunk, while the upstream still holds the rest");
    release();
    let rest = 0;
    for (let n = await it.next(); !n.done; n = await it.next()) rest += n.value.length;
    assert.equal(rest, 24);
  });

  it("stops reading the upstream's body when the buyer goes away, even before the first chunk", async () => {
    closedEarly = false;
    const r = await market.forward({ method: "GET", path: "/stream", headers: new Map() });
    await r.body[Symbol.asyncIterator]().return?.();
    for (let i = 0; i < 100 && !closedEarly; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(closedEarly, true, "the upstream saw its answer dropped");
    release();
  });

  it("treats no answer in time, a refused connection, a refused key and a non-JSON error as the upstream unavailable", async () => {
    assert.equal(await reason(market.forward({ method: "GET", path: "/hang", headers: new Map() })), "STYX_UPSTREAM_UNAVAILABLE timeout");
    assert.equal(
      await reason(market.forward({ method: "GET", path: "/key", headers: new Map() })),
      "STYX_UPSTREAM_UNAVAILABLE key_refused",
    );
    assert.equal(
      await reason(market.forward({ method: "GET", path: "/html", headers: new Map() })),
      "STYX_UPSTREAM_UNAVAILABLE status_502",
    );
    const closed = new HttpUpstreamMarket({ url: "http://127.0.0.1:9", key: "k", timeoutMs: 300 });
    assert.equal(await reason(closed.forward({ method: "GET", path: "/", headers: new Map() })), "STYX_UPSTREAM_UNAVAILABLE unreachable");
  });

  it("ends a body that stalls longer than the timeout with an error", async () => {
    const r = await market.forward({ method: "GET", path: "/stall", headers: new Map() });
    await assert.rejects(async () => {
      for await (const _ of r.body) {
        // the first chunk comes, then nothing
      }
    });
  });
});
