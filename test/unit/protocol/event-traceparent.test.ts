import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ClientFrameDecoder } from "../../../src/protocol/frames.js";

const decoder = new ClientFrameDecoder();
const event = (extra: Record<string, unknown>) =>
  decoder.decode(Buffer.from(JSON.stringify({ type: "event", golem_id: "g1", event: { type: "golem:tick" }, ...extra })), false);

describe("a socket event's optional traceparent (SPEC §9)", () => {
  it("is accepted as a W3C version-00 traceparent, and the event without one too", () => {
    const ok = event({ traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    assert.equal(ok.ok, true);
    assert.equal(ok.ok && ok.msg.type === "event" && ok.msg.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert.equal(event({}).ok, true);
  });

  it("refuses anything else with STYX_VALIDATION naming the field: other versions, upper case, wrong lengths, not a string", () => {
    for (const bad of [
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      42,
    ]) {
      const r = event({ traceparent: bad });
      assert.equal(r.ok, false, String(bad));
      assert.equal(!r.ok && r.error.code, "STYX_VALIDATION");
      assert.match(!r.ok ? r.error.message : "", /traceparent/);
    }
  });
});
