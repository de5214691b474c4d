import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import type { Principal } from "../../../src/core/identity/principal.js";
import { Tenancy } from "../../../src/core/identity/tenancy.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { golemFixture, userFixture } from "../../../src/testing/contracts/identity-store.contract.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

before(() => initCrypto());

function user(userId: string, golemId: string | null = null): Principal {
  return { kind: "user", userId, credentialId: "k1", via: "api_key", golemId, scopes: ["read"], expiresAt: null };
}

async function setup() {
  const identity = new SqliteIdentityStore(openDatabase(":memory:"));
  const audit = new MemoryAuditLog(new ManualClock(), TEST_SECRET_KEY);
  for (const u of ["u1", "u2"]) await identity.createUser(userFixture(u));
  await identity.createGolem(golemFixture("g1", "u1"));
  await identity.createGolem(golemFixture("g2", "u1"));
  await identity.createGolem(golemFixture("g9", "u2"));
  return { audit, tenancy: new Tenancy({ identity, audit }) };
}

describe("Tenancy", () => {
  it("lets a user act on itself and its own golems", async () => {
    const { tenancy, audit } = await setup();
    await tenancy.user(user("u1"), "u1", {});
    assert.equal((await tenancy.golem(user("u1"), "g2", {})).id, "g2");
    assert.equal((await tenancy.golem(user("u1", "g1"), "g1", {})).userId, "u1", "a golem-bound key, its own golem");
    assert.deepEqual(await audit.list(0, 10), []);
  });

  it("answers 404 for another user, another user's golem, a sibling of a golem-bound key, an unknown golem, and audits each", async () => {
    const { tenancy, audit } = await setup();
    const ctx = { requestId: "req-7", ip: "198.51.100.4" };
    await assert.rejects(tenancy.user(user("u1"), "u2", ctx), { code: "STYX_NOT_FOUND" });
    await assert.rejects(tenancy.golem(user("u1"), "g9", ctx), { code: "STYX_NOT_FOUND" });
    await assert.rejects(tenancy.golem(user("u1", "g1"), "g2", ctx), { code: "STYX_NOT_FOUND" });
    await assert.rejects(tenancy.golem(user("u1"), "g404", ctx), { code: "STYX_NOT_FOUND" });
    await assert.rejects(tenancy.golem({ kind: "admin" }, "g1", ctx), { code: "STYX_NOT_FOUND" });
    assert.deepEqual(
      (await audit.list(0, 10)).map((r) => [r.actor, r.action, r.target, r.requestId, r.ip]),
      [
        ["user:u1", "tenancy.denied", "user:u2", "req-7", "198.51.100.4"],
        ["user:u1", "tenancy.denied", "golem:g9", "req-7", "198.51.100.4"],
        ["user:u1", "tenancy.denied", "golem:g2", "req-7", "198.51.100.4"],
        ["user:u1", "tenancy.denied", "golem:g404", "req-7", "198.51.100.4"],
        ["admin", "tenancy.denied", "golem:g1", "req-7", "198.51.100.4"],
      ],
      "another's golem and a missing one are told apart only in the audit log",
    );
  });
});
