import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileSecrets } from "../../../src/app/secrets.js";
import { INSTANCE_ID_NAME, resolveSigning } from "../../../src/app/signing.js";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import { INSTANCE_ID_PATTERN } from "../../../src/core/platform/instance-id.js";

describe("resolveSigning", () => {
  it("generates the instance id once into the data dir, reads it back, and lets STYX_INSTANCE_ID win", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-signing-"));
    const config = loadConfig({ STYX_DATA_DIR: dir });
    const first = await resolveSigning(config, fileSecrets(dir));
    assert.match(first.instanceId, INSTANCE_ID_PATTERN);
    assert.equal(readFileSync(join(dir, INSTANCE_ID_NAME), "utf8").trim(), first.instanceId);
    assert.equal(statSync(join(dir, INSTANCE_ID_NAME)).mode & 0o777, 0o600);
    assert.equal((await resolveSigning(config, fileSecrets(dir))).instanceId, first.instanceId, "kept across restarts");
    const pinned = await resolveSigning(loadConfig({ STYX_DATA_DIR: dir, STYX_INSTANCE_ID: "sx_0123456789abcdef" }), fileSecrets(dir));
    assert.equal(pinned.instanceId, "sx_0123456789abcdef");
    assert.deepEqual(pinned.bloodstain, { chainId: 8453, instanceId: "sx_0123456789abcdef" });
  });

  it("derives the sign-in site from STYX_PUBLIC_URL and STYX_CHAIN_ID", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-signing-"));
    const https = await resolveSigning(loadConfig({ STYX_PUBLIC_URL: "https://styx.example.com", STYX_CHAIN_ID: "10" }), fileSecrets(dir));
    assert.deepEqual(https.site, { domain: "styx.example.com", scheme: undefined, uri: "https://styx.example.com", chainId: 10 });
    const local = await resolveSigning(loadConfig({ STYX_PORT: "9000" }), fileSecrets(dir));
    assert.deepEqual(local.site, { domain: "localhost:9000", scheme: "http", uri: "http://localhost:9000", chainId: 8453 });
  });

  it("refuses at boot a public URL whose host cannot be an EIP-4361 domain, by name", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-signing-"));
    await assert.rejects(resolveSigning(loadConfig({ STYX_PUBLIC_URL: "http://styx:8080" }), fileSecrets(dir)), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /STYX_PUBLIC_URL: http:\/\/styx:8080 cannot be the domain/);
      return true;
    });
  });
});
