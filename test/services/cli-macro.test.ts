import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { POSTGRES_SCHEMA_VERSION } from "../../src/adapters/postgres/database.js";
import { testCluster } from "../../src/testing/gateways.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { macroEnv, SERVICES } from "../../src/testing/services.js";
import { runCliAsync, spawnServer } from "../../src/testing/spawn.js";

const ADMIN = "cli-macro-admin-token-0123456789";

describe("styx migrate, doctor, serve and audit verify on a macronode", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let env: Record<string, string>;

  before(async () => {
    s3 = await startS3Server();
    env = { ...(macroEnv(cluster.name, s3) as Record<string, string>), STYX_ADMIN_TOKEN: ADMIN };
  });

  after(async () => {
    await s3?.close();
    await cluster.drop();
  });

  it("migrates the cluster's schema once, then reports it up to date", async () => {
    const first = await runCliAsync(["migrate"], { env });
    assert.equal(first.code, 0, first.stderr);
    const all = Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1).join(", ");
    assert.match(
      first.stdout,
      new RegExp(`applied migrations ${all} to schema ${cluster.name}; schema version ${POSTGRES_SCHEMA_VERSION}`),
    );
    const again = await runCliAsync(["migrate"], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`up to date \\(version ${POSTGRES_SCHEMA_VERSION}\\)`));
  });

  it("doctor reports each service and the schema", async () => {
    const r = await runCliAsync(["doctor"], { env });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    for (const line of [
      /OK\s+postgres\s+postgres:\/\/127\.0\.0\.1:5432\/test: PostgreSQL 1\d/,
      new RegExp(`OK\\s+schema\\s+${cluster.name} at version ${POSTGRES_SCHEMA_VERSION}`),
      /OK\s+nats\s+nats:\/\/127\.0\.0\.1:4222: JetStream on/,
      /OK\s+redis\s+redis:\/\/127\.0\.0\.1:6379: PING/,
      /OK\s+s3\s+http:\/\/127\.0\.0\.1:\d+ bucket styx-test reachable/,
    ]) {
      assert.match(r.stdout, line);
    }
    assert.doesNotMatch(r.stdout, /S3RVER/, "no credential in the report");
  });

  it("refuses to run without STYX_SECRET_KEY, naming it, and backs up without it (--with-secrets is refused)", async () => {
    const { STYX_SECRET_KEY: _, ...keyless } = env;
    for (const args of [["migrate"], ["serve"]]) {
      const r = await runCliAsync(args, { env: keyless });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /STYX_SECRET_KEY: required when STYX_PROFILE=macro/);
    }
    const r = await runCliAsync(["backup", "/tmp/never-written.backup", "--with-secrets"], { env });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--with-secrets: a macronode's STYX_SECRET_KEY lives in the gateways' environment/);
  });

  it("doctor fails naming a service that is unreachable", async () => {
    const r = await runCliAsync(["doctor"], { env: { ...env, STYX_REDIS_URL: "redis://127.0.0.1:1" } });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAIL\s+redis\s+redis:\/\/127\.0\.0\.1:1/);
  });

  it("serves ready, honours a CLI revocation at once, then audit verify passes on its log and names an edited record", async () => {
    const server = await spawnServer(["--profile", "macro"], { env: { PATH: process.env.PATH ?? "", ...env } });
    try {
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
      for (const id of ["ann", "bob"]) {
        const u = await fetch(`${server.url}/v1/admin/users`, {
          method: "POST",
          headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
          body: JSON.stringify({ id }),
        });
        assert.equal(u.status, 201);
      }
      // A key made and revoked offline by the CLI: the gateway, which cached it, refuses it at once.
      const made = await runCliAsync(["keys", "create", "--user", "ann", "--name", "cli"], { env });
      assert.equal(made.code, 0, made.stderr);
      const { id: keyId, key: secret } = JSON.parse(made.stdout);
      const me = () => fetch(`${server.url}/v1/styx/me`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);
      assert.equal(await me(), 200);
      assert.equal((await runCliAsync(["keys", "revoke", keyId], { env })).code, 0);
      let status = await me();
      for (const until = Date.now() + 1000; status === 200 && Date.now() < until; ) status = await me();
      assert.equal(status, 401, "the gateway still accepted a key the CLI revoked, 1 s later");
    } finally {
      server.proc.kill("SIGTERM");
      await server.exited;
    }
    const intact = await runCliAsync(["audit", "verify"], { env });
    assert.equal(intact.code, 0, intact.stderr);
    // The revoked key's refusal is a failed authentication: audited (auth.failed) when the gateway shut down.
    assert.match(intact.stdout, /intact: 5 records/, "two users, a key made, a key revoked, one failed authentication");

    const sql = postgres(SERVICES.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await sql`UPDATE ${sql(cluster.name)}.audit_log SET actor = 'user:mallory' WHERE seq = 1`;
      const altered = await runCliAsync(["audit", "verify"], { env });
      assert.equal(altered.code, 1);
      assert.match(altered.stderr, /BROKEN at record 1: record 1 was altered/);
    } finally {
      await sql.end();
    }
  });
});
