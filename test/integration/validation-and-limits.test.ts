import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

// 64 MiB of padding compresses to ~64 KiB; built before any server starts so the CPU spent here
// is not mistaken for server overload.
const BOMB = gzipSync(Buffer.concat([Buffer.from('{"id":"bomb","x":"'), Buffer.alloc(64 * 1024 * 1024, 0x61)]), { level: 9 });

describe("request validation", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { STYX_BODY_LIMIT: "64kb" } });
  });
  after(() => s.close());

  it("rejects an unknown body field with 400 STYX_VALIDATION naming it, and stores nothing", async () => {
    const r = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "x1", favourite_colour: "red" } });
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, "STYX_VALIDATION");
    assert.match(r.json.error.message, /favourite_colour/);
    assert.equal(r.json.error.details[0].path, "/favourite_colour");
    const u = await s.user("x2");
    assert.equal((await s.request("GET", "/v1/styx/users/x1", { token: u.key })).status, 404);
    assert.equal(await s.styx.storage.identity.getUser("x1"), undefined);
  });

  it("rejects unknown query parameters on every API route, naming them, and nothing happens", async () => {
    const u = await s.user("q1");
    for (const [method, url, body] of [
      ["GET", "/v1/auth/sessions?constructor=1", undefined],
      ["GET", "/v1/styx/me?__proto__=x", undefined],
      ["POST", "/v1/admin/users?role=admin", { id: "q2" }],
    ] as const) {
      const token = url.startsWith("/v1/admin") ? s.adminToken : u.key;
      const r = await s.request(method, url, { token, ...(body ? { body } : {}) });
      assert.equal(r.status, 400, url);
      assert.equal(r.json.error.code, "STYX_VALIDATION", url);
      assert.match(r.json.error.message, /constructor|__proto__|role/, url);
    }
    assert.equal(await s.styx.storage.identity.getUser("q2"), undefined);
    // Declared parameters still work.
    assert.equal((await s.request("GET", "/v1/styx/pheromone/sense?domains=d1", { token: u.key })).status, 200);
  });

  it("refuses an expiry that is not a real future instant (a leap second parses to NaN)", async () => {
    const u = await s.user();
    for (const expires_at of ["2030-12-31T23:59:60Z", "2001-01-01T00:00:00Z"]) {
      const r = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: "k", expires_at } });
      assert.equal(r.status, 400, expires_at);
      assert.equal(r.json.error.code, "STYX_VALIDATION");
    }
  });

  it("does not coerce body types", async () => {
    const u = await s.user();
    const r = await s.request("POST", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken, body: { name: 42 } });
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /name/);
  });

  it("answers 413 STYX_PAYLOAD_TOO_LARGE for an oversized body", async () => {
    const r = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "big", pad: "x".repeat(70_000) } });
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, "STYX_PAYLOAD_TOO_LARGE");
  });

  it("answers 400 STYX_BAD_JSON for broken JSON and 415 for other content types", async () => {
    const bad = await s.request("POST", "/v1/admin/users", {
      token: s.adminToken,
      raw: "{nope",
      headers: { "content-type": "application/json" },
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, "STYX_BAD_JSON");
    const xml = await s.request("POST", "/v1/admin/users", {
      token: s.adminToken,
      raw: "<u/>",
      headers: { "content-type": "application/xml" },
    });
    assert.equal(xml.status, 415);
    assert.equal(xml.json.error.code, "STYX_UNSUPPORTED_MEDIA_TYPE");
  });

  it("accepts a gzip body within the ratio", async () => {
    const body = gzipSync(JSON.stringify({ id: "gz-user", tier: "consumer" }));
    const r = await s.request("POST", "/v1/admin/users", {
      token: s.adminToken,
      raw: body,
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((await s.styx.storage.identity.getUser("gz-user"))?.tier, "consumer");
  });

  it("refuses a gzip bomb without inflating past the cap", async () => {
    const bomb = BOMB;
    assert.ok(bomb.length < 256 * 1024, `bomb is ${bomb.length} bytes`);
    const s2 = await startTestServer({ env: { STYX_BODY_LIMIT: "2mb" } });
    // After the server started (its threads are not the request's): what the bomb itself costs.
    const rssBefore = process.memoryUsage().rss;
    try {
      const r = await s2.request("POST", "/v1/admin/users", {
        token: s2.adminToken,
        raw: bomb,
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
      });
      assert.equal(r.status, 413, r.text);
      assert.equal(r.json.error.code, "STYX_DECOMPRESSION_LIMIT");
      const grew = (process.memoryUsage().rss - rssBefore) / 1024 / 1024;
      assert.ok(grew < 32, `RSS grew ${grew.toFixed(0)} MiB`);
      const m = await s2.request("GET", "/metrics");
      assert.match(m.text, /styx_rejected_total\{reason="decompression"\} 1/);
    } finally {
      await s2.close();
    }
  });

  it("refuses unsupported content encodings with 415", async () => {
    const r = await s.request("POST", "/v1/admin/users", {
      token: s.adminToken,
      raw: "xx",
      headers: { "content-type": "application/json", "content-encoding": "zstd" },
    });
    assert.equal(r.status, 415);
    assert.equal(r.json.error.code, "STYX_UNSUPPORTED_ENCODING");
  });

  it("answers unknown routes with 404 STYX_ROUTE_NOT_FOUND in the error shape", async () => {
    const r = await s.request("GET", "/v1/styx/nothing-here");
    assert.equal(r.status, 404);
    assert.equal(r.json.error.code, "STYX_ROUTE_NOT_FOUND");
    assert.equal(r.json.error.request_id, r.headers.get("x-request-id"));
  });
});

describe("rate limits", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { STYX_RATE_LIMIT: "1/s:5", STYX_IP_RATE_LIMIT: "1/s:12" } });
  });
  after(() => s.close());

  it("answers 429 with Retry-After past the identity bucket and counts it", async () => {
    const u = await s.user("rl");
    const codes: number[] = [];
    let retryAfter: string | null = null;
    let waitMs: unknown;
    for (let i = 0; i < 7; i++) {
      const r = await s.request("GET", "/v1/styx/me", { token: u.key });
      codes.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get("retry-after");
        assert.equal(r.json.error.code, "STYX_RATE_LIMITED");
        waitMs = r.json.error.details?.retry_after_ms;
      }
    }
    assert.deepEqual(codes, [200, 200, 200, 200, 200, 429, 429]);
    assert.ok(retryAfter && Number(retryAfter) >= 1, `Retry-After ${retryAfter}`);
    // The same refusal as on a socket (SPEC §12): the exact wait too, within the header's whole seconds.
    assert.ok(typeof waitMs === "number" && waitMs > 0 && waitMs <= Number(retryAfter) * 1000, `retry_after_ms ${String(waitMs)}`);
    const m = await s.request("GET", "/metrics");
    assert.match(m.text, /styx_rejected_total\{reason="rate_limit"\} 2/);
  });

  it("limits per IP across identities, and exempts health, readiness and metrics", async () => {
    // The IP bucket (burst 12) was drawn by the previous test; more anonymous calls run it dry.
    let limited = 0;
    for (let i = 0; i < 12; i++)
      if ((await s.request("POST", "/v1/auth/challenge", { body: { wallet_address: `0x${"1".repeat(40)}` } })).status === 429) limited++;
    assert.ok(limited > 0, "the IP bucket never emptied");
    for (const path of ["/v1/styx/health", "/readyz", "/metrics"]) assert.equal((await s.request("GET", path)).status, 200, path);
  });
});

describe("client addresses behind a proxy", () => {
  it("cannot be spoofed with X-Forwarded-For: one trusted hop means the entry the proxy appended", async () => {
    const s = await startTestServer({ env: { STYX_TRUST_PROXY: "1", STYX_IP_RATE_LIMIT: "1/m:2" } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await s.request("POST", "/v1/auth/challenge", {
          body: { wallet_address: `0x${"2".repeat(40)}` },
          headers: { "x-forwarded-for": `10.9.9.${i}, 203.0.113.7` },
        });
        codes.push(r.status);
      }
      assert.deepEqual(codes, [201, 201, 429, 429]);
    } finally {
      await s.close();
    }
  });
});

describe("in-flight accounting", () => {
  it("releases requests whose client vanished mid-body, so aborted uploads cannot shed writes forever", async () => {
    const s = await startTestServer({ env: { STYX_MAX_INFLIGHT: "3" } });
    try {
      const { port } = new URL(s.url);
      for (let i = 0; i < 10; i++) {
        await new Promise<void>((resolve) => {
          const sock = connect(Number(port), "127.0.0.1", () => {
            sock.write(
              'POST /v1/auth/challenge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"wallet',
            );
            setTimeout(() => {
              sock.destroy();
              resolve();
            }, 20);
          });
        });
      }
      await new Promise((r) => setTimeout(r, 50)); // the server sees the closes
      await s.styx.load.sample();
      const ready = await s.request("GET", "/readyz");
      assert.equal(ready.status, 200, ready.text);
      const m = await s.request("GET", "/metrics");
      assert.match(m.text, /^styx_inflight 1$/m); // the /metrics request itself
    } finally {
      await s.close();
    }
  });
});

describe("load shedding", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ env: { STYX_MAX_EVENT_LOOP_LAG: "200ms" } });
  });
  after(() => s.close());

  it("sheds writes first after an event-loop stall while reads keep working, then recovers", async () => {
    const u = await s.user("shed");
    await s.styx.load.sample();
    const stallUntil = Date.now() + 400;
    while (Date.now() < stallUntil) {
      // a deliberate stall of the event loop the server shares with this test
    }
    await new Promise((r) => setTimeout(r, 30)); // let the lag histogram record the late tick
    await s.styx.load.sample();
    const ready = await s.request("GET", "/readyz");
    assert.equal(ready.status, 503);
    assert.equal(ready.json.accepting_writes, false);
    assert.equal(ready.json.accepting_reads, true);
    assert.match(ready.json.reasons[0], /event_loop_lag/);
    const forReads = await s.request("GET", "/readyz?for=reads");
    assert.equal(forReads.status, 200, `a reads probe stays ready while reads are served: ${forReads.text}`);
    assert.equal(forReads.json.accepting_writes, false);
    assert.equal((await s.request("GET", "/readyz?for=writes")).status, 503, "for=writes is the default");
    assert.equal((await s.request("GET", "/readyz?for=everything")).status, 400, "an unknown probe is refused");
    const write = await s.request("POST", "/v1/styx/golems", { token: u.key, body: {} });
    assert.equal(write.status, 503);
    assert.equal(write.json.error.code, "STYX_OVERLOADED");
    assert.equal(write.headers.get("retry-after"), "1");
    assert.equal(write.json.error.details.retry_after_ms, 1000, "a 503 refusal carries both, as SPEC §12 says");
    assert.equal((await s.request("GET", "/v1/styx/me", { token: u.key })).status, 200);
    const query = await s.request("POST", "/v1/styx/query", { token: u.key, body: { query: "anything" } });
    assert.equal(query.status, 200, "a query is a read even though it is a POST");
    // A stall counts until two samples have passed since it.
    await s.styx.load.sample();
    await s.styx.load.sample();
    assert.equal((await s.request("GET", "/readyz")).status, 200);
    assert.equal((await s.request("POST", "/v1/styx/golems", { token: u.key, body: {} })).status, 201);
  });
});

// Found by the proof suite's fuzz (test/chaos/fuzz.test.ts): each answered 500 or stored what it must refuse.
describe("inputs the fuzz found answered 500 or accepted", () => {
  let s: TestServer;
  let key: string;
  const json = { "content-type": "application/json" };
  before(async () => {
    s = await startTestServer({ persistent: true });
    const u = await s.user("fz-regress");
    key = u.key;
    await s.golem(key, { id: "fz-r0" });
    await s.golem(key, { id: "fz-r1" });
  });
  after(() => s.close());

  const edge = (evidence: string) =>
    `{"golem_id":"fz-r0","from_variable":"a","to_variable":"b","direction":"positive","strength":0.5,"lag_ticks":1,"evidence_count":${evidence},"confidence":0.7,"domain":"d","regime":"r"}`;

  it("refuses non-finite and out-of-range numbers with a 400 (1e999 parses to Infinity)", async () => {
    for (const n of ["1e999", "1e20", "-1e999"]) {
      const r = await s.request("POST", "/v1/styx/causal/publish", { token: key, raw: edge(n), headers: json });
      assert.equal(r.status, 400, `evidence_count ${n} → ${r.status} ${r.text}`);
      assert.equal(r.json.error.code, "STYX_VALIDATION");
    }
    const death = `{"golem_id":"fz-r1","generation":0,"death_cause":"x","warnings":[],"timestamp":"2026-01-01T00:00:00.000Z","ticks_lived":1e999}`;
    const d = await s.request("POST", "/v1/styx/bloodstain", { token: key, raw: death, headers: json });
    assert.equal(d.status, 400, d.text);
    assert.equal((await s.request("GET", "/v1/styx/golems/fz-r1", { token: key })).json.status, "provisioning", "the golem did not die");
    for (const q of ["/v1/admin/audit?after=1e999", "/v1/admin/audit?after=1e300"]) {
      const r = await s.request("GET", q, { token: s.adminToken });
      assert.equal(r.status, 400, `${q} → ${r.status}`);
    }
    const r = await s.request("GET", "/v1/styx/causal/discover?min_validations=1e999", { token: key });
    assert.equal(r.status, 400, r.text);
  });

  it("bounds every numeric query parameter of the document (a coerced 1e999 is Infinity)", async () => {
    const doc = (await s.request("GET", "/docs/json")).json;
    const unbounded: string[] = [];
    for (const [path, item] of Object.entries<
      Record<string, { parameters?: { in: string; name: string; schema: Record<string, unknown> }[] }>
    >(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) {
          const t = p.schema.type;
          if ((t === "integer" || t === "number") && p.schema.maximum === undefined) unbounded.push(`${method} ${path} ${p.in}:${p.name}`);
        }
      }
    }
    assert.deepEqual(unbounded, []);
    const r = await s.request("GET", "/v1/admin/audit?limit=1e999", { token: s.adminToken });
    assert.equal(r.status, 400, r.text);
  });

  it("refuses bodies nested deeper than 64 levels with a 400, and takes 60", async () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    for (const [path, body] of [
      ["/v1/styx/entries", `{"golem_id":"fz-r0","layer":"vault","category":"insight","content":"deep","metadata":${deep(20_000)}}`],
      [
        "/v1/styx/pheromone/deposit",
        `{"golem_id":"fz-r0","layer":"threat","class":"c","intensity":0.5,"domain":"d","regime":"r","metadata":${deep(20_000)}}`,
      ],
      ["/v1/styx/entries", deep(100)],
    ] as const) {
      const r = await s.request("POST", path, { token: key, raw: body, headers: json });
      assert.equal(r.status, 400, `${path} → ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.json.error.code, "STYX_VALIDATION");
      assert.match(r.json.error.message, /deeper than 64/);
    }
    const ok = await s.request("POST", "/v1/styx/entries", {
      token: key,
      raw: `{"golem_id":"fz-r0","layer":"vault","category":"insight","content":"nested","metadata":${deep(60)}}`,
      headers: json,
    });
    assert.equal(ok.status, 201, ok.text);
  });

  it("refuses U+0000 anywhere in a body, a query string, a path or a frame with a 400 (PostgreSQL cannot store it)", async () => {
    const bodies: [string, string][] = [
      ["/v1/styx/entries", '{"golem_id":"fz-r0","layer":"vault","category":"insight","content":"a\\u0000b"}'],
      ["/v1/styx/entries", '{"golem_id":"fz-r0","layer":"vault","category":"insight","content":"x","metadata":{"k\\u0000":1}}'],
      ["/v1/styx/golems", '{"archetype":"x\\u0000y"}'],
    ];
    for (const [path, raw] of bodies) {
      const r = await s.request("POST", path, { token: key, raw, headers: json });
      assert.equal(r.status, 400, `${path} ${raw} → ${r.status} ${r.text.slice(0, 200)}`);
      assert.match(r.json.error.message, /U\+0000/);
    }
    const q = await s.request("GET", "/v1/styx/query?query=a%00b", { token: key });
    assert.equal(q.status, 400, q.text);
    const p = await s.request("GET", "/v1/styx/golems/a%00b", { token: key });
    assert.equal(p.status, 400, p.text);
    const escaped = await s.request("POST", "/v1/styx/entries", {
      token: key,
      raw: '{"golem_id":"fz-r0","layer":"vault","category":"insight","content":"a literal \\\\u0000 is fine"}',
      headers: json,
    });
    assert.equal(escaped.status, 201, escaped.text);
    const { sock } = await TestSocket.connect(s.url, key);
    const answer = await sock.request({ type: "event", golem_id: "fz-r0", event: { type: "golem:tick", note: "a\u0000b" } });
    assert.equal(answer.type, "error");
    assert.equal(answer.code, "STYX_VALIDATION");
    await sock.close();
  });

  it("refuses a somatic landscape fragment over 4 KiB, and the golem stays alive", async () => {
    const r = await s.request("POST", "/v1/styx/bloodstain", {
      token: key,
      body: {
        golem_id: "fz-r1",
        generation: 0,
        death_cause: "x",
        warnings: [],
        timestamp: "2026-01-01T00:00:00.000Z",
        somatic_landscape_fragment: { big: "a".repeat(5000) },
      },
    });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /somatic_landscape_fragment/);
    assert.equal((await s.request("GET", "/v1/styx/golems/fz-r1", { token: key })).json.status, "provisioning");
    assert.equal((await s.sql("SELECT COUNT(*) AS n FROM deaths"))[0].n, 0);
  });

  it("answers a blob whose gzip does not decode with a 400, not a 500", async () => {
    const r = await s.request("PUT", "/v1/styx/blobs", {
      token: key,
      raw: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
      headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
    });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error.code, "STYX_BAD_REQUEST");
    const truncated = gzipSync("blob bytes").subarray(0, 12);
    const t = await s.request("PUT", "/v1/styx/blobs", {
      token: key,
      raw: truncated,
      headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" },
    });
    assert.equal(t.status, 400, t.text);
  });

  it("answers headers past 16 KiB with 431 in the error shape", async () => {
    const r = await s.request("GET", `/v1/styx/query?query=${"q".repeat(20_000)}`, { token: key });
    assert.equal(r.status, 431);
    assert.equal(r.json.error.code, "STYX_HEADERS_TOO_LARGE");
    assert.equal(typeof r.json.error.message, "string");
    assert.equal((await s.request("GET", "/v1/styx/health")).status, 200);
  });
});
