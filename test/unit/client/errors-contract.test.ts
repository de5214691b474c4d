import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { isRetryable, StyxError, shouldReconnect } from "../../../packages/client/src/index.js";
import { ERRORS_FILE, FRAMES_FILE, generateErrorsSource, generateFramesSource } from "../../../scripts/gen-client.mjs";
import { CLOSE_CODES } from "../../../src/core/platform/close-codes.js";
import { ERROR_TABLE } from "../../../src/core/platform/errors.js";

describe("client ↔ server error tables", () => {
  it("the committed generated/errors.ts equals the one generated from the error and close-code tables", () => {
    const committed = readFileSync(new URL(`../../../${ERRORS_FILE}`, import.meta.url), "utf8");
    assert.ok(
      committed === generateErrorsSource(),
      "src/core/platform/errors.ts or close-codes.ts changed without the client: run `node --import tsx scripts/gen-client.mts`",
    );
  });

  it("the committed generated/frames.ts equals the one generated from the socket protocol's schemas", () => {
    const committed = readFileSync(new URL(`../../../${FRAMES_FILE}`, import.meta.url), "utf8");
    assert.ok(
      committed === generateFramesSource(),
      "src/protocol/frames.ts or fabric.ts changed without the client: run `node --import tsx scripts/gen-client.mts`",
    );
  });

  it("StyxError.retryable agrees with the error table for every code, on HTTP and in a socket's error frame", () => {
    for (const [code, spec] of Object.entries(ERROR_TABLE)) {
      assert.equal(new StyxError(spec.status, code, "").retryable, spec.retryable, `${code} over HTTP`);
      assert.equal(new StyxError(0, code, "").retryable, spec.retryable, `${code} in an error frame`);
    }
  });

  it("the socket's reconnect rule agrees with the close-code table for every code", () => {
    for (const [code, spec] of Object.entries(CLOSE_CODES)) assert.equal(shouldReconnect(Number(code)), spec.reconnect, code);
  });
});

describe("the client's error decisions", () => {
  it("takes the table's word over the status: a corrupt blob's 500 is not retryable, a gone history's 410 is", () => {
    assert.equal(new StyxError(500, "STYX_BLOB_CORRUPT", "").retryable, false);
    assert.equal(new StyxError(500, "STYX_INTERNAL", "").retryable, true);
    assert.equal(new StyxError(410, "STYX_HISTORY_GONE", "").retryable, true);
    assert.equal(new StyxError(408, "STYX_REQUEST_TIMEOUT", "").retryable, true);
  });

  it("retries a code it does not know by its status: 429 and 5xx yes, other 4xx no", () => {
    assert.equal(isRetryable("HTTP_502", 502), true, "a proxy's 502");
    assert.equal(isRetryable("STYX_FROM_A_NEWER_SERVER", 429), true);
    assert.equal(isRetryable("HTTP_404", 404), false);
    assert.equal(isRetryable("STYX_ERROR", 0), false, "an error frame without a known code");
  });

  it("never treats a code as an object key: toString or __proto__ are unknown codes", () => {
    assert.equal(isRetryable("toString", 400), false);
    assert.equal(isRetryable("__proto__", 503), true);
  });

  it("stops after a credential, permission or payment close and reconnects after restart, slow consumer, flood and drops", () => {
    for (const code of [4400, 4401, 4402, 4403]) assert.equal(shouldReconnect(code), false, String(code));
    for (const code of [1000, 1006, 1009, 1011, 1012, 1013, 4008, 4009, 4410, 4429])
      assert.equal(shouldReconnect(code), true, String(code));
  });

  it("reconnects after a close code the table does not know (a newer server's, a proxy's)", () => {
    assert.equal(shouldReconnect(4999), true);
    assert.equal(shouldReconnect(1014), true);
  });
});
