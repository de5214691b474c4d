import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import { parseDuration, parseDurationRange, parseRate, parseSize } from "../../../src/config/parse.js";

describe("loadConfig", () => {
  it("runs on defaults alone: micronode on 0.0.0.0:8080 with ./data", () => {
    const c = loadConfig({});
    assert.equal(c.profile, "micro");
    assert.equal(c.host, "0.0.0.0");
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, "./data");
    assert.equal(c.amnesia, false);
    assert.equal(c.embedDim, 384);
    assert.deepEqual(c.rateLimit, { rate: 50, burst: 100 });
    assert.deepEqual(c.ipRateLimit, { rate: 200, burst: 400 });
    assert.deepEqual(c.letheDelay, { minMs: 3_600_000, maxMs: 21_600_000 });
    assert.equal(c.bodyLimit, 1024 * 1024);
  });

  it("reports every bad variable at once, by name", () => {
    assert.throws(
      () => loadConfig({ STYX_PORT: "http", STYX_PROFILE: "mega", STYX_RATE_LIMIT: "fast" }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 3);
        assert.match(err.message, /STYX_PORT/);
        assert.match(err.message, /STYX_PROFILE/);
        assert.match(err.message, /STYX_RATE_LIMIT/);
        return true;
      },
    );
  });

  it("takes an upstream as URL and key together, refuses flows without one and the unbuilt NATS transport", () => {
    const refused = (env: Record<string, string>, pattern: RegExp) =>
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
      );
    refused({ STYX_UPSTREAM_URL: "https://styx.example" }, /STYX_UPSTREAM_URL, STYX_UPSTREAM_KEY: set both/);
    refused({ STYX_FEDERATE: "pheromone", STYX_FEDERATE_DOMAINS: "defi" }, /federation needs an upstream/);
    refused({ STYX_UPSTREAM_NATS: "1" }, /not built in this version/);
    const c = loadConfig({
      STYX_UPSTREAM_URL: "https://styx.example",
      STYX_UPSTREAM_KEY: "styx_key",
      STYX_FEDERATE: "pheromone,lethe:down",
      STYX_FEDERATE_DOMAINS: "defi",
    });
    assert.deepEqual(c.federation.upstream, { url: "https://styx.example", key: "styx_key" });
    assert.deepEqual(c.federation.flows.get("lethe"), { up: false, down: true });
    assert.equal(loadConfig({}).federation.upstream, undefined);
  });

  it("never echoes a secret value in an error", () => {
    assert.throws(
      () => loadConfig({ STYX_ADMIN_TOKEN: "short-secret" }),
      (err: Error) => !err.message.includes("short-secret"),
    );
  });

  it("leaves the anonymizer endpoint off unless STYX_ANONYMIZER_URL is an http(s) URL", () => {
    assert.deepEqual(loadConfig({}).anonymizer, { url: undefined, model: undefined, apiKey: undefined, timeoutMs: 10_000 });
    const c = loadConfig({
      STYX_ANONYMIZER_URL: "http://127.0.0.1:11434/v1",
      STYX_ANONYMIZER_MODEL: "llama3.1:8b",
      STYX_ANONYMIZER_API_KEY: "sk-anon-key",
      STYX_ANONYMIZER_TIMEOUT: "2s",
    });
    assert.deepEqual(c.anonymizer, { url: "http://127.0.0.1:11434/v1", model: "llama3.1:8b", apiKey: "sk-anon-key", timeoutMs: 2000 });
    assert.throws(() => loadConfig({ STYX_ANONYMIZER_URL: "ftp://h/v1" }), /STYX_ANONYMIZER_URL/);
    assert.throws(() => loadConfig({ STYX_ANONYMIZER_TIMEOUT: "10m" }), /STYX_ANONYMIZER_TIMEOUT/);
  });

  it("applies file, then environment, then overrides", () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-cfg-"));
    const file = join(dir, "styx.json");
    writeFileSync(file, JSON.stringify({ STYX_PORT: 9000, STYX_HOST: "127.0.0.1", STYX_EMBED_DIM: "768" }));
    const c = loadConfig({ STYX_CONFIG: file, STYX_PORT: "9001" }, { STYX_HOST: "::1" });
    assert.equal(c.port, 9001);
    assert.equal(c.host, "::1");
    assert.equal(c.embedDim, 768);
  });

  it("refuses unknown keys in the config file and warns about unknown STYX_ variables", () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-cfg-"));
    const file = join(dir, "styx.json");
    writeFileSync(file, JSON.stringify({ STYX_PROT: 1 }));
    assert.throws(() => loadConfig({ STYX_CONFIG: file }), /unknown key STYX_PROT/);
    assert.deepEqual(loadConfig({ STYX_PROT: "1" }).warnings, ["STYX_PROT is not a Styx setting and was ignored"]);
  });

  it("refuses config-file keys named like Object.prototype members as unknown", () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-cfg-"));
    for (const key of ["constructor", "toString", "__proto__"]) {
      const file = join(dir, `${key}.json`);
      writeFileSync(file, `{${JSON.stringify(key)}:"1"}`);
      assert.throws(() => loadConfig({ STYX_CONFIG: file }), new RegExp(`unknown key ${key}`), key);
    }
  });

  it("leaves pricing off by default, and with it on reports what is missing at once", () => {
    assert.equal(loadConfig({}).x402, undefined);
    assert.throws(
      () => loadConfig({ STYX_PRICING: "1" }),
      (e: Error) => /STYX_X402_PAY_TO: required/.test(e.message) && /STYX_X402_FACILITATOR_URL: required/.test(e.message),
    );
    const on = { STYX_PRICING: "1", STYX_X402_PAY_TO: `0x${"ab".repeat(20)}`, STYX_X402_FACILITATOR_URL: "https://f.example" };
    const c = loadConfig({ ...on, STYX_PRICES: '{"query": "0.003"}' });
    assert.equal(c.x402?.network.id, "eip155:8453");
    assert.equal(c.x402?.prices.query, 3000);
    assert.equal(c.x402?.maxTimeoutSeconds, 300);
    assert.equal(c.x402?.minValiditySeconds, 120);
    assert.equal(c.x402?.verify, "local");
    assert.throws(() => loadConfig({ ...on, STYX_AMNESIA: "1" }), /STYX_PRICING: .*amnesia/);
    assert.throws(() => loadConfig({ ...on, STYX_X402_NETWORK: "eip155:1" }), /STYX_X402_ASSET/);
    assert.throws(() => loadConfig({ ...on, STYX_X402_PAY_TO: "0x12" }), /STYX_X402_PAY_TO/);
    assert.throws(() => loadConfig({ ...on, STYX_PRICES: '{"nope": "1"}' }), /STYX_PRICES: unknown operation/);
  });

  it("returns a frozen object", () => {
    const c = loadConfig({});
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.rateLimit));
  });
});

describe("instance identity (SPEC §3)", () => {
  it("defaults the public URL to localhost on the port, the chain to Base and leaves the instance id to the secrets", () => {
    const c = loadConfig({ STYX_PORT: "9000" });
    assert.equal(c.publicUrl, "http://localhost:9000");
    assert.equal(c.chainId, 8453);
    assert.equal(c.instanceId, undefined);
  });

  it("keeps STYX_PUBLIC_URL as an origin and refuses one with a path, query, credentials or another scheme", () => {
    assert.equal(loadConfig({ STYX_PUBLIC_URL: "HTTPS://Styx.Example.com:443/" }).publicUrl, "https://styx.example.com");
    assert.equal(loadConfig({ STYX_PUBLIC_URL: "http://10.0.0.5:8080" }).publicUrl, "http://10.0.0.5:8080");
    for (const bad of [
      "https://styx.example.com/api",
      "https://styx.example.com/?x=1",
      "https://u:p@styx.example.com",
      "ftp://styx.example.com",
      "styx",
    ]) {
      assert.throws(() => loadConfig({ STYX_PUBLIC_URL: bad }), /STYX_PUBLIC_URL: must be an http\(s\) origin/, bad);
    }
  });

  it("takes a positive integer chain id and an sx_ + 16 hex instance id", () => {
    const c = loadConfig({ STYX_CHAIN_ID: "1", STYX_INSTANCE_ID: "sx_0123456789abcdef" });
    assert.equal(c.chainId, 1);
    assert.equal(c.instanceId, "sx_0123456789abcdef");
    for (const bad of ["0", "-1", "base", "1.5"]) assert.throws(() => loadConfig({ STYX_CHAIN_ID: bad }), /STYX_CHAIN_ID/, bad);
    for (const bad of ["sx_0123", "sx_0123456789ABCDEF", "0123456789abcdef00", "sx_0123456789abcdefg"]) {
      assert.throws(() => loadConfig({ STYX_INSTANCE_ID: bad }), /STYX_INSTANCE_ID/, bad);
    }
  });
});

describe("bounded settings", () => {
  it("refuse durations a timer cannot hold or that would shed every write", () => {
    assert.throws(() => loadConfig({ STYX_SHUTDOWN_TIMEOUT: "25d" }), /STYX_SHUTDOWN_TIMEOUT/);
    assert.throws(() => loadConfig({ STYX_MAX_EVENT_LOOP_LAG: "0ms" }), /STYX_MAX_EVENT_LOOP_LAG/);
    assert.throws(() => loadConfig({ STYX_SESSION_TTL: "0s" }), /STYX_SESSION_TTL/);
  });

  it("read STYX_TRUST_PROXY as off, a hop count, or trusted addresses — never 'trust anything'", () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ STYX_TRUST_PROXY: "2" }).trustProxy, 2);
    assert.equal(loadConfig({ STYX_TRUST_PROXY: "true" }).trustProxy, 1);
    assert.deepEqual(loadConfig({ STYX_TRUST_PROXY: "10.0.0.0/8, loopback" }).trustProxy, ["10.0.0.0/8", "loopback"]);
    assert.throws(() => loadConfig({ STYX_TRUST_PROXY: "everyone" }), /STYX_TRUST_PROXY/);
  });
});

describe("config value parsers", () => {
  it("parse durations, ranges, sizes and rates", () => {
    assert.equal(parseDuration("250ms"), 250);
    assert.equal(parseDuration("2h"), 7_200_000);
    assert.deepEqual(parseDurationRange("0s-2s"), { minMs: 0, maxMs: 2000 });
    assert.throws(() => parseDurationRange("6h-1h"), /min ≤ max/);
    assert.equal(parseSize("64kb"), 65_536);
    assert.deepEqual(parseRate("120/m:10"), { rate: 2, burst: 10 });
    assert.throws(() => parseRate("0/s:1"));
  });
});
