import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, it } from "node:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** An SDK client connected to the test server's /mcp with `token`, by header or by `?token=`. */
async function connect(s: TestServer, token: string, via: "header" | "query" = "header"): Promise<Client> {
  const url = new URL("/mcp", s.url);
  if (via === "query") url.searchParams.set("token", token);
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: via === "header" ? { headers: { authorization: `Bearer ${token}` } } : {},
  });
  const client = new Client({ name: "styx-test", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** A raw POST /mcp with the given headers (fetch cannot set `Host`). */
function post(s: TestServer, headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string }> {
  const url = new URL("/mcp", s.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

/** The structured content of a tool result, asserting it succeeded. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
function ok(r: { isError?: boolean; structuredContent?: unknown; content?: unknown }): any {
  assert.notEqual(r.isError, true, JSON.stringify(r.content));
  return r.structuredContent;
}

const ENTRY = { layer: "vault", category: "insight", content: "funding flips negative before liquidations", domain: "defi.perps" };
const DEPOSIT = { layer: "threat", class: "threat", intensity: 0.8, domain: "defi.perps", regime: "bear" };
const EDGE = {
  from_variable: "funding_rate",
  to_variable: "liquidations",
  direction: "positive",
  strength: 0.7,
  lag_ticks: 3,
  evidence_count: 12,
  confidence: 0.8,
  domain: "defi.perps",
  regime: "bear",
};

describe("MCP server at /mcp", () => {
  let s: TestServer;
  let user: { id: string; key: string };
  let golemId: string;
  let golemKey: string;
  let owner: Client;

  before(async () => {
    s = await startTestServer();
    user = await s.user();
    golemId = (await s.golem(user.key)).id;
    const k = await s.request("POST", `/v1/admin/users/${user.id}/keys`, {
      token: s.adminToken,
      body: { name: "golem", golem_id: golemId },
    });
    assert.equal(k.status, 201, k.text);
    golemKey = k.json.key;
    owner = await connect(s, user.key);
  });
  after(async () => {
    await owner?.close();
    await s.close();
  });

  it("lists every tool with its input schema", async () => {
    const { tools } = await owner.listTools();
    const names = tools.map((t) => t.name).sort();
    assert.deepEqual(names, [
      "deposit",
      "discover_causal",
      "fleet_status",
      "forget",
      "graveyard",
      "publish_causal",
      "pulse",
      "recall",
      "remember",
      "sense",
      "steer",
    ]);
    const remember = tools.find((t) => t.name === "remember");
    assert.deepEqual([...(remember?.inputSchema.required ?? [])].sort(), ["category", "content", "golem_id", "layer"]);
  });

  it("calls every tool, each answering structured content", async () => {
    const written = ok(await owner.callTool({ name: "remember", arguments: { golem_id: golemId, ...ENTRY } }));
    assert.match(written.id, /.+/);
    assert.deepEqual(written.namespaces, [`vault:${user.id}`]);
    const recalled = ok(await owner.callTool({ name: "recall", arguments: { query: "funding liquidations", limit: 5 } }));
    assert.ok(recalled.hits.some((h: { id: string }) => h.id === written.id));
    const deposited = ok(await owner.callTool({ name: "deposit", arguments: { golem_id: golemId, ...DEPOSIT } }));
    assert.equal(deposited.reinforced, false);
    const sensed = ok(await owner.callTool({ name: "sense", arguments: { domains: ["defi.perps"] } }));
    assert.ok(sensed.domains["defi.perps"].pheromones.length >= 1);
    const published = ok(await owner.callTool({ name: "publish_causal", arguments: { golem_id: golemId, ...EDGE } }));
    assert.equal(published.outcome, "created");
    const discovered = ok(await owner.callTool({ name: "discover_causal", arguments: { domain: "defi.perps" } }));
    assert.equal(discovered.edges.length, 1);
    const pulse = ok(await owner.callTool({ name: "pulse", arguments: {} }));
    assert.equal(typeof pulse, "object");
    const graves = ok(await owner.callTool({ name: "graveyard", arguments: {} }));
    assert.deepEqual(graves.golems, []);
    const fleet = ok(await owner.callTool({ name: "fleet_status", arguments: {} }));
    assert.equal(fleet.user_id, user.id);
    const steered = ok(await owner.callTool({ name: "steer", arguments: { golem_id: golemId, intent: "reduce leverage" } }));
    assert.equal(steered.delivered, false);
    const forgotten = ok(await owner.callTool({ name: "forget", arguments: { id: written.id } }));
    assert.equal(forgotten.id, written.id);
  });

  it("answers a tool's failure with isError and the Styx code", async () => {
    const r = await owner.callTool({ name: "forget", arguments: { id: "no-such-entry" } });
    assert.equal(r.isError, true);
    assert.equal((r.structuredContent as { error: { styx_code: string } }).error.styx_code, "STYX_NOT_FOUND");
    const bad = await owner.callTool({ name: "remember", arguments: { golem_id: golemId, layer: "nowhere" } });
    assert.equal(bad.isError, true);
  });

  it("reads a resource and sends its update after a write", async () => {
    const read = await owner.readResource({ uri: "styx://pheromones/defi.options" });
    const first = JSON.parse((read.contents[0] as { text: string }).text);
    assert.equal(first.domain, "defi.options");
    const updated = new Promise<string>((resolve) => {
      owner.setNotificationHandler("notifications/resources/updated", (n) => resolve(n.params.uri));
    });
    await owner.subscribeResource({ uri: "styx://pheromones/defi.options" });
    ok(await owner.callTool({ name: "deposit", arguments: { golem_id: golemId, ...DEPOSIT, domain: "defi.options" } }));
    assert.equal(await updated, "styx://pheromones/defi.options");
    const snapshot = await owner.readResource({ uri: `styx://golems/${golemId}/snapshot` });
    assert.equal(JSON.parse((snapshot.contents[0] as { text: string }).text).golem_id, golemId);
  });

  it("refuses a resource of another user's golem with the Styx code in data", async () => {
    const other = await s.user();
    const theirs = (await s.golem(other.key)).id;
    await assert.rejects(owner.readResource({ uri: `styx://golems/${theirs}/snapshot` }), (err: { code?: number; data?: unknown }) => {
      assert.equal(err.code, -32602);
      assert.equal((err.data as { styx_code: string }).styx_code, "STYX_NOT_FOUND");
      return true;
    });
  });

  it("gets the pre-trade briefing prompt", async () => {
    const p = await owner.getPrompt({ name: "pre_trade_briefing", arguments: { domain: "defi.perps" } });
    const text = (p.messages[0]?.content as { text: string } | undefined)?.text ?? "";
    assert.match(text, /Pre-trade briefing for defi\.perps/);
  });

  it("sets the log level and logs tool calls at or above it", async () => {
    await owner.setLoggingLevel("info");
    const logged = new Promise<unknown>((resolve) => {
      owner.setNotificationHandler("notifications/message", (n) => resolve(n.params.data));
    });
    ok(await owner.callTool({ name: "pulse", arguments: {} }));
    assert.deepEqual(await logged, { tool: "pulse", outcome: "ok" });
  });

  it("completes the caller's golem ids and domain names", async () => {
    const ids = await owner.complete({
      ref: { type: "ref/resource", uri: "styx://golems/{golem_id}/snapshot" },
      argument: { name: "golem_id", value: golemId.slice(0, 3) },
    });
    assert.deepEqual(ids.completion.values, [golemId]);
    const domains = await owner.complete({
      ref: { type: "ref/prompt", name: "pre_trade_briefing" },
      argument: { name: "domain", value: "defi.p" },
    });
    assert.deepEqual(domains.completion.values, ["defi.perps"]);
  });

  it("lets a golem credential call its own tools but not the owner's", async () => {
    const golem = await connect(s, golemKey, "query");
    try {
      ok(await golem.callTool({ name: "remember", arguments: { golem_id: golemId, ...ENTRY } }));
      for (const name of ["fleet_status", "graveyard", "steer"]) {
        const args = name === "steer" ? { golem_id: golemId, intent: "x" } : {};
        const r = await golem.callTool({ name, arguments: args });
        assert.equal(r.isError, true, name);
        assert.equal((r.structuredContent as { error: { styx_code: string } }).error.styx_code, "STYX_AUTH_FORBIDDEN", name);
      }
      const ids = await golem.complete({
        ref: { type: "ref/resource", uri: "styx://golems/{golem_id}/snapshot" },
        argument: { name: "golem_id", value: "" },
      });
      assert.deepEqual(ids.completion.values, [golemId]);
    } finally {
      await golem.close();
    }
  });

  it("refuses a foreign Host and a foreign Origin", async () => {
    const init = {
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } },
    };
    const host = await post(s, { host: "evil.example", authorization: `Bearer ${user.key}` }, init);
    assert.equal(host.status, 403);
    assert.equal(JSON.parse(host.text).error.code, "STYX_AUTH_FORBIDDEN");
    const origin = await post(s, { origin: "https://evil.example", authorization: `Bearer ${user.key}` }, init);
    assert.equal(origin.status, 403);
    const local = await post(s, { host: "localhost", origin: "http://localhost:3000", authorization: `Bearer ${user.key}` }, init);
    assert.equal(local.status, 200);
  });

  it("refuses a bad or missing token", async () => {
    await assert.rejects(connect(s, "sk_not_a_key"));
    const r = await s.request("POST", "/mcp", { body: { jsonrpc: "2.0", id: 1, method: "ping" } });
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, "STYX_AUTH_REQUIRED");
  });

  it("serves a client that probes for the 2026 protocol first by falling back to a 2025 session", async () => {
    const transport = new StreamableHTTPClientTransport(new URL("/mcp", s.url), {
      requestInit: { headers: { authorization: `Bearer ${user.key}` } },
    });
    const client = new Client({ name: "styx-auto", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(transport);
    try {
      assert.ok((await client.listTools()).tools.length > 0);
    } finally {
      await client.close();
    }
  });

  it("refuses another credential's session id", async () => {
    const sid = (owner.transport as StreamableHTTPClientTransport).sessionId as string;
    const other = await s.user();
    const r = await s.request("POST", "/mcp", {
      token: other.key,
      body: { jsonrpc: "2.0", id: 9, method: "tools/list" },
      headers: { accept: "application/json, text/event-stream", "mcp-session-id": sid },
    });
    assert.equal(r.status, 404);
  });
});

describe("MCP sessions at /mcp", () => {
  let s: TestServer;
  let user: { id: string; key: string };

  before(async () => {
    s = await startTestServer({ env: { STYX_MCP_MAX_SESSIONS: "1" } });
    user = await s.user();
  });
  after(() => s.close());

  it("refuses a session past the user's cap and frees the place when one is deleted", async () => {
    const first = await connect(s, user.key);
    await assert.rejects(connect(s, user.key));
    await (first.transport as StreamableHTTPClientTransport).terminateSession();
    await first.close();
    const second = await connect(s, user.key);
    ok(await second.callTool({ name: "pulse", arguments: {} }));
    await second.close();
  });
});
