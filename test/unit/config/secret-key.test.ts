import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import {
  forgetLegacySalt,
  KEY_CHECK_NAME,
  LEGACY_SALT_NAME,
  readSecretKey,
  resolveSecretKey,
  SECRET_KEY_FILE,
} from "../../../src/app/secret-key.js";
import { fileSecrets, memorySecrets } from "../../../src/app/secrets.js";
import { ConfigError, loadConfig } from "../../../src/config/load.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import type { SecretStore } from "../../../src/core/platform/secret-store.js";

const KEY = Buffer.alloc(32, 9).toString("base64");
const MACRO = {
  STYX_PROFILE: "macro",
  STYX_DATABASE_URL: "postgres://db/styx",
  STYX_NATS_URL: "nats://nats:4222",
  STYX_REDIS_URL: "redis://redis:6379",
  STYX_S3_BUCKET: "styx",
};
/** A macronode's secret store (its database, in memory here), recording what it holds. */
function databaseSecrets(): SecretStore & { held: Map<string, string> } {
  const held = new Map<string, string>();
  return {
    held,
    async loadOrCreate(name, make) {
      const known = held.get(name);
      if (known !== undefined) return { value: known, created: false };
      held.set(name, make());
      return { value: held.get(name) as string, created: true };
    },
    load: async (name) => held.get(name),
    where: (name) => `PostgreSQL styx.server_secrets (${name})`,
  };
}

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
  before(initCrypto);

  it("takes the configured key; a macronode's database gets only the key's check value, never the key", async () => {
    const db = databaseSecrets();
    const r = await resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), db);
    assert.equal(r.source, "config");
    assert.equal(r.key.bytes.length, 32);
    assert.deepEqual([...db.held.keys()], [KEY_CHECK_NAME]);
    const check = db.held.get(KEY_CHECK_NAME) as string;
    assert.match(check, /^[0-9a-f]{24}$/);
    assert.ok(!check.includes(Buffer.from(r.key.bytes).toString("hex").slice(0, 8)));
  });

  it("refuses a gateway whose key differs from the one the store was written with, naming the way out", async () => {
    const db = databaseSecrets();
    await resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), db);
    await resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), db);
    await assert.rejects(
      resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: Buffer.alloc(32, 8).toString("base64") }), db),
      (err: unknown) =>
        err instanceof ConfigError &&
        /^STYX_SECRET_KEY: not the key this store was written with/.test(err.problems[0] ?? "") &&
        /delete secret-key-check/.test(err.message),
    );
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

describe("readSecretKey (read-only tools: styx audit verify)", () => {
  before(initCrypto);

  it("finds a micronode's key in its data dir and creates nothing when there is none", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-key-"));
    const config = loadConfig({ STYX_DATA_DIR: dir });
    await assert.rejects(readSecretKey(config, fileSecrets(dir)), (err: unknown) => {
      return err instanceof ConfigError && /STYX_SECRET_KEY: not set, and there is no .*secret-key/.test(err.message);
    });
    assert.equal(existsSync(join(dir, SECRET_KEY_FILE)), false, "no key generated");
    assert.equal(existsSync(join(dir, KEY_CHECK_NAME)), false, "no check value recorded");
    const written = await resolveSecretKey(config, fileSecrets(dir));
    const read = await readSecretKey(config, fileSecrets(dir));
    assert.equal(read.source, "stored");
    assert.deepEqual(read.key.bytes, written.key.bytes);
  });

  it("refuses another key than the one the store's check value names", async () => {
    const db = databaseSecrets();
    await resolveSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), db);
    assert.equal((await readSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: KEY }), db)).source, "config");
    await assert.rejects(
      readSecretKey(loadConfig({ ...MACRO, STYX_SECRET_KEY: Buffer.alloc(32, 8).toString("base64") }), db),
      /not the key this store was written with/,
    );
  });
});
