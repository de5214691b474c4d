import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GATEWAY_ADMIN_TOKEN, type Gateway, startGateway, testCluster } from "../../src/testing/gateways.js";
import { descendsFrom, type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../../src/testing/otlp-receiver.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const WRITE_TRACE = "5b8efff798038103d269b633813fc60c";
const DEPOSIT_TRACE = "7a1c2e3f4b5d6e7f8091a2b3c4d5e6f7";
const BLOB_TRACE = "1f2e3d4c5b6a79880716253443526170";
const EVENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const parent = (trace: string) => `00-${trace}-eee19b7ec3c1b174-01`;

describe("tracing on a macronode gateway (PostgreSQL, Redis, NATS JetStream, S3)", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let receiver: OtlpReceiver;
  let gw: Gateway;
  let spans: readonly ReceivedSpan[] = [];

  before(async () => {
    s3 = await startS3Server();
    receiver = await startOtlpReceiver();
    gw = await startGateway(cluster.name, s3, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    const admin = { token: GATEWAY_ADMIN_TOKEN };
    assert.equal((await gw.request("POST", "/v1/admin/users", { ...admin, body: { id: "trm-u" } })).status, 201);
    const key = (await gw.request("POST", "/v1/admin/users/trm-u/keys", { ...admin, body: { name: "k" } })).json.key as string;
    assert.equal((await gw.request("POST", "/v1/styx/golems", { token: key, body: { id: "trm-g" } })).status, 201);
    const send = (method: string, path: string, trace: string, body: string | Uint8Array, type = "application/json") =>
      fetch(gw.url + path, { method, headers: { authorization: `Bearer ${key}`, "content-type": type, traceparent: parent(trace) }, body });
    const write = { golem_id: "trm-g", layer: "vault", category: "insight", content: "traced on a macronode" };
    assert.equal((await send("POST", "/v1/styx/entries", WRITE_TRACE, JSON.stringify(write))).status, 201);
    const deposit = { golem_id: "trm-g", layer: "threat", class: "probe", intensity: 0.5, domain: "probe", regime: "calm" };
    const d = await send("POST", "/v1/styx/pheromone/deposit", DEPOSIT_TRACE, JSON.stringify(deposit));
    assert.ok(d.status < 300, await d.text());
    const b = await send("PUT", "/v1/styx/blobs", BLOB_TRACE, Buffer.from("traced bytes"), "application/octet-stream");
    assert.equal(b.status, 201, await b.text());
    const { sock } = await TestSocket.connect(gw.url, key);
    const ack = await sock.request({ type: "event", golem_id: "trm-g", event: { type: "golem:tick" }, traceparent: parent(EVENT_TRACE) });
    assert.equal(ack.type, "ack", JSON.stringify(ack));
    await sock.close();
    await gw.stop(); // flushes the exporter
    spans = await receiver.waitFor((s) => s.some((x) => x.traceId === EVENT_TRACE));
  });

  after(async () => {
    await gw?.stop().catch(() => {});
    await receiver?.close();
    await s3?.close();
    await cluster.drop();
  });

  const routeOf = (trace: string, route: string) => {
    const r = spans.find((s) => s.traceId === trace && s.attributes.get("http.route") === route);
    assert.ok(r, `no route span ${route}: ${spans.filter((s) => s.traceId === trace).map((s) => s.name)}`);
    return r;
  };
  const under = (root: ReceivedSpan, pred: (s: ReceivedSpan) => boolean) =>
    spans.filter((s) => s.traceId === root.traceId && pred(s) && descendsFrom(s, root, spans));
  const names = (trace: string) =>
    spans
      .filter((s) => s.traceId === trace)
      .map((s) => s.name)
      .join(", ");

  it("shows a write's entry-store call, its PostgreSQL transaction and the rate limit's Redis call under the route", () => {
    const route = routeOf(WRITE_TRACE, "/v1/styx/entries");
    const store = under(route, (s) => s.name.startsWith("EntryStore.insert"));
    assert.equal(store[0]?.attributes.get("db.system.name"), "postgresql", names(WRITE_TRACE));
    assert.ok(under(route, (s) => s.name === "postgresql.transaction").length >= 1, names(WRITE_TRACE));
    assert.ok(under(route, (s) => s.attributes.get("db.system.name") === "redis").length >= 1, `ioredis: ${names(WRITE_TRACE)}`);
  });

  it("shows a deposit's pheromone-store call under its route", () => {
    const route = routeOf(DEPOSIT_TRACE, "/v1/styx/pheromone/deposit");
    assert.ok(under(route, (s) => s.name === "PheromoneStore.deposit").length === 1, names(DEPOSIT_TRACE));
  });

  it("shows the S3 call of a blob upload (the AWS SDK instrumented through the ESM import hook)", () => {
    const route = routeOf(BLOB_TRACE, "/v1/styx/blobs");
    assert.ok(under(route, (s) => s.attributes.get("rpc.service") === "S3").length >= 1, names(BLOB_TRACE));
  });

  it("continues a socket event's traceparent into its JetStream publish", () => {
    const event = spans.find((s) => s.traceId === EVENT_TRACE && s.name === "ws event golem:tick");
    assert.ok(event, names(EVENT_TRACE));
    const publish = under(event, (s) => s.name.startsWith("nats.publish "));
    assert.equal(publish[0]?.kind, 4, `a producer span: ${names(EVENT_TRACE)}`);
    assert.equal(publish[0]?.attributes.get("messaging.system"), "nats");
  });

  it("hands the delivered message to the gateway's sockets in a consumer span whose parent is the publish (the traceparent header)", () => {
    const publish = spans.filter((s) => s.traceId === EVENT_TRACE && s.name.startsWith("nats.publish "));
    const deliver = spans.filter((s) => s.traceId === EVENT_TRACE && s.name.startsWith("nats.deliver "));
    assert.ok(deliver.length >= 1, names(EVENT_TRACE));
    for (const d of deliver) {
      assert.equal(d.kind, 5);
      assert.ok(
        publish.some((p) => p.spanId === d.parentSpanId),
        "its parent is a publish span",
      );
    }
  });
});
