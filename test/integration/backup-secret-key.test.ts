import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { gunzipSync } from "node:zlib";
import { KEY_CHECK_NAME, SECRET_KEY_FILE } from "../../src/app/secret-key.js";
import { golemSourceHash } from "../../src/core/platform/secret-key.js";
import { runCliAsync, storeEnv } from "../../src/testing/spawn.js";
import { microOnly, startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe(
  "STYX_SECRET_KEY in backups (SPEC §3: only when asked)",
  microOnly("the key file of the data dir; a macronode's key is never in the cluster (styx backup --with-secrets refuses it there)"),
  () => {
    let s: TestServer;
    let work: string;
    let keyText: string;
    const golem = "bk-key-golem";
    const restoreInto = async (backupArgs: string[], name: string, restoreEnv: Record<string, string> = {}) => {
      const file = join(work, `${name}.backup`);
      const b = await runCliAsync(["backup", file, ...backupArgs], { env: storeEnv(s.styx.config) });
      assert.equal(b.code, 0, b.stderr);
      const dir = join(work, name);
      const r = await runCliAsync(["restore", file], { env: { ...storeEnv(s.styx.config), STYX_DATA_DIR: dir, ...restoreEnv } });
      assert.equal(r.code, 0, r.stderr);
      return { file, dir, stdout: b.stdout };
    };
    /** The source hash the original stored for the golem's deposit. */
    const storedHash = async (t: TestServer) => (await t.sql("SELECT source_hash FROM pheromones"))[0]?.source_hash as string;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), "styx-backup-key-"));
      s = await startTestServer({ persistent: true });
      const u = await s.user();
      await s.golem(u.key, { id: golem });
      const dep = await s.request("POST", "/v1/styx/pheromone/deposit", {
        token: u.key,
        body: { golem_id: golem, layer: "threat", class: "cascade", intensity: 0.6, domain: "defi", regime: "bear" },
      });
      assert.equal(dep.status, 201, dep.text);
      keyText = readFileSync(join(s.dataDir as string, SECRET_KEY_FILE), "utf8").trim();
    });
    after(async () => {
      await s?.close();
      rmSync(work, { recursive: true, force: true });
    });

    it("generated the key into the data dir and hashes sources with it", async () => {
      assert.equal(s.styx.secretKey.source, "generated");
      assert.equal(await storedHash(s), golemSourceHash(s.styx.secretKey.key, golem));
    });

    it("leaves the key out by default: the restore and the restored server need it, and the store verifies under it", async () => {
      const { file, dir, stdout } = await restoreInto([], "plain", { STYX_SECRET_KEY: keyText });
      const keyless = await runCliAsync(["restore", file], { env: { ...storeEnv(s.styx.config), STYX_DATA_DIR: join(work, "keyless") } });
      assert.equal(keyless.code, 1, "the restore's audit record needs the key");
      assert.match(keyless.stderr, /holds no STYX_SECRET_KEY/);
      const verify = (env: Record<string, string>) =>
        runCliAsync(["audit", "verify"], { env: { ...storeEnv(s.styx.config), STYX_DATA_DIR: dir, ...env } });
      const unkeyed = await verify({});
      assert.equal(unkeyed.code, 1);
      assert.match(unkeyed.stderr, /STYX_SECRET_KEY: not set, and there is no .*secret-key/);
      const verified = await verify({ STYX_SECRET_KEY: keyText });
      assert.equal(verified.code, 0, verified.stderr);
      assert.match(stdout, /STYX_SECRET_KEY is not in the backup/);
      assert.equal(gunzipSync(readFileSync(file)).indexOf(keyText), -1, "the key's text is nowhere in the backup");
      assert.equal(existsSync(join(dir, SECRET_KEY_FILE)), false);
      assert.equal(existsSync(join(dir, KEY_CHECK_NAME)), true, "the key's check value is restored");

      await assert.rejects(startTestServer({ dataDir: dir }), /STYX_SECRET_KEY: not the key this store was written with/);
      assert.equal(existsSync(join(dir, SECRET_KEY_FILE)), false, "the key generated for the refused start is not left behind");

      const t = await startTestServer({ dataDir: dir, env: { STYX_SECRET_KEY: keyText } });
      try {
        assert.equal(t.styx.secretKey.source, "config");
        assert.equal(await storedHash(t), golemSourceHash(t.styx.secretKey.key, golem), "the restored hashes are the key's");
      } finally {
        await t.close();
      }
    });

    it("carries the key with --with-secrets: the restored server starts with it as it was", async () => {
      const { dir } = await restoreInto(["--with-secrets"], "with-secrets");
      assert.equal(readFileSync(join(dir, SECRET_KEY_FILE), "utf8").trim(), keyText);
      const t = await startTestServer({ dataDir: dir });
      try {
        assert.equal(t.styx.secretKey.source, "stored");
        assert.equal(await storedHash(t), golemSourceHash(t.styx.secretKey.key, golem));
      } finally {
        await t.close();
      }
    });

    it("refuses a server started with another key than the store's", async () => {
      const other = Buffer.alloc(32, 1).toString("base64");
      const dir = mkdtempSync(join(work, "other-"));
      const first = await startTestServer({ dataDir: dir, env: { STYX_SECRET_KEY: keyText } });
      await first.close();
      await assert.rejects(startTestServer({ dataDir: dir, env: { STYX_SECRET_KEY: other } }), /not the key this store was written with/);
    });
  },
);
