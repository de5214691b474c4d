import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AUTH_FAILED, type AuthFailure, AuthFailureTally, authFailureReason } from "../../../src/core/platform/auth-failures.js";
import { ERROR_TABLE } from "../../../src/core/platform/errors.js";

const T0 = Date.UTC(2026, 0, 1, 10, 0, 0);
const MIN = 60_000;
const fail = (ip: string, reason: AuthFailure["reason"] = "invalid", transport: AuthFailure["transport"] = "http"): AuthFailure => ({
  ip,
  reason,
  transport,
});

describe("authFailureReason", () => {
  it("names each refused credential, admin-token guesses apart, and ignores errors that are no failed authentication", () => {
    assert.equal(authFailureReason("STYX_AUTH_REQUIRED"), "missing");
    assert.equal(authFailureReason("STYX_AUTH_INVALID_KEY"), "invalid");
    assert.equal(authFailureReason("STYX_AUTH_INVALID_KEY", "admin"), "admin_token");
    assert.equal(authFailureReason("STYX_AUTH_FORBIDDEN", "admin"), "not_admin");
    for (const code of [
      "STYX_AUTH_INVALID_SIGNATURE",
      "STYX_AUTH_INVALID_CHALLENGE",
      "STYX_AUTH_UNKNOWN_WALLET",
      "STYX_AUTH_SIWE_REQUIRED",
    ])
      assert.equal(authFailureReason(code), "wallet", code);
    assert.equal(authFailureReason("STYX_AUTH_FORBIDDEN"), undefined, "a scope a valid key lacks");
    for (const code of ["STYX_DEPENDENCY_UNAVAILABLE", "STYX_INTERNAL", "STYX_RATE_LIMITED", "STYX_NOT_FOUND", "STYX_BAD_REQUEST"])
      assert.equal(authFailureReason(code, "admin"), undefined, code);
  });

  it("counts a dead golem's wallet signing in, never a dead golem's act", () => {
    assert.equal(authFailureReason("STYX_GOLEM_DEAD", "sign_in"), "wallet");
    assert.equal(authFailureReason("STYX_GOLEM_DEAD"), undefined);
    assert.equal(authFailureReason("STYX_GOLEM_DEAD", "admin"), undefined);
  });

  it("has a reason for every STYX_AUTH_* code of the error table", () => {
    const attempts = ["admin", "sign_in", "other"] as const;
    for (const code of Object.keys(ERROR_TABLE).filter((c) => c.startsWith("STYX_AUTH_")))
      assert.ok(
        attempts.some((a) => authFailureReason(code, a) !== undefined),
        `${code} is an authentication error no attempt counts: map it in authFailureReason`,
      );
  });
});

describe("AuthFailureTally", () => {
  it("gives one record per address and minute, once the minute is over", () => {
    const tally = new AuthFailureTally({ maxAddresses: 100 });
    for (let i = 0; i < 500; i++) tally.note(fail("10.0.0.1", i % 5 ? "invalid" : "admin_token"), T0 + (i % 60) * 1000);
    tally.note(fail("10.0.0.2", "missing", "ws"), T0 + 59_999);
    tally.note(fail("10.0.0.1"), T0 + MIN);
    assert.deepEqual(tally.takeEnded(T0 + MIN - 1), [], "the minute is not over");
    assert.deepEqual(tally.takeEnded(T0 + MIN + 30_000), [
      {
        actor: "anonymous",
        action: AUTH_FAILED,
        target: "",
        ip: "10.0.0.1",
        details: { minute: "2026-01-01T10:00:00.000Z", count: 500, reasons: { invalid: 400, admin_token: 100 }, transports: { http: 500 } },
      },
      {
        actor: "anonymous",
        action: AUTH_FAILED,
        target: "",
        ip: "10.0.0.2",
        details: { minute: "2026-01-01T10:00:00.000Z", count: 1, reasons: { missing: 1 }, transports: { ws: 1 } },
      },
    ]);
    assert.deepEqual(tally.takeEnded(T0 + MIN + 30_000), [], "taken once");
    const next = tally.takeEnded(T0 + 2 * MIN);
    assert.equal(next.length, 1);
    assert.deepEqual(next[0]?.details, { minute: "2026-01-01T10:01:00.000Z", count: 1, reasons: { invalid: 1 }, transports: { http: 1 } });
    assert.equal(tally.openMinutes, 0);
  });

  it("bounds a minute's records whatever the number of addresses: the rest share one overflow record", () => {
    const tally = new AuthFailureTally({ maxAddresses: 3 });
    for (let i = 0; i < 10_000; i++) tally.note(fail(`2001:db8::${i.toString(16)}`), T0 + (i % 60_000));
    tally.note(fail("2001:db8::1"), T0 + 1);
    const records = tally.takeEnded(T0 + MIN);
    assert.equal(records.length, 4);
    assert.deepEqual(
      records.map((r) => [r.ip, (r.details as { count: number }).count]),
      [
        ["2001:db8::0", 1],
        ["2001:db8::1", 2],
        ["2001:db8::2", 1],
        [undefined, 9_997],
      ],
    );
    assert.equal((records[3]?.details as { overflow?: boolean } | undefined)?.overflow, true);
  });

  it("hands every window over at shutdown, the current minute's included", () => {
    const tally = new AuthFailureTally({ maxAddresses: 10 });
    tally.note(fail("10.0.0.1"), T0);
    tally.note(fail("10.0.0.1"), T0 + MIN + 1);
    assert.deepEqual(
      tally.takeAll().map((r) => (r.details as { minute: string }).minute),
      ["2026-01-01T10:00:00.000Z", "2026-01-01T10:01:00.000Z"],
    );
    assert.deepEqual(tally.takeAll(), []);
  });
});
