import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeLine, retryAfter, upstreamUrl } from "../../../src/adapters/http/upstream-http.js";
import { failureOf } from "../../../src/core/federation/upstream-transport.js";

const record = {
  origin: "sx_00000000000000aa",
  id: "p1",
  domain: "defi",
  at: "2026-01-01T00:00:00.000Z",
  kind: "pheromone",
  pheromone: { layer: "threat", class: "rug", intensity: 0.5, regime: "bull", source: "0123456789abcdef01234567" },
};

describe("snapshot lines", () => {
  it("reads a record, the position, and names what is neither", () => {
    const r = decodeLine(JSON.stringify(record));
    assert.equal(r.type, "record");
    assert.equal(r.type === "record" && r.record.at, Date.UTC(2026, 0, 1));
    assert.deepEqual(decodeLine('{"position":{"epoch":"e1","seq":7}}'), { type: "position", position: { epoch: "e1", seq: 7 } });
    assert.equal(decodeLine("{not json").type, "invalid");
    assert.equal(decodeLine(JSON.stringify({ ...record, user_id: "alice" })).type, "invalid", "unknown fields are refused");
  });

  it("refuses a position line that is not one (the snapshot is not trusted whole)", () => {
    assert.throws(() => decodeLine('{"position":{"epoch":"e1"}}'), /position line/);
  });
});

describe("talking to the upstream", () => {
  it("keeps a path prefix of the upstream's URL", () => {
    assert.equal(
      upstreamUrl("https://styx.example/eco/", "/v1/styx/federation/hello"),
      "https://styx.example/eco/v1/styx/federation/hello",
    );
  });

  it("reads Retry-After as seconds or a date, at most an hour", () => {
    assert.equal(retryAfter("5"), 5000);
    assert.equal(retryAfter(new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2026, 0, 1)), 30_000);
    assert.equal(retryAfter("999999"), 3_600_000);
    assert.equal(retryAfter("soon"), undefined);
    assert.equal(retryAfter(null), undefined);
  });

  it("classifies refusals apart from failures worth retrying", () => {
    assert.equal(failureOf(401, "STYX_UNAUTHORIZED"), "refused");
    assert.equal(failureOf(403, "STYX_FORBIDDEN"), "refused");
    assert.equal(failureOf(409, "STYX_FEDERATION_LOOP"), "refused");
    assert.equal(failureOf(409, "STYX_FEDERATION_NOT_LINKED"), "not_linked");
    assert.equal(failureOf(429, "STYX_RATE_LIMITED"), "throttled");
    assert.equal(failureOf(402, "STYX_CREDIT_EXHAUSTED"), "throttled", "a priced upstream's paused down-flow");
    assert.equal(failureOf(503, undefined), "unavailable");
    assert.equal(failureOf(413, "STYX_PAYLOAD_TOO_LARGE"), "too_large");
  });
});
