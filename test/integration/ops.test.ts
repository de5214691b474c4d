import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("operations surface", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ persistent: true, env: { STYX_STORAGE_CAPACITY: "10gb" } });
  });
  after(() => s.close());

  it("serves health with each dependency's status", async () => {
    const r = await s.request("GET", "/v1/styx/health");
    assert.equal(r.status, 200);
    assert.equal(r.json.status, "ok");
    assert.equal(r.json.profile, s.profile);
    const deps = s.profile === "micro" ? ["sqlite", "data_dir"] : ["postgres", "nats", "redis", "s3"];
    assert.deepEqual(Object.keys(r.json.dependencies).sort(), deps.sort());
    for (const d of deps) assert.equal(r.json.dependencies[d].status, "up", `${d}: ${JSON.stringify(r.json.dependencies[d])}`);
  });

  it("exposes the SPEC metric names after traffic", async () => {
    await s.request("GET", "/v1/styx/me");
    const r = await s.request("GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(r.text, /styx_requests_total\{route="\/v1\/styx\/me",method="GET",status="401"\} 1/);
    assert.match(r.text, /styx_request_duration_seconds_bucket\{le="0.005",route="\/v1\/styx\/me",method="GET"\}/);
    assert.match(r.text, /^styx_inflight \d+$/m);
    assert.match(r.text, /^# TYPE styx_rejected_total counter$/m);
    assert.match(r.text, /^styx_vector_backlog \d+$/m);
    await s.styx.tasks.runNow("ttl-expiry");
    const after = await s.request("GET", "/metrics");
    assert.match(after.text, /styx_task_duration_seconds_count\{task="ttl-expiry",outcome="ok"\} 1/);
  });

  it("reports storage by kind, its capacity, each dependency's state and (macronode) the PostgreSQL pool's wait", async () => {
    const value = (text: string, series: string) => {
      const line = text.split("\n").find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    let text = "";
    // Measured in the background from the start: the first scrapes may come before the first figures.
    for (let i = 0; i < 50; i++) {
      text = (await s.request("GET", "/metrics")).text;
      if (value(text, 'styx_storage_bytes{kind="database"}') !== undefined && /styx_dependency_up\{/.test(text)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok((value(text, 'styx_storage_bytes{kind="database"}') ?? 0) > 0, "the database has bytes");
    for (const kind of ["blobs", "history"]) assert.ok((value(text, `styx_storage_bytes{kind="${kind}"}`) ?? -1) >= 0, kind);
    assert.equal(value(text, "styx_storage_capacity_bytes"), 10 * 1024 ** 3);
    const deps = s.profile === "micro" ? ["sqlite", "data_dir"] : ["postgres", "nats", "redis", "s3"];
    for (const d of deps) assert.equal(value(text, `styx_dependency_up{dependency="${d}"}`), 1, d);
    if (s.profile === "macro") {
      const wait = value(text, "styx_postgres_pool_wait_seconds");
      assert.ok(wait !== undefined && wait >= 0 && wait < 5, `pool wait ${wait}`);
    } else {
      assert.equal(value(text, "styx_postgres_pool_wait_seconds"), undefined, "no pool on a micronode");
    }
  });

  it("lists every API route in /docs/json with its schema, and serves the UI at /docs", async () => {
    const doc = await s.request("GET", "/docs/json");
    assert.equal(doc.status, 200);
    assert.equal(doc.json.openapi, "3.0.3");
    const documented = new Set<string>();
    for (const [path, ops] of Object.entries<Record<string, unknown>>(doc.json.paths)) {
      for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
    }
    const toOpenApi = (url: string) => url.replace(/:([a-z_]+)/g, "{$1}");
    for (const r of s.styx.app.styxRoutes)
      assert.ok(documented.has(`${r.method} ${toOpenApi(r.url)}`), `${r.method} ${r.url} missing from /docs/json`);
    const create = doc.json.paths["/v1/admin/users"].post;
    assert.equal(create.requestBody.content["application/json"].schema.additionalProperties, false);
    assert.deepEqual(create.security, [{ bearer: [] }]);
    const ui = await s.request("GET", "/docs");
    assert.ok(ui.status === 200 || ui.status === 302, `/docs → ${ui.status}`);
  });

  it("names every operation once, declares its security and its client errors (what client generators and linters need)", async () => {
    const doc = (await s.request("GET", "/docs/json")).json;
    assert.ok(doc.servers?.length > 0, "servers");
    const ids = new Map<string, string>();
    for (const [path, ops] of Object.entries<Record<string, { operationId?: string; security?: unknown[]; responses: object }>>(
      doc.paths,
    )) {
      for (const [method, op] of Object.entries(ops)) {
        const name = `${method.toUpperCase()} ${path}`;
        assert.match(op.operationId ?? "", /^[a-z]+[A-Za-z0-9]*$/, `${name}: operationId`);
        assert.equal(ids.get(op.operationId as string), undefined, `${name} and ${ids.get(op.operationId as string)} share an operationId`);
        ids.set(op.operationId as string, name);
        assert.ok(Array.isArray(op.security), `${name}: security declared (empty for a public route)`);
        assert.ok(
          Object.keys(op.responses).some((c) => c.startsWith("4")),
          `${name}: a 4xx response`,
        );
      }
    }
    assert.equal(doc.paths["/v1/styx/entries/{id}"].get.operationId, "getEntriesById");
    assert.deepEqual(doc.paths["/v1/styx/health"].get.security, [], "public: no security");
  });

  it("gives every route a schema: bodies for writes, params for path ids, responses for success", async () => {
    const doc = (await s.request("GET", "/docs/json")).json;
    for (const r of s.styx.app.styxRoutes) {
      const op = doc.paths[r.url.replace(/:([a-z_]+)/g, "{$1}")][r.method.toLowerCase()];
      const name = `${r.method} ${r.url}`;
      if (r.method === "POST") {
        assert.ok(op.requestBody?.content?.["application/json"]?.schema, `${name} has no body schema`);
        assert.equal(op.requestBody.content["application/json"].schema.additionalProperties, false, `${name} accepts unknown fields`);
      }
      for (const param of r.url.match(/:[a-z_]+/g) ?? []) {
        assert.ok(
          op.parameters?.some((p: { in: string; name: string }) => p.in === "path" && p.name === param.slice(1)),
          `${name} lacks a schema for ${param}`,
        );
      }
      if (r.url !== "/metrics") {
        const success = Object.keys(op.responses ?? {}).filter((c) => c.startsWith("2"));
        assert.ok(success.length > 0, `${name} has no success response schema`);
      }
    }
  });

  it("echoes a well-formed x-request-id and replaces a malformed one", async () => {
    const a = await s.request("GET", "/v1/styx/health", { headers: { "x-request-id": "trace-123" } });
    assert.equal(a.headers.get("x-request-id"), "trace-123");
    const b = await s.request("GET", "/v1/styx/health", { headers: { "x-request-id": "bad id\twith spaces" } });
    assert.match(b.headers.get("x-request-id") ?? "", /^req_/);
  });
});
