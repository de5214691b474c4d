import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { forgetLegacySalt, LEGACY_SALT_NAME, resolveSecretKey, SECRET_KEY_FILE } from "../../../src/app/secret-key.js";
import { fileSecrets, memorySecrets } from "../../../src/app/secrets.js";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import type { SecretStore } from "../../../src/core/platform/secret-store.js";

const KEY = Buffer.alloc(32, 9).toString("base64");
const MACRO = {
  STYX_PROFILE: "macro",
  STYX_DATABASE_URL: "postgres://db/styx",
  STYX_NATS_URL: "nats://nats:4222",
  STYX_REDIS_URL: "redis://redis:6379",
  STYX_S3_BUCKET: "styx",
};
/** A secret store that must not be asked (a macronode's is its database). */
const untouchable: SecretStore = {
  loadOrCreate: () => Promise.reject(new Error("the secret key was looked up in the secret store")),
  where: () => "nowhere",
};

describe("STYX_SECRET_KEY in the configuration", () => {
  it("is base64 of at least 32 bytes; a bad one is named and never echoed", () => {
    assert.equal(loadConfig({ STYX_SECRET_KEY: KEY }).secretKey, KEY);
    for (const bad of [Buffer.alloc(16, 1).toString("base64"), "not*base64*text*here*at*all*not*base64*text*here"]) {
      assert.throws(
        () => loadConfig({ STYX_SECRET_KEY: bad }),
        (err: unknown) => err instanceof ConfigError && /STYX_SECRET_KEY/.test(err.message) && !err.message.includes(bad),
      );
    }
  });

  it("is optional on a micronode and required on a macronode, by name", () => {
    assert.equal(loadConfig({}).secretKey, undefined);
    assert.throws(
      () => loadConfig(MACRO),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.problems.length === 1 &&
        /^STYX_SECRET_KEY: required when STYX_PROFILE=macro/.test(err.problems[0] ?? ""),
    );
    assert.equal(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }).profile, "macro");
  });
});

describe("resolveSecretKey", () => {
  it("takes the configured key without touching the secret store (a macronode's store is its database)", async () => {
    const r = await resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), untouchable);
    assert.equal(r.source, "config");
    assert.equal(r.key.bytes.length, 32);
  });

  it("generates a micronode's key once into a 0600 file in the data dir, then reads it back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-key-"));
    const config = loadConfig({ STYX_DATA_DIR: dir });
    const first = await resolveSecretKey(config, fileSecrets(dir));
    assert.equal(first.source, "generated");
    assert.equal(first.location, join(dir, SECRET_KEY_FILE));
    assert.equal(statSync(join(dir, SECRET_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(Buffer.from(readFileSync(join(dir, SECRET_KEY_FILE), "utf8").trim(), "base64").length, 32);
    const again = await resolveSecretKey(config, fileSecrets(dir));
    assert.equal(again.source, "stored");
    assert.deepEqual(again.key.bytes, first.key.bytes);
  });

  it("keeps an amnesia node's key in memory for the run", async () => {
    const config = loadConfig({ STYX_AMNESIA: "1" });
    const store = memorySecrets();
    const r = await resolveSecretKey(config, store);
    assert.equal(r.source, "ephemeral");
    assert.deepEqual((await resolveSecretKey(config, store)).key.bytes, r.key.bytes);
  });

  it("deletes a micronode's old lethe-salt file", () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-key-"));
    writeFileSync(join(dir, LEGACY_SALT_NAME), "old salt\n", { mode: 0o600 });
    forgetLegacySalt(loadConfig({ STYX_DATA_DIR: dir }));
    assert.equal(existsSync(join(dir, LEGACY_SALT_NAME)), false);
    forgetLegacySalt(loadConfig({ STYX_DATA_DIR: dir }));
  });
});
