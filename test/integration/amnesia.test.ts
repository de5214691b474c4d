import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { spawnServer } from "../../src/testing/spawn.js";

/** Every file and folder under `dir`, recursively. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" });
}

describe("styx serve --amnesia", () => {
  const root = mkdtempSync(join(tmpdir(), "styx-amnesia-"));
  const dirs = { cwd: join(root, "cwd"), home: join(root, "home"), tmp: join(root, "tmp") };
  after(() => rmSync(root, { recursive: true, force: true }));

  it("serves users, keys, golems and audit records and leaves cwd, HOME and TMPDIR empty", async () => {
    for (const d of Object.values(dirs)) mkdirSync(d);
    const server = await spawnServer(["--amnesia"], {
      cwd: dirs.cwd,
      env: { HOME: dirs.home, TMPDIR: dirs.tmp, TMP: dirs.tmp, TEMP: dirs.tmp },
    });
    try {
      const admin = server.printedAdminToken;
      assert.ok(admin, `no admin token printed:\n${server.output()}`);
      const call = async (method: string, path: string, token: string, body?: unknown) => {
        const r = await fetch(server.url + path, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
        return { status: r.status, json: (await r.json()) as any };
      };
      const health = await call("GET", "/v1/styx/health", admin);
      assert.equal(health.json.amnesia, true);
      for (let i = 0; i < 5; i++) {
        assert.equal((await call("POST", "/v1/admin/users", admin, { id: `am${i}` })).status, 201);
        const key = await call("POST", `/v1/admin/users/am${i}/keys`, admin, { name: "k" });
        assert.equal(key.status, 201);
        assert.equal((await call("POST", "/v1/styx/golems", key.json.key, { id: `am${i}-g` })).status, 201);
        assert.equal((await call("GET", `/v1/styx/golems/am${(i + 1) % 5}-g`, key.json.key)).status, 404); // audited denial
        assert.equal((await call("DELETE", `/v1/admin/keys/${key.json.id}`, admin)).status, 200);
      }
      const audit = await call("GET", "/v1/admin/audit?limit=1000", admin);
      const actions = new Set(audit.json.records.map((r: { action: string }) => r.action));
      for (const a of ["user.create", "key.create", "golem.create", "tenancy.denied", "key.revoke"]) assert.ok(actions.has(a), a);
      assert.equal((await call("GET", "/v1/admin/audit/verify", admin)).json.ok, true);
    } finally {
      server.proc.kill("SIGTERM");
      assert.equal(await server.exited, 0);
    }
    assert.deepEqual(tree(dirs.cwd), [], "cwd");
    assert.deepEqual(tree(dirs.home), [], "HOME");
    assert.deepEqual(tree(dirs.tmp), [], "TMPDIR");
  });
});
