import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("admin dashboard over HTTP", () => {
  let s: TestServer;
  let alice: { id: string; key: string; keyId: string };

  before(async () => {
    s = await startTestServer();
    alice = await s.user("dash-alice");
    const bob = await s.user("dash-bob");
    await s.golem(alice.key, { id: "dash-a0" });
    await s.golem(bob.key, { id: "dash-b0" });
    const deposit = (key: string, golem: string, layer: string, domain: string, intensity: number) =>
      s.request("POST", "/v1/styx/pheromone/deposit", {
        token: key,
        body: { golem_id: golem, layer, class: "probe", intensity, domain, regime: "calm" },
      });
    assert.equal((await deposit(alice.key, "dash-a0", "threat", "dex", 0.9)).status, 201, "deposit dex threat");
    assert.equal((await deposit(bob.key, "dash-b0", "wisdom", "dex", 0.4)).status, 201, "deposit dex wisdom");
    assert.equal((await deposit(bob.key, "dash-b0", "opportunity", "lending", 0.6)).status, 201, "deposit lending");
    for (const [key, golem, at] of [
      [alice.key, "dash-a0", "2026-01-01T00:00:00.000Z"],
      [bob.key, "dash-b0", "2026-01-02T00:00:00.000Z"],
    ] as const) {
      const r = await s.request("POST", "/v1/styx/bloodstain", {
        token: key,
        body: { golem_id: golem, generation: 0, death_cause: `cause of ${golem}`, warnings: [], timestamp: at },
      });
      assert.equal(r.status, 201, r.text);
    }
  });
  after(() => s.close());

  it("refuses the data without a token (401) and to a user key (403), in the error shape", async () => {
    const none = await s.request("GET", "/v1/admin/dashboard");
    assert.equal(none.status, 401, none.text);
    assert.equal(none.json.error.code, "STYX_AUTH_REQUIRED");
    const user = await s.request("GET", "/v1/admin/dashboard", { token: alice.key });
    assert.equal(user.status, 403, user.text);
    assert.equal(user.json.error.code, "STYX_AUTH_FORBIDDEN");
  });

  it("answers the heat map, pulse, deaths of every user newest first and active keys to the admin token", async () => {
    const r = await s.request("GET", "/v1/admin/dashboard", { token: s.adminToken });
    assert.equal(r.status, 200, r.text);
    const d = r.json;
    assert.deepEqual(
      d.field.map((c: { domain: string; layer: string }) => `${c.domain}/${c.layer}`),
      ["dex/threat", "dex/opportunity", "dex/wisdom", "lending/threat", "lending/opportunity", "lending/wisdom"],
      "strongest domain first, every layer of each",
    );
    const dexThreat = d.field[0];
    assert.ok(dexThreat.level > 0.89 && dexThreat.level <= 0.9, `dex threat level ${dexThreat.level}`);
    assert.equal(dexThreat.live, 1);
    assert.equal(d.field[1].level, 0, "an empty cell is 0");
    assert.ok(d.pheromones_active >= 3, "three deposits are live");
    assert.ok(d.events_total >= 3, `deposit events counted (${d.events_total})`);
    assert.equal(typeof d.ws_connections, "number");
    assert.deepEqual(
      d.recent_deaths.map((x: { golem_id: string }) => x.golem_id),
      ["dash-b0", "dash-a0"],
      "deaths of both users, newest first",
    );
    assert.equal(d.recent_deaths[0].user_id, "dash-bob");
    const keys = d.active_keys.map((k: { user_id: string }) => k.user_id);
    assert.ok(keys.includes("dash-alice") && keys.includes("dash-bob"), `keys of every user: ${keys}`);
    assert.ok(!r.text.includes("key_hash") && !r.text.includes(alice.key), "no key secret or hash leaves");
    assert.equal(typeof d.pulse.active_golems, "number");
    assert.equal(d.payments.pricing, false);
    assert.equal(d.payments.revenue_usd, "0");
    assert.equal(d.payments.pending.count, 0);
  });

  it("shows revenue by operation and pending settlement from the payments ledger", async () => {
    const ledger = s.styx.storage.payments;
    assert.ok(ledger, "every store keeps a ledger (empty in RAM under amnesia)");
    const now = Date.now();
    const pay = async (id: string, amount: number, operation: string, status: "accepted" | "voided") => {
      await ledger.reserve({
        id,
        network: "eip155:84532",
        asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
        payer: "0x00000000000000000000000000000000000000d1",
        nonce: `0x${id.padStart(64, "0")}`,
        amount,
        operation,
        purpose: "request",
        userId: "dash-alice",
        keyId: null,
        golemId: null,
        payload: "{}",
        requirements: "{}",
        validBefore: Math.floor(now / 1000) + 300,
        createdAt: now,
      });
      await ledger.finish(id, status, now);
    };
    await pay("d1", 2000, "query", "accepted");
    await pay("d2", 2000, "query", "accepted");
    await pay("d3", 10_000, "snapshot", "accepted");
    await pay("d4", 1000, "entry_write", "voided");
    await ledger.claim(1, now);
    const d = (await s.request("GET", "/v1/admin/dashboard", { token: s.adminToken })).json;
    assert.equal(d.payments.revenue_usd, "0.014", "accepted and settling count; voided not");
    assert.deepEqual(
      d.payments.by_operation.map((o: { operation: string; amount_usd: string; count: number }) => [o.operation, o.amount_usd, o.count]),
      [
        ["snapshot", "0.01", 1],
        ["query", "0.004", 2],
      ],
    );
    assert.equal(d.payments.pending.count, 3);
    assert.equal(d.payments.pending.settling, 1);
    assert.equal(d.payments.pending.amount_usd, "0.014");
    assert.ok(Date.parse(d.payments.pending.soonest_valid_before) > now);
  });

  it("limits the lists and rejects unknown query fields", async () => {
    const r = await s.request("GET", "/v1/admin/dashboard?limit=1&domains=1", { token: s.adminToken });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.recent_deaths.length, 1);
    assert.equal(r.json.active_keys.length, 1);
    assert.equal(r.json.field.length, 3, "one domain × three layers");
    const bad = await s.request("GET", "/v1/admin/dashboard?nope=1", { token: s.adminToken });
    assert.equal(bad.status, 400, bad.text);
  });

  it("serves the page and its files without a token, and they hold no data", async () => {
    const page = await s.request("GET", "/admin");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.ok(page.text.includes('id="token-form"'), "the page has the token form");
    for (const [path, type] of [
      ["/admin/dashboard.js", /^text\/javascript/],
      ["/admin/dashboard.css", /^text\/css/],
      ["/admin/uplot.js", /^text\/javascript/],
      ["/admin/uplot.css", /^text\/css/],
    ] as const) {
      const r = await s.request("GET", path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get("content-type") ?? "", type, path);
      assert.ok(!r.text.includes("dash-alice"), `${path} holds no data`);
    }
  });
});
