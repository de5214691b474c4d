import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/load.js";

describe("tracing configuration (OTEL_*)", () => {
  it("is off while OTEL_EXPORTER_OTLP_ENDPOINT is unset, whatever else is set", () => {
    assert.equal(loadConfig({}).tracing, undefined);
    assert.equal(loadConfig({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).tracing, undefined);
  });

  it("reads the standard variable names from the environment, with defaults for the rest", () => {
    const t = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing;
    assert.deepEqual(t, {
      endpoint: "http://collector:4318",
      protocol: "http/protobuf",
      headers: new Map(),
      serviceName: "styx",
      sampleRatio: 1,
    });
  });

  it("takes the protocol, service name, sampled share and URL-encoded headers as given", () => {
    const t = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://otlp.example.com/otlp",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-team=golems",
      OTEL_SERVICE_NAME: "styx-eu",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    assert.equal(t?.protocol, "http/json");
    assert.deepEqual(
      [...(t?.headers ?? [])],
      [
        ["authorization", "Bearer abc"],
        ["x-team", "golems"],
      ],
    );
    assert.equal(t?.serviceName, "styx-eu");
    assert.equal(t?.sampleRatio, 0.25);
  });

  it("refuses gRPC, a ratio outside 0-1, a header without a value separator and a non-http endpoint, naming each", () => {
    assert.throws(
      () =>
        loadConfig({
          OTEL_EXPORTER_OTLP_ENDPOINT: "grpc://collector:4317",
          OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
          OTEL_EXPORTER_OTLP_HEADERS: "novalue",
          OTEL_TRACES_SAMPLER_ARG: "2",
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        for (const name of [
          "OTEL_EXPORTER_OTLP_ENDPOINT",
          "OTEL_EXPORTER_OTLP_PROTOCOL",
          "OTEL_EXPORTER_OTLP_HEADERS",
          "OTEL_TRACES_SAMPLER_ARG",
        ])
          assert.ok(
            err.problems.some((p) => p.startsWith(`${name}:`)),
            name,
          );
        assert.doesNotMatch(err.message, /novalue/, "headers are secret: their value is not echoed");
        return true;
      },
    );
  });

  it("leaves other programs' OTEL_* variables alone: no warning, no error", () => {
    const c = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_LOG_LEVEL: "debug", OTEL_RESOURCE_ATTRIBUTES: "a=b" });
    assert.deepEqual(c.warnings, []);
  });
});
