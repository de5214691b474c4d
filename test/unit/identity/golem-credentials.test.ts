import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryAuditLog } from "../../../src/adapters/memory/memory-audit-log.js";
import { isGolemCredential, type Principal } from "../../../src/core/identity/principal.js";
import { Tenancy } from "../../../src/core/identity/tenancy.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { StyxError } from "../../../src/core/platform/errors.js";
import { TEST_SECRET_KEY } from "../../../src/testing/core-kit.js";

await initCrypto();

const golem = (id: string, userId: string) => ({ id, userId }) as Golem;
const GOLEMS = new Map([
  ["g1", golem("g1", "u1")],
  ["g2", golem("g2", "u1")],
  ["x1", golem("x1", "u2")],
]);
const user = (golemId: string | null, via: "api_key" | "session" = "api_key"): Principal => ({
  kind: "user",
  userId: "u1",
  credentialId: `${via}-${golemId}`,
  via,
  golemId,
  expiresAt: null,
  scopes: ["read", "write"],
});
const OWNER = user(null);
const KEY_G1 = user("g1");
const SESSION_G1 = user("g1", "session");
const CTX = { requestId: "r1" };

function setup() {
  const audit = new MemoryAuditLog(new ManualClock(0), TEST_SECRET_KEY);
  const tenancy = new Tenancy({
    identity: { getGolem: async (id) => GOLEMS.get(id), getSession: async () => undefined, markGolemAlive: async () => {} },
    audit,
  });
  const denied = async () => (await audit.list(0, 100)).filter((a) => a.action === "tenancy.denied").map((a) => a.target);
  return { tenancy, denied };
}

const code = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === "function" ? p() : p);
    return "ok";
  } catch (err) {
    return err instanceof StyxError ? err.code : String(err);
  }
};

describe("Tenancy and golem credentials (SPEC §3)", () => {
  it("counts a golem-bound key and a golem's wallet session as golem credentials, an owner key and the admin token not", () => {
    assert.deepEqual([KEY_G1, SESSION_G1, OWNER, { kind: "admin" } as Principal, undefined].map(isGolemCredential), [
      true,
      true,
      false,
      false,
      false,
    ]);
  });

  it("refuses golem credentials the owner's views and actions with 403, unaudited", async () => {
    const { tenancy, denied } = setup();
    assert.deepEqual(await Promise.all([KEY_G1, SESSION_G1, OWNER].map((p) => code(() => tenancy.ownerOnly(p)))), [
      "STYX_AUTH_FORBIDDEN",
      "STYX_AUTH_FORBIDDEN",
      "ok",
    ]);
    assert.deepEqual(await denied(), []);
  });

  it("lets only owner credentials follow a user stream; a golem credential's try is an audited 404", async () => {
    const { tenancy, denied } = setup();
    assert.equal(await code(tenancy.userStream(OWNER, "u1", CTX)), "ok");
    assert.equal(await code(tenancy.userStream(KEY_G1, "u1", CTX)), "STYX_NOT_FOUND");
    assert.equal(await code(tenancy.userStream(SESSION_G1, "u1", CTX)), "STYX_NOT_FOUND");
    assert.equal(await code(tenancy.userStream(OWNER, "u2", CTX)), "STYX_NOT_FOUND");
    assert.deepEqual(await denied(), ["user:u1", "user:u1", "user:u2"]);
  });

  it("gives a golem credential its own golem only: a sibling answers an audited 404, as another user's golem does", async () => {
    const { tenancy, denied } = setup();
    for (const p of [KEY_G1, SESSION_G1]) {
      assert.equal((await tenancy.golem(p, "g1", CTX)).id, "g1");
      assert.equal(await code(tenancy.golem(p, "g2", CTX)), "STYX_NOT_FOUND");
      assert.equal(await code(tenancy.golem(p, "x1", CTX)), "STYX_NOT_FOUND");
    }
    assert.equal((await tenancy.golem(OWNER, "g2", CTX)).id, "g2");
    assert.deepEqual(await denied(), ["golem:g2", "golem:x1", "golem:g2", "golem:x1"]);
  });
});
