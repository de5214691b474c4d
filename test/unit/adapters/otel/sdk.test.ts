import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { startOtel, tracesUrl } from "../../../../src/adapters/otel/sdk.js";
import { startOtlpReceiver } from "../../../../src/testing/otlp-receiver.js";

describe("startOtel (the SDK as Styx starts it)", async () => {
  const receiver = await startOtlpReceiver();
  // The default protocol: http/protobuf, as the OpenTelemetry specification's default.
  const otel = await startOtel({
    endpoint: `${receiver.endpoint}/`,
    protocol: "http/protobuf",
    headers: new Map([["authorization", "Bearer collector-key"]]),
    serviceName: "styx-test",
    serviceVersion: "0.0.0",
    sampleRatio: 1,
  });
  after(async () => {
    await otel.shutdown();
    await receiver.close();
  });

  it("posts spans to <endpoint>/v1/traces (one slash) as OTLP protobuf, with the configured headers", async () => {
    assert.equal(tracesUrl("http://c:4318/"), "http://c:4318/v1/traces");
    assert.equal(tracesUrl("https://c/otlp"), "https://c/otlp/v1/traces");
    await otel.tracer.span("probe", async () => {}, { parent: null });
    await otel.flush();
    assert.equal(receiver.protobuf.exports, 1);
    assert.ok(receiver.protobuf.bytes > 0);
    assert.equal(receiver.lastHeaders?.authorization, "Bearer collector-key");
  });

  it("answers a flush whose collector is gone with the reason, within its bound, instead of failing (a stop never fails for it)", async () => {
    await receiver.close();
    await otel.tracer.span("lost", async () => {}, { parent: null });
    const t0 = performance.now();
    const why = await otel.flush(500);
    assert.ok(why instanceof Error, "the reason is given back");
    assert.ok(performance.now() - t0 < 2000, "within the bound");
  });
});
