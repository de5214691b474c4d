import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ProtocolError } from "@modelcontextprotocol/server";
import { parseHostList } from "../../../../src/config/parse.js";
import { StyxError } from "../../../../src/core/platform/errors.js";
import { EntryIdParams } from "../../../../src/protocol/entries.js";
import { mcpAllowedHosts } from "../../../../src/server/mcp/allowed-hosts.js";
import { errorData, MCP_CODES, mcpCode, toMcpError, toolError } from "../../../../src/server/mcp/errors.js";
import { checkMcpHost } from "../../../../src/server/mcp/hosts.js";
import { pheromonesUri, RESOURCE_URIS, snapshotUri, touchedBy } from "../../../../src/server/mcp/resources.js";
import { standardSchema } from "../../../../src/server/mcp/schema.js";
import { completeFrom } from "../../../../src/server/mcp/surface.js";

describe("mcp errors", () => {
  it("maps the credential's refusals to -32001, client faults to -32602, the rest to -32603", () => {
    assert.equal(mcpCode(401), MCP_CODES.unauthorized);
    assert.equal(mcpCode(403), MCP_CODES.unauthorized);
    for (const status of [400, 404, 409, 413]) assert.equal(mcpCode(status), MCP_CODES.invalidParams);
    for (const status of [429, 500, 503]) assert.equal(mcpCode(status), MCP_CODES.internal);
  });

  it("carries the Styx code, status, retryable flag and details in data", () => {
    const e = new StyxError("STYX_RATE_LIMITED", undefined, { details: { retry_after_ms: 5 } });
    assert.deepEqual(errorData(e), { styx_code: "STYX_RATE_LIMITED", status: 429, retryable: true, details: { retry_after_ms: 5 } });
    const m = toMcpError(new StyxError("STYX_NOT_FOUND"));
    assert.ok(m instanceof ProtocolError);
    assert.equal(m.code, MCP_CODES.invalidParams);
    assert.deepEqual(m.data, { styx_code: "STYX_NOT_FOUND", status: 404, retryable: false });
  });

  it("hides an unknown error's message behind STYX_INTERNAL", () => {
    const m = toMcpError(new Error("db password is hunter2"));
    assert.equal((m.data as { styx_code: string }).styx_code, "STYX_INTERNAL");
    assert.doesNotMatch(m.message, /hunter2/);
    const t = toolError(new Error("db password is hunter2"));
    assert.doesNotMatch(JSON.stringify(t), /hunter2/);
  });

  it("answers a tool's failure as an isError result with the code as structured content", () => {
    const r = toolError(new StyxError("STYX_AUTH_FORBIDDEN"));
    assert.equal(r.isError, true);
    assert.equal(r.structuredContent.error.styx_code, "STYX_AUTH_FORBIDDEN");
    assert.match(r.content[0]?.text ?? "", /^STYX_AUTH_FORBIDDEN: /);
  });
});

describe("mcp resources touched by events", () => {
  const ev = (stream: string, channel: string, payload: object = {}) => ({ stream, channel, payloadJson: JSON.stringify(payload) });

  it("names the pulse for a pulse on the public stream", () => {
    assert.deepEqual(touchedBy(ev("public", "styx:pulse")), [{ uri: RESOURCE_URIS.pulse }]);
  });

  it("names a domain's field for a deposit or reinforcement there", () => {
    assert.deepEqual(touchedBy(ev("domain:defi.perps", "styx:pheromone:deposit")), [{ uri: pheromonesUri("defi.perps") }]);
    assert.deepEqual(touchedBy(ev("domain:defi.perps", "styx:pheromone:reinforced")), [{ uri: "styx://pheromones/defi.perps" }]);
  });

  it("names the owner's graveyard and the golem's snapshot for a bloodstain, for that user only", () => {
    assert.deepEqual(touchedBy(ev("user:u1", "styx:bloodstain", { golem_id: "g/1" })), [
      { uri: RESOURCE_URIS.graveyard, userId: "u1" },
      { uri: snapshotUri("g/1"), userId: "u1" },
    ]);
    assert.equal(snapshotUri("g/1"), "styx://golems/g%2F1/snapshot");
  });

  it("names nothing for other events or a bloodstain with an unreadable payload", () => {
    assert.deepEqual(touchedBy(ev("user:u1", "styx:steer")), []);
    assert.deepEqual(touchedBy(ev("golem:g1", "styx:bloodstain")), []);
    assert.deepEqual(touchedBy({ stream: "user:u1", channel: "styx:bloodstain", payloadJson: "{" }), [
      { uri: RESOURCE_URIS.graveyard, userId: "u1" },
    ]);
  });
});

describe("mcp hosts", () => {
  it("allows the public host, loopback names for a local one, and the extra hosts", () => {
    assert.deepEqual(mcpAllowedHosts("http://localhost:8080", []), ["localhost", "127.0.0.1", "[::1]"]);
    assert.deepEqual(mcpAllowedHosts("https://styx.example.com", ["mcp.example.com"]), ["styx.example.com", "mcp.example.com"]);
  });

  it("refuses a foreign Host or Origin with STYX_AUTH_FORBIDDEN, whatever the port", () => {
    const allowed = mcpAllowedHosts("https://styx.example.com", []);
    checkMcpHost({ host: "styx.example.com:443" }, allowed);
    checkMcpHost({ host: "styx.example.com", origin: "https://styx.example.com" }, allowed);
    for (const headers of [{ host: "evil.example" }, { host: undefined }, { host: "styx.example.com", origin: "https://evil.example" }]) {
      assert.throws(
        () => checkMcpHost(headers, allowed),
        (e: StyxError) => e.code === "STYX_AUTH_FORBIDDEN",
      );
    }
  });

  it("parses STYX_MCP_ALLOWED_HOSTS as bare lowercase host names", () => {
    assert.deepEqual(parseHostList(""), []);
    assert.deepEqual(parseHostList("A.example.com, b.example.com,,[::1]"), ["a.example.com", "b.example.com", "[::1]"]);
    for (const bad of ["https://a.example.com", "a.example.com:8080", "a.example.com/mcp", "a b"]) assert.throws(() => parseHostList(bad));
  });
});

describe("mcp schemas and completions", () => {
  it("validates tool arguments with the HTTP body's rules and advertises the schema as JSON", () => {
    const s = standardSchema<{ id: string }>(EntryIdParams);
    assert.deepEqual(s["~standard"].validate({ id: "e1" }), { value: { id: "e1" } });
    const bad = s["~standard"].validate({ id: "e1", extra: 1 }) as { issues: { message: string }[] };
    assert.match(bad.issues[0]?.message ?? "", /extra/);
    const json = s["~standard"].jsonSchema.input({ target: "draft-2020-12" });
    assert.equal(json.type, "object");
    assert.equal(json.additionalProperties, false);
  });

  it("completes by prefix, without duplicates, at most 100 values", () => {
    assert.deepEqual(completeFrom(["defi.perps", "defi.perps", "defi.spot", "nft"], "defi."), ["defi.perps", "defi.spot"]);
    assert.equal(
      completeFrom(
        Array.from({ length: 150 }, (_, i) => `g${i}`),
        "g",
      ).length,
      100,
    );
  });
});
