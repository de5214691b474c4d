import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  BLOODSTAIN_TYPES,
  type BloodstainBinding,
  bloodstainMessage,
  bloodstainTypedData,
  LEGACY_BLOODSTAIN_DOMAIN,
  LEGACY_BLOODSTAIN_TYPES,
} from "../../src/core/coordination/bloodstain-signature.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { highS, signedChallenge, withV } from "../../src/testing/signatures.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

function upload(golemId: string, over: Record<string, unknown> = {}) {
  return {
    golem_id: golemId,
    generation: 0,
    death_cause: "liquidated",
    warnings: [
      { domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations below 0.8 health factor" },
      { domain: "perps", regime: "bear", class: "funding", severity: 0.3, message: "Funding flips negative before the crash" },
    ],
    causal_edges: [
      { from_variable: "funding_rate", to_variable: "liquidations", direction: "negative", strength: 0.7, domain: "perps", regime: "bear" },
    ],
    somatic_landscape_fragment: { dread: 0.8 },
    death_testament_excerpt: "I held too long.",
    timestamp: "2026-11-01T10:00:00.000Z",
    ticks_lived: 4200,
    ...over,
  };
}

describe("POST /v1/styx/bloodstain", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 11));
  let s: TestServer;
  let u: { id: string; key: string };

  before(async () => {
    s = await startTestServer({ persistent: true, clock });
    u = await s.user();
  });
  after(() => s.close());

  it("records the death with every effect, announces it, and evaluates achievements", async () => {
    const g = await s.golem(u.key);
    const surface = await TestSocket.connect(s.url, u.key);
    const watcher = await TestSocket.connect(s.url, (await s.user()).key);
    await watcher.sock.request({ type: "subscribe", domains: ["defi"] });

    const r = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: upload(g.id) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.entry_ids.length, 2);
    assert.equal(r.json.pheromone_ids.length, 3);
    assert.equal(r.json.lethe_queued, 0, "not opted in");

    const golem = await s.request("GET", `/v1/styx/golems/${g.id}`, { token: u.key });
    assert.equal(golem.json.status, "dead");
    const grave = await s.request("GET", `/v1/styx/graveyard/${u.id}`, { token: u.key });
    assert.deepEqual(
      grave.json.golems.map((x: { golem_id: string; death_cause: string; ticks_lived: number }) => [
        x.golem_id,
        x.death_cause,
        x.ticks_lived,
      ]),
      [[g.id, "liquidated", 4200]],
    );

    const sensed = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi,perps", { token: u.key });
    const defi = sensed.json.domains.defi.pheromones;
    const perps = sensed.json.domains.perps.pheromones;
    assert.deepEqual(
      defi.map((p: { layer: string; class: string }) => [p.layer, p.class]),
      [["threat", "cascade"]],
    );
    assert.deepEqual(perps.map((p: { layer: string; class: string }) => [p.layer, p.class]).sort(), [
      ["threat", "funding"],
      ["wisdom", "funding_rate->liquidations"],
    ]);
    assert.ok(Math.abs(sensed.json.domains.defi.threat_level - 0.9) < 1e-9, `threat level ${sensed.json.domains.defi.threat_level}`);

    const clade = await s.request("POST", "/v1/styx/query", { token: u.key, body: { query: "liquidations funding", layers: ["clade"] } });
    const hits = clade.json.hits.filter((h: { layer: string }) => h.layer === "clade");
    assert.equal(hits.length, 2, "both warnings are clade entries, even the 0.3 one below the warning gate");
    assert.ok(
      hits.every((h: { is_bloodstain: boolean; category: string }) => h.is_bloodstain && h.category === "warning"),
      "bloodstain warnings",
    );

    const event = await surface.sock.next((f) => f.channel === "styx:bloodstain");
    assert.equal(event.payload.golem_id, g.id);
    const anon = await watcher.sock.next((f) => f.channel === "styx:bloodstain");
    assert.equal(anon.stream, "domain:defi");
    assert.ok(!JSON.stringify(anon).includes(g.id), "domain followers learn nothing of whose death it was");
    await watcher.sock.next((f) => f.channel === "styx:pheromone:deposit");

    const ach = await s.request("GET", `/v1/styx/achievements/${g.id}`, { token: u.key });
    assert.deepEqual(
      ach.json.achievements.map((a: { code: string }) => a.code),
      ["scarred"],
    );
    await Promise.all([surface.sock.close(), watcher.sock.close()]);
  });

  it("returns the first answer to a repeat upload and changes nothing", async () => {
    const g = await s.golem(u.key);
    const first = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: upload(g.id, { warnings: [] }) });
    assert.equal(first.status, 201);
    const counts = async () => ({
      pheromones: (await s.styx.storage.coordination.pheromones.allLive(0)).length,
      deaths: (await s.styx.storage.coordination.deaths.counts(0)).total,
    });
    const before = await counts();
    const again = await s.request("POST", "/v1/styx/bloodstain", {
      token: u.key,
      body: upload(g.id, { death_cause: "something else", causal_edges: [] }),
    });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, first.json);
    assert.deepEqual(await counts(), before);
    const ach = await s.request("GET", `/v1/styx/achievements/${g.id}`, { token: u.key });
    assert.equal(ach.json.achievements.length, 0, "not the first death of the clade: no scar");
  });

  it("leaves no partial state when a failure strikes half-way through", async () => {
    const g = await s.golem(u.key);
    // A real database failure between the entries and the pheromone deposits of the transaction.
    await s.sql(
      s.profile === "micro"
        ? "CREATE TRIGGER fail_midway BEFORE INSERT ON pheromones WHEN NEW.class = 'boom' BEGIN SELECT RAISE(ABORT, 'injected'); END;"
        : `CREATE FUNCTION fail_midway() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.class = 'boom' THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$;
           CREATE TRIGGER fail_midway BEFORE INSERT ON pheromones FOR EACH ROW EXECUTE FUNCTION fail_midway();`,
    );
    const count = async (table: string) => Number((await s.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
    try {
      const entriesBefore = await count("entries");
      const phBefore = await count("pheromones");
      const body = upload(g.id, {
        warnings: [
          { domain: "defi", regime: "bear", class: "fine", severity: 0.5, message: "stored first" },
          { domain: "defi", regime: "bear", class: "boom", severity: 0.5, message: "fails here" },
        ],
      });
      const r = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body });
      assert.equal(r.status, 500);
      assert.equal(r.json.error.code, "STYX_INTERNAL");
      assert.equal((await s.request("GET", `/v1/styx/golems/${g.id}`, { token: u.key })).json.status, "provisioning");
      assert.equal(await count("entries"), entriesBefore);
      assert.equal(await count("pheromones"), phBefore);
      assert.deepEqual(await s.sql(`SELECT * FROM deaths WHERE golem_id = '${g.id}'`), []);
      const sensed = await s.request("GET", "/v1/styx/pheromone/sense?domains=defi", { token: u.key });
      const classes = sensed.json.domains.defi.pheromones.map((p: { class: string }) => p.class);
      assert.ok(!classes.includes("fine"), `sense shows nothing of the rolled-back deposit: ${classes}`);

      await s.sql(s.profile === "micro" ? "DROP TRIGGER fail_midway" : "DROP TRIGGER fail_midway ON pheromones");
      const retry = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body });
      assert.equal(retry.status, 201, "the same upload succeeds once the fault is gone");
    } finally {
      await s.sql(s.profile === "micro" ? "DROP TRIGGER IF EXISTS fail_midway" : "DROP TRIGGER IF EXISTS fail_midway ON pheromones");
    }
  });

  it("queues anonymized lethe copies when the owner opts in", async () => {
    const g = await s.golem(u.key);
    const r = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: upload(g.id, { publish_to_lethe: true }) });
    assert.equal(r.status, 201);
    assert.equal(r.json.lethe_queued, 1, "only the warning at or above the lethe gate (0.6)");
  });

  it("refuses a bad upload with 400 and another user's golem with 404", async () => {
    const g = await s.golem(u.key);
    for (const body of [
      upload(g.id, { generation: 3 }),
      upload(g.id, { warnings: [{ domain: "defi", regime: "bear", class: "x", severity: 2, message: "m" }] }),
      upload(g.id, { timestamp: "yesterday" }),
      upload(g.id, { unknown: 1 }),
    ]) {
      const r = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body });
      assert.equal(r.status, 400, JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await s.request("GET", `/v1/styx/golems/${g.id}`, { token: u.key })).json.status, "provisioning");
    const other = await s.user();
    assert.equal((await s.request("POST", "/v1/styx/bloodstain", { token: other.key, body: upload(g.id) })).status, 404);
  });
});

describe("signed bloodstains", () => {
  let s: TestServer;
  let signing: BloodstainBinding;
  before(async () => {
    s = await startTestServer({ env: { STYX_CHAIN_ID: "84532", STYX_INSTANCE_ID: "sx_00112233445566ff" } });
    const td = await s.request("GET", "/v1/styx/bloodstain/typed-data");
    assert.equal(td.status, 200, td.text);
    signing = { chainId: td.json.domain.chainId, instanceId: td.json.instance };
  });
  after(() => s.close());

  async function walletGolem(key: string) {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const g = await s.golem(key, { wallet_address: wallet.address, wallet_proof: await signedChallenge(s, wallet) });
    return { wallet, id: g.id };
  }

  const post = (key: string, body: Record<string, unknown>) => s.request("POST", "/v1/styx/bloodstain", { token: key, body });

  it("describes the typed data it checks: domain Styx v2 on STYX_CHAIN_ID, the instance, the types", async () => {
    const td = await s.request("GET", "/v1/styx/bloodstain/typed-data");
    assert.deepEqual(td.json.domain, { name: "Styx", version: "2", chainId: 84532 });
    assert.equal(td.json.instance, "sx_00112233445566ff");
    assert.equal(td.json.primary_type, "Bloodstain");
    assert.deepEqual(td.json.types, { Bloodstain: BLOODSTAIN_TYPES.Bloodstain.map((f) => ({ ...f })) });
  });

  it("accepts the golem wallet's EIP-712 signature and refuses a tampered or missing one", async () => {
    const u = await s.user();
    const { wallet, id } = await walletGolem(u.key);
    const body = upload(id);
    const signature = await wallet.signTypedData(bloodstainTypedData(body, signing));
    const refused = await post(u.key, { ...body, death_cause: "natural causes", signature });
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
    const unsigned = await post(u.key, body);
    assert.equal(unsigned.status, 401);
    assert.match(unsigned.json.error.message, /chainId 84532, instance sx_00112233445566ff/);
    const byOther = await privateKeyToAccount(generatePrivateKey()).signTypedData(bloodstainTypedData(body, signing));
    assert.equal((await post(u.key, { ...body, signature: byOther })).status, 401);
    assert.equal((await s.request("GET", `/v1/styx/golems/${id}`, { token: u.key })).json.status, "provisioning", "nothing recorded");

    const ok = await post(u.key, { ...body, signature });
    assert.equal(ok.status, 201, ok.text);
    const grave = await s.request("GET", `/v1/styx/graveyard/${u.id}`, { token: u.key });
    assert.equal(grave.json.golems[0].signed, true);
  });

  it("refuses a signature made for another chain id or another Styx instance", async () => {
    const u = await s.user();
    const { wallet, id } = await walletGolem(u.key);
    const body = upload(id);
    for (const wrong of [
      { ...signing, chainId: 8453 },
      { ...signing, instanceId: "sx_ffeeddccbbaa9988" },
    ]) {
      const r = await post(u.key, { ...body, signature: await wallet.signTypedData(bloodstainTypedData(body, wrong)) });
      assert.equal(r.status, 401, JSON.stringify(wrong));
      assert.equal(r.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
      assert.deepEqual(r.json.error.details, [{ path: "/signature" }]);
    }
    assert.equal((await s.request("GET", `/v1/styx/golems/${id}`, { token: u.key })).json.status, "provisioning", "nothing recorded");
    assert.equal((await post(u.key, { ...body, signature: await wallet.signTypedData(bloodstainTypedData(body, signing)) })).status, 201);
  });

  it("refuses the high-s mirror and a malformed v of the wallet's signature (EIP-2)", async () => {
    const u = await s.user();
    const { wallet, id } = await walletGolem(u.key);
    const body = upload(id);
    const signature = await wallet.signTypedData(bloodstainTypedData(body, signing));
    for (const bad of [highS(signature), withV(signature, Number.parseInt(signature.slice(130), 16) - 27), withV(signature, 29)]) {
      const r = await post(u.key, { ...body, signature: bad });
      assert.equal(r.status, 401, bad.slice(130));
      assert.equal(r.json.error.code, "STYX_AUTH_INVALID_SIGNATURE");
      assert.match(r.json.error.message, /EIP-2/);
    }
    assert.equal((await post(u.key, { ...body, signature })).status, 201, "the genuine signature still records the death");
  });

  it("tells a client signing the retired v1 typed data (no chain, no instance) what changed", async () => {
    const u = await s.user();
    const { wallet, id } = await walletGolem(u.key);
    const body = upload(id);
    const { instance: _, ...v1 } = bloodstainMessage(body, signing.instanceId);
    const old = await wallet.signTypedData({
      domain: LEGACY_BLOODSTAIN_DOMAIN,
      types: LEGACY_BLOODSTAIN_TYPES,
      primaryType: "Bloodstain",
      message: v1,
    });
    const r = await post(u.key, { ...body, signature: old });
    assert.equal(r.status, 401);
    assert.match(r.json.error.message, /retired v1 typed data/);
  });
});
