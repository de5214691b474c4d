import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { moduleTrailImport, readTrail } from "../../src/testing/module-trail.js";
import { descendsFrom, type ReceivedSpan, startOtlpReceiver } from "../../src/testing/otlp-receiver.js";
import { type SpawnedServer, spawnServer } from "../../src/testing/spawn.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";
const SOCKET_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";

/**
 * Modules that are OpenTelemetry's, or loaded only for it. Not `@opentelemetry/api`: prom-client
 * (metrics, long before tracing) requires it for exemplars at load, so every Styx loads that
 * facade; with no provider registered it is a no-op. The SDK, exporters, instrumentations,
 * @fastify/otel, the import hooks and adapters/otel/ are what tracing adds.
 */
const OTEL_MODULE =
  /\/node_modules\/(@opentelemetry\/(?!api\/)|@fastify\/otel\/|import-in-the-middle\/|require-in-the-middle\/)|\/dist\/adapters\/otel\//;

/** A user with a key and a golem on `server`. */
async function tenant(
  server: SpawnedServer,
): Promise<{ key: string; call: (path: string, body: unknown, headers?: Record<string, string>) => Promise<Response> }> {
  const admin = server.printedAdminToken;
  assert.ok(admin, server.output());
  const post = (path: string, token: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(server.url + path, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  assert.equal((await post("/v1/admin/users", admin, { id: "tr-u" })).status, 201);
  const { key } = (await (await post("/v1/admin/users/tr-u/keys", admin, { name: "k" })).json()) as { key: string };
  assert.equal((await post("/v1/styx/golems", key, { id: "tr-g" })).status, 201);
  return { key, call: (path, body, headers) => post(path, key, body, headers) };
}

describe("tracing (OTEL_EXPORTER_OTLP_ENDPOINT) on a micronode", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-tracing-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("exports a write's spans: the route span in the caller's trace, store-port and SQLite spans beneath it; a socket event continues its traceparent", async () => {
    const receiver = await startOtlpReceiver();
    const trail = join(dir, "on.trail");
    const server = await spawnServer(["--amnesia"], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        OTEL_SERVICE_NAME: "styx-under-test",
        NODE_OPTIONS: `--import=${moduleTrailImport(trail)}`,
      },
    });
    let exited: number | string | undefined;
    try {
      const { key, call } = await tenant(server);
      const write = await call(
        "/v1/styx/entries",
        { golem_id: "tr-g", layer: "vault", category: "insight", content: "traced write" },
        { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      );
      assert.equal(write.status, 201);

      const { sock } = await TestSocket.connect(server.url, key);
      const ack = await sock.request({
        type: "event",
        golem_id: "tr-g",
        event: { type: "golem:tick" },
        traceparent: `00-${SOCKET_TRACE_ID}-00f067aa0ba902b7-01`,
      });
      assert.equal(ack.type, "ack", JSON.stringify(ack));
      const refused = await sock.request({ type: "event", golem_id: "tr-g", event: { type: "golem:tick" }, traceparent: "01-not-a-trace" });
      assert.equal(refused.type, "error", "a malformed traceparent is refused by the frame's schema");
      await sock.close();
    } finally {
      // The exporter flushes as the server stops (close → flush): no waiting on the batch delay.
      server.proc.kill("SIGTERM");
      exited = await server.exited;
    }
    try {
      assert.equal(exited, 0, server.output());
      const spans = await receiver.waitFor((s) => s.some((x) => x.traceId === SOCKET_TRACE_ID));
      const inTrace = (id: string) => spans.filter((s) => s.traceId === id);
      const write = inTrace(TRACE_ID);
      const route = write.find((s) => s.attributes.get("http.route") === "/v1/styx/entries");
      assert.ok(route, `no route span in the caller's trace: ${write.map((s) => s.name).join(", ")}`);
      assert.equal(route.service, "styx-under-test");
      const server1 = write.find((s) => s.kind === 2);
      assert.equal(server1?.parentSpanId, CALLER_SPAN, "the server span's parent is the caller's span");
      const below = (pred: (s: ReceivedSpan) => boolean) => write.filter((s) => pred(s) && descendsFrom(s, route, spans));
      const insert = below((s) => s.name === "EntryStore.insert" || s.name === "EntryStore.insertMany");
      assert.equal(insert.length, 1, `one entry-store write under the route: ${write.map((s) => s.name).join(", ")}`);
      assert.equal(insert[0]?.attributes.get("db.system.name"), "sqlite");
      const sqlite = below((s) => s.name === "sqlite.transaction");
      assert.ok(
        sqlite.some((s) => descendsFrom(s, insert[0] as ReceivedSpan, spans)),
        "the entry's SQLite transaction is inside the store call",
      );
      assert.ok(
        spans.some((s) => s.name === "IdentityStore.findApiKeyByHash"),
        "the credential lookup is traced (its first, in its request's trace)",
      );
      assert.deepEqual(
        below((s) => s.name.startsWith("IdentityStore.")).map((s) => s.name),
        ["IdentityStore.getGolem", "IdentityStore.markGolemAlive"],
        "under the write, only the golem's first lookup and its move to alive: the key and the owner come from the identity cache",
      );

      const relayed = inTrace(SOCKET_TRACE_ID);
      const event = relayed.find((s) => s.name === "ws event golem:tick");
      assert.equal(event?.parentSpanId, "00f067aa0ba902b7", "the relay continues the sender's trace");
      assert.ok(relayed.some((s) => s.name === "EventBus.publish" && descendsFrom(s, event as ReceivedSpan, spans)));

      const loaded = [...readTrail(readFileSync(trail, "utf8"))];
      assert.ok(
        loaded.some((m) => OTEL_MODULE.test(m)),
        "the trail sees OpenTelemetry when tracing is on (so its silence below means something)",
      );
    } finally {
      await receiver.close();
    }
  });

  it("loads none of what tracing adds (SDK, exporters, instrumentations, import hooks, adapters/otel) while OTEL_EXPORTER_OTLP_ENDPOINT is unset", async () => {
    const trail = join(dir, "off.trail");
    const server = await spawnServer(["--amnesia"], { env: { NODE_OPTIONS: `--import=${moduleTrailImport(trail)}` } });
    try {
      const { call } = await tenant(server);
      const write = await call(
        "/v1/styx/entries",
        { golem_id: "tr-g", layer: "vault", category: "insight", content: "untraced write" },
        { traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
      );
      assert.equal(write.status, 201);
    } finally {
      server.proc.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.output());
    }
    const loaded = [...readTrail(readFileSync(trail, "utf8"))];
    assert.ok(loaded.length > 100 && loaded.some((m) => m.includes("/node_modules/fastify/")), "the trail recorded the server's modules");
    assert.deepEqual(
      loaded.filter((m) => OTEL_MODULE.test(m)),
      [],
    );
    assert.doesNotMatch(server.output(), /trace_id/, "no trace ids in the logs");
  });

  it("serves as usual when the collector is down, and still stops with exit 0 (a warning says the last spans were lost)", async () => {
    const gone = await startOtlpReceiver();
    await gone.close(); // its port now refuses connections
    // No timed export during the test (the SDK reads OTEL_BSP_SCHEDULE_DELAY itself): the spans are still waiting at the stop.
    const server = await spawnServer(["--amnesia"], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: gone.endpoint, OTEL_BSP_SCHEDULE_DELAY: "600000" },
    });
    try {
      const { call } = await tenant(server);
      const write = await call("/v1/styx/entries", { golem_id: "tr-g", layer: "vault", category: "insight", content: "nobody listens" });
      assert.equal(write.status, 201);
    } finally {
      server.proc.kill("SIGTERM");
      assert.equal(await server.exited, 0, server.output());
    }
    assert.match(server.output(), /tracing: the last spans were not exported/);
  });
});
