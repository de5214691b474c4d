import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { unitVector } from "../../src/testing/contracts/vector-index.contract.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const DIM = 384;
const vec = (seed: number) => Array.from(unitVector(seed, DIM));
/** A vector at cosine ≈ `cos` from `base` (mixing in an orthogonal-ish direction). */
function near(base: number[], other: number[], cos: number): number[] {
  const w = Math.sqrt(1 - cos * cos);
  const v = base.map((b, i) => cos * b + w * (other[i] as number));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

describe("knowledge writes", () => {
  let s: TestServer;
  let alice: { id: string; key: string };
  before(async () => {
    s = await startTestServer();
    alice = await s.user("k-alice");
    await s.golem(alice.key, { id: "k-alice-g" });
  });
  after(() => s.close());

  const write = (body: Record<string, unknown>) =>
    s.request("POST", "/v1/styx/entries", { token: alice.key, body: { golem_id: "k-alice-g", content: `note ${Math.random()}`, ...body } });

  it("promotes to the clade exactly at each gate", async () => {
    const cases: [string, number, boolean][] = [
      ["warning", 0.39, false],
      ["warning", 0.4, true],
      ["insight", 0.59, false],
      ["insight", 0.6, true],
      ["heuristic", 0.69, false],
      ["heuristic", 0.7, true],
      ["strategy_fragment", 0.59, false],
      ["strategy_fragment", 0.6, true],
    ];
    for (const [category, confidence, clade] of cases) {
      const r = await write({ layer: "clade", category, confidence });
      assert.equal(r.status, 201, r.text);
      const expected = clade ? ["vault:k-alice", "clade:k-alice"] : ["vault:k-alice"];
      assert.deepEqual(r.json.namespaces, expected, `${category} at ${confidence}`);
      assert.equal(r.json.lethe_at, undefined);
    }
    const vaultOnly = await write({ layer: "vault", category: "warning", confidence: 1 });
    assert.deepEqual(vaultOnly.json.namespaces, ["vault:k-alice"]);
  });

  it("queues lethe only for layer lethe with a domain at confidence ≥ 0.6 (waiting: one user is below STYX_LETHE_K = 3)", async () => {
    const queued = await write({ layer: "lethe", category: "insight", confidence: 0.6, domain: "defi" });
    assert.equal(queued.json.lethe, "waiting");
    assert.equal(queued.json.lethe_at, undefined);
    for (const gatedOut of [
      await write({ layer: "lethe", category: "insight", confidence: 0.59, domain: "defi" }),
      await write({ layer: "lethe", category: "insight", confidence: 0.9 }),
    ]) {
      assert.equal(gatedOut.json.lethe_at, undefined);
      assert.equal(gatedOut.json.lethe, undefined);
    }
  });

  it("answers a repeated idempotency key with the first answer and stores nothing", async () => {
    const body = { layer: "clade", category: "insight", confidence: 0.9, content: "idempotent note", idempotency_key: "op-42" };
    const first = await write(body);
    const again = await write({ ...body, content: "a different text", confidence: 0.1 });
    assert.equal(again.status, 201);
    assert.deepEqual(again.json, first.json);
    assert.equal(again.headers.get("idempotency-replayed"), "true");
    const snap = await s.request("GET", "/v1/styx/snapshot/k-alice-g?format=json&limit=1000", { token: alice.key });
    const matching = snap.json.entries.filter(
      (e: { content: string }) => e.content === "idempotent note" || e.content === "a different text",
    );
    assert.equal(matching.length, 1);
  });

  it("answers a golem-bound key 409 for a key its sibling used (its replay would be the sibling's entry), its own key's replay as usual", async () => {
    await s.golem(alice.key, { id: "k-alice-g2" });
    const k = await s.request("POST", "/v1/admin/users/k-alice/keys", {
      token: s.adminToken,
      body: { name: "g2", golem_id: "k-alice-g2" },
    });
    const bound = (body: Record<string, unknown>) =>
      s.request("POST", "/v1/styx/entries", {
        token: k.json.key,
        body: { golem_id: "k-alice-g2", layer: "vault", category: "insight", ...body },
      });
    const sibling = await write({ layer: "vault", category: "insight", content: "sibling's private note", idempotency_key: "op-sib" });
    const refused = await bound({ content: "mine", idempotency_key: "op-sib" });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, "STYX_CONFLICT");
    assert.ok(!refused.text.includes(sibling.json.id), "the sibling's entry id stays unseen");
    const batch = await s.request("POST", "/v1/styx/entries/batch", {
      token: k.json.key,
      body: { entries: [{ golem_id: "k-alice-g2", layer: "vault", category: "insight", content: "mine", idempotency_key: "op-sib" }] },
    });
    assert.equal(batch.status, 409, batch.text);
    const own = await bound({ content: "mine", idempotency_key: "op-own" });
    const again = await bound({ content: "mine again", idempotency_key: "op-own" });
    assert.deepEqual([own.status, again.status, again.json.id], [201, 201, own.json.id]);
    // An owner key keeps the user-wide replay it always had.
    const owner = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: "k-alice-g2", layer: "vault", category: "insight", content: "x", idempotency_key: "op-sib" },
    });
    assert.deepEqual([owner.status, owner.json.id], [201, sibling.json.id]);
  });

  it("writes a batch in one transaction: per-entry gates, all or nothing, and no foreign golem", async () => {
    const count = async () =>
      (await s.request("GET", "/v1/styx/snapshot/k-alice-g?format=json&limit=1000", { token: alice.key })).json.entries.length;
    const before = await count();
    const ok = await s.request("POST", "/v1/styx/entries/batch", {
      token: alice.key,
      body: {
        entries: [
          { golem_id: "k-alice-g", layer: "clade", category: "warning", confidence: 0.4, content: "batch one" },
          { golem_id: "k-alice-g", layer: "clade", category: "warning", confidence: 0.39, content: "batch two", idempotency_key: "b-2" },
          {
            golem_id: "k-alice-g",
            layer: "clade",
            category: "warning",
            confidence: 0.9,
            content: "batch two again",
            idempotency_key: "b-2",
          },
        ],
      },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(
      ok.json.results.map((r: { namespaces: string[] }) => r.namespaces.length),
      [2, 1, 1],
    );
    assert.equal(ok.json.results[2].id, ok.json.results[1].id, "the repeated key answers with the first entry");
    assert.equal(await count(), before + 2);

    const bad = await s.request("POST", "/v1/styx/entries/batch", {
      token: alice.key,
      body: {
        entries: [
          { golem_id: "k-alice-g", layer: "vault", category: "insight", content: "would be lost" },
          {
            golem_id: "k-alice-g",
            layer: "vault",
            category: "insight",
            content: "refers to a blob nobody has",
            content_blob: `b3:${"ab".repeat(32)}`,
          },
        ],
      },
    });
    assert.equal(bad.status, 404);
    assert.equal(bad.json.error.details[0].path, "/entries/1/content_blob");
    const bob = await s.user("k-bob");
    await s.golem(bob.key, { id: "k-bob-g" });
    const foreign = await s.request("POST", "/v1/styx/entries/batch", {
      token: alice.key,
      body: {
        entries: [
          { golem_id: "k-alice-g", layer: "vault", category: "insight", content: "would be lost too" },
          { golem_id: "k-bob-g", layer: "vault", category: "insight", content: "into bob's vault" },
        ],
      },
    });
    assert.equal(foreign.status, 404);
    assert.equal(await count(), before + 2, "a refused batch stored something");
  });

  it("rejects a wrong-sized or zero embedding and oversized content or metadata", async () => {
    assert.equal((await write({ layer: "vault", category: "insight", embedding: [1, 2, 3] })).status, 400);
    assert.equal((await write({ layer: "vault", category: "insight", embedding: new Array(DIM).fill(0) })).status, 400);
    const big = await write({ layer: "vault", category: "insight", content: "é".repeat(40_000) });
    assert.equal(big.status, 400);
    assert.match(big.json.error.message, /bytes/);
    assert.equal((await write({ layer: "vault", category: "insight", metadata: { pad: "x".repeat(5000) } })).status, 400);
  });

  it("stores an embedding of huge or tiny components as its unit vector, never as zeros", async () => {
    // Two directions (all ones; alternating signs), so the query ranking's near-duplicate collapse keeps both.
    const ones = new Array(DIM).fill(1);
    const alternating = ones.map((_, i) => (i % 2 ? -1 : 1));
    const cases: [string, number[], number][] = [
      ["huge", ones, 1e308],
      ["tiny", alternating, 1e-200],
    ];
    for (const [name, direction, scale] of cases) {
      const r = await write({
        layer: "vault",
        category: "insight",
        content: `${name} direction`,
        embedding: direction.map((x) => x * scale),
      });
      assert.equal(r.status, 201, `${name}: ${r.text}`);
      const page = await s.request("GET", "/v1/styx/snapshot/k-alice-g?format=json&limit=1000", { token: alice.key });
      const e = page.json.entries.find((x: { content: string }) => x.content === `${name} direction`);
      e.embedding.forEach((c: number, i: number) => {
        assert.ok(Math.abs(c - (direction[i] as number) / Math.sqrt(DIM)) < 1e-6, `${name}: component ${i} is ${c}`);
      });
    }
    for (const [name, direction] of cases) {
      const q = await s.request("POST", "/v1/styx/query", {
        token: alice.key,
        body: { embedding: direction, layers: ["vault"], limit: 1 },
      });
      assert.equal(q.json.hits[0]?.content, `${name} direction`, q.text);
    }
  });

  it("refuses an embedding without a direction with 400 naming it: zeros, or non-finite numbers in a query string", async () => {
    const zero = await write({ layer: "vault", category: "insight", embedding: new Array(DIM).fill(0) });
    assert.equal(zero.status, 400);
    assert.equal(zero.json.error.code, "STYX_VALIDATION");
    assert.deepEqual(
      zero.json.error.details.map((d: { path: string }) => d.path),
      ["/embedding"],
    );
    const batch = await s.request("POST", "/v1/styx/entries/batch", {
      token: alice.key,
      body: {
        entries: [vec(1), new Array(DIM).fill(0)].map((embedding) => ({
          golem_id: "k-alice-g",
          layer: "vault",
          category: "insight",
          content: "batch",
          embedding,
        })),
      },
    });
    assert.equal(batch.status, 400);
    assert.deepEqual(
      batch.json.error.details.map((d: { path: string }) => d.path),
      ["/entries/1/embedding"],
    );
    for (const bad of ["1e999", "-1e999", "1.2.3"]) {
      const q = await s.request("GET", `/v1/styx/query?embedding=${[bad, ...new Array(DIM - 1).fill("0.1")].join(",")}`, {
        token: alice.key,
      });
      assert.equal(q.status, 400, `${bad}: ${q.text}`);
      assert.equal(q.json.error.code, "STYX_VALIDATION");
      assert.deepEqual(
        q.json.error.details.map((d: { path: string }) => d.path),
        ["/embedding"],
        bad,
      );
    }
  });

  it("hides an expired entry at once and purges it with the TTL task", async () => {
    const clock = new ManualClock();
    const t = await startTestServer({ clock, persistent: true });
    try {
      const u = await t.user("ttl");
      await t.golem(u.key, { id: "ttl-g" });
      const r = await t.request("POST", "/v1/styx/entries", {
        token: u.key,
        body: {
          golem_id: "ttl-g",
          layer: "vault",
          category: "insight",
          content: "ephemeral marmot sighting",
          ttl_seconds: 60,
          embedding: vec(5),
        },
      });
      assert.equal(r.status, 201);
      const find = async () => (await t.request("POST", "/v1/styx/query", { token: u.key, body: { query: "marmot" } })).json.hits.length;
      assert.equal(await find(), 1);
      clock.advance(61_000);
      assert.equal(await find(), 0);
      assert.equal((await t.request("POST", "/v1/styx/query", { token: u.key, body: { embedding: vec(5) } })).json.hits.length, 0);
      await t.styx.tasks.runNow("ttl-expiry");
      assert.equal((await t.styx.storage.entries.getBySeqs([1], { userId: "ttl", cladeOnly: false, now: 0 })).length, 0);
    } finally {
      await t.close();
    }
  });
});

describe("knowledge query ranking", () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1));
  let s: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  const bobIds = new Set<string>();

  before(async () => {
    s = await startTestServer({ clock });
    alice = await s.user("r-alice");
    bob = await s.user("r-bob");
    await s.golem(alice.key, { id: "r-a1" });
    await s.golem(alice.key, { id: "r-a2" });
    await s.golem(bob.key, { id: "r-b1" });
    const w = async (key: string, body: Record<string, unknown>) => {
      const r = await s.request("POST", "/v1/styx/entries", { token: key, body });
      assert.equal(r.status, 201, r.text);
      return r.json.id as string;
    };
    await w(alice.key, {
      golem_id: "r-a1",
      layer: "vault",
      category: "insight",
      content: "liquidity dries up before funding flips",
      embedding: vec(1),
      confidence: 0.7,
    });
    await w(alice.key, {
      golem_id: "r-a2",
      layer: "clade",
      category: "warning",
      content: "oracle lag on thin pairs",
      embedding: vec(2),
      confidence: 0.8,
      domain: "defi",
    });
    await w(alice.key, { golem_id: "r-a1", layer: "vault", category: "insight", content: "duplicate wisdom", embedding: vec(3) });
    await w(alice.key, { golem_id: "r-a2", layer: "vault", category: "insight", content: "duplicate wisdom", embedding: vec(4) });
    await w(alice.key, {
      golem_id: "r-a1",
      layer: "vault",
      category: "insight",
      content: "twin one",
      embedding: near(vec(6), vec(7), 0.95),
    });
    await w(alice.key, { golem_id: "r-a2", layer: "vault", category: "insight", content: "twin two", embedding: vec(6) });
    for (let i = 0; i < 30; i++) {
      bobIds.add(
        await w(bob.key, {
          golem_id: "r-b1",
          layer: "clade",
          category: "warning",
          content: i % 2 ? "liquidity dries up before funding flips" : `oracle lag ${i}`,
          embedding: vec(i % 3 ? 1 : 2),
          confidence: 0.9,
        }),
      );
    }
    clock.advance(24 * 3_600_000);
  });
  after(() => s.close());

  const query = (key: string, body: Record<string, unknown>) =>
    s.request("POST", "/v1/styx/query", { token: key, body: { explain: true, ...body } });

  it("scores a hit exactly by the mortal-score formula", async () => {
    const r = await query(alice.key, { embedding: vec(1), layers: ["vault"], limit: 1 });
    const hit = r.json.hits[0];
    assert.equal(hit.content, "liquidity dries up before funding flips");
    const temporal = Math.exp(-24 / 168);
    assert.deepEqual(hit.explain, {
      semantic: 1,
      temporal: Math.round(temporal * 1e6) / 1e6,
      quality: 0.7,
      provenance: 1,
      bloodstain: 0,
      layer_weight: 1,
    });
    const expected = 1 * (0.4 * 1 + 0.25 * temporal + 0.15 * 0.7 + 0.15 * 1 + 0.05 * 0);
    assert.ok(Math.abs(hit.score - expected) < 1e-5, `${hit.score} vs ${expected}`);
  });

  it("weighs the clade 0.8 and a sibling's entry 0.9 for a golem-bound key", async () => {
    const k = await s.request("POST", "/v1/admin/users/r-alice/keys", { token: s.adminToken, body: { name: "a1", golem_id: "r-a1" } });
    const r = await query(k.json.key, { embedding: vec(2), layers: ["clade"], limit: 1 });
    const hit = r.json.hits[0];
    assert.equal(hit.namespace, "clade:r-alice");
    assert.equal(hit.explain.layer_weight, 0.8);
    assert.equal(hit.explain.provenance, 0.9);
    const e = hit.explain;
    const expected = 0.8 * (0.4 * e.semantic + 0.25 * e.temporal + 0.15 * e.quality + 0.15 * 0.9);
    assert.ok(Math.abs(hit.score - expected) < 1e-5);
  });

  it("decays knowledge inherited from an ancestor through the clade by 0.85 per generation", async () => {
    await s.golem(alice.key, { id: "r-a1-child", parent_golem_id: "r-a1" });
    await s.golem(alice.key, { id: "r-a1-grandchild", parent_golem_id: "r-a1-child" });
    const inherited = await s.request("POST", "/v1/styx/entries", {
      token: alice.key,
      body: { golem_id: "r-a1", layer: "clade", category: "insight", content: "passed down the line", embedding: vec(8), confidence: 0.7 },
    });
    assert.equal(inherited.status, 201);
    const k = await s.request("POST", "/v1/admin/users/r-alice/keys", {
      token: s.adminToken,
      body: { name: "gc", golem_id: "r-a1-grandchild" },
    });
    const r = await query(k.json.key, { embedding: vec(8), limit: 1 });
    const hit = r.json.hits[0];
    assert.equal(hit.content, "passed down the line");
    assert.equal(hit.layer, "clade");
    assert.ok(Math.abs(hit.explain.quality - 0.7 * 0.85 ** 2) < 1e-6, `quality ${hit.explain.quality}`);
  });

  it("shows a golem-bound key its own vault entries and the clade, never a sibling's or an ancestor's vault entry (SPEC §3)", async () => {
    const k = await s.request("POST", "/v1/admin/users/r-alice/keys", { token: s.adminToken, body: { name: "a2", golem_id: "r-a2" } });
    const seen = new Set<string>();
    for (const body of [
      { query: "liquidity dries up before funding flips" },
      { query: "duplicate wisdom twin oracle", limit: 100 },
      { embedding: vec(1), limit: 100 },
      { embedding: vec(3), layers: ["vault"], limit: 100 },
    ]) {
      const r = await query(k.json.key, body);
      assert.equal(r.status, 200, r.text);
      for (const h of r.json.hits as { content: string; layer: string }[]) if (h.layer !== "lethe") seen.add(h.content);
    }
    assert.ok(!seen.has("liquidity dries up before funding flips"), "r-a1's vault entry");
    assert.ok(!seen.has("twin one"), "r-a1's vault entry");
    assert.ok(seen.has("twin two") && seen.has("duplicate wisdom") && seen.has("oracle lag on thin pairs"), [...seen].join(" | "));
  });

  it("collapses identical content and near-identical vectors to one hit", async () => {
    const dup = await query(alice.key, { query: "duplicate wisdom", layers: ["vault"] });
    assert.equal(dup.json.hits.filter((h: { content: string }) => h.content === "duplicate wisdom").length, 1);
    const twins = await query(alice.key, { embedding: vec(6), layers: ["vault"] });
    assert.equal(twins.json.hits.filter((h: { content: string }) => h.content.startsWith("twin")).length, 1);
  });

  it("never returns another user's vault or clade entry, whatever the query", async () => {
    const probes: Record<string, unknown>[] = [
      { query: "liquidity dries up before funding flips" },
      { query: "oracle lag" },
      { embedding: vec(1) },
      { embedding: vec(2), query: "oracle" },
      { embedding: vec(2), layers: ["clade"], domains: ["defi"] },
      { query: "r-bob r-b1" },
    ];
    for (let i = 0; i < 20; i++) probes.push({ embedding: vec(1000 + i), limit: 100 });
    for (const body of probes) {
      const r = await query(alice.key, { limit: 100, ...body });
      assert.equal(r.status, 200, r.text);
      for (const h of r.json.hits) {
        assert.ok(!bobIds.has(h.id), `bob's entry ${h.id} leaked for ${JSON.stringify(body).slice(0, 60)}`);
        assert.ok(!h.namespace.includes("r-bob"));
      }
    }
  });

  it("serves lexical-only, vector-only and fused queries, by POST and by GET", async () => {
    const lexical = await query(alice.key, { query: "oracle thin pairs" });
    assert.equal(lexical.json.hits[0].content, "oracle lag on thin pairs");
    assert.equal(lexical.json.hits[0].explain.semantic, 1);
    const vector = await query(alice.key, { embedding: vec(2) });
    assert.equal(vector.json.hits[0].content, "oracle lag on thin pairs");
    const fused = await query(alice.key, { embedding: vec(1), query: "oracle" });
    const contents = fused.json.hits.map((h: { content: string }) => h.content);
    assert.ok(contents.includes("oracle lag on thin pairs") && contents.includes("liquidity dries up before funding flips"));
    const viaGet = await s.request("GET", `/v1/styx/query?query=oracle&layers=vault,clade&limit=5&explain=true`, { token: alice.key });
    assert.equal(viaGet.status, 200, viaGet.text);
    assert.equal(viaGet.json.hits[0].content, "oracle lag on thin pairs");
    const neither = await query(alice.key, {});
    assert.equal(neither.status, 400);
  });
});

describe("entries with large content in a blob", () => {
  it("reference a blob of the writer, and refuse another user's blob", async () => {
    const s = await startTestServer({ persistent: true });
    try {
      const alice = await s.user("blob-alice");
      const bob = await s.user("blob-bob");
      await s.golem(alice.key, { id: "blob-alice-g" });
      await s.golem(bob.key, { id: "blob-bob-g" });
      const put = await s.request("PUT", "/v1/styx/blobs", {
        token: alice.key,
        raw: "x".repeat(200_000),
        headers: { "content-type": "application/octet-stream" },
      });
      assert.equal(put.status, 201, put.text);
      const cid = put.json.cid;
      const body = { layer: "vault", category: "strategy_fragment", content: "summary of a long playbook", content_blob: cid };
      const mine = await s.request("POST", "/v1/styx/entries", { token: alice.key, body: { ...body, golem_id: "blob-alice-g" } });
      assert.equal(mine.status, 201, mine.text);
      const theirs = await s.request("POST", "/v1/styx/entries", { token: bob.key, body: { ...body, golem_id: "blob-bob-g" } });
      assert.equal(theirs.status, 404);
      const snap = await s.request("GET", "/v1/styx/snapshot/blob-alice-g?format=json", { token: alice.key });
      assert.equal(snap.json.entries[0].content_blob, cid);
    } finally {
      await s.close();
    }
  });
});

describe("vector indexes across restarts", () => {
  it("keep every domain's lethe entries searchable after an upgrade from per-domain lethe indexes only", async () => {
    const dir = (await import("node:fs")).mkdtempSync(join(tmpdir(), "styx-vec-lethe-"));
    const clock = new ManualClock();
    const env = { STYX_LETHE_DELAY: "0s-1s" };
    const topics = ["oracle drift", "funding flip", "thin books", "bridge delay", "gas spike", "vault drain"];
    let cluster: string | undefined;
    try {
      let s = await startTestServer({ dataDir: dir, clock, env });
      if (s.profile === "macro") cluster = s.styx.config.cluster;
      // Three users write to each domain, so both domains publish however many distinct writers lethe waits for.
      for (let u = 0; u < 3; u++) {
        const user = await s.user(`up${u}`);
        await s.golem(user.key, { id: `up${u}-g` });
        for (const [d, domain] of ["perps", "lending"].entries()) {
          const j = u * 2 + d;
          const body = { golem_id: `up${u}-g`, layer: "lethe", domain, category: "insight", confidence: 0.9, content: topics[j] };
          const r = await s.request("POST", "/v1/styx/entries", { token: user.key, body: { ...body, embedding: vec(300 + j) } });
          assert.equal(r.status, 201, r.text);
        }
      }
      clock.advance(2000);
      await s.styx.tasks.runNow("lethe-publish");
      assert.equal(Number((await s.sql("SELECT COUNT(*) AS n FROM lethe_entries"))[0].n), 6);
      await s.close();
      if (s.profile === "micro") {
        // What a build before the all-domains lethe index saved: version 1, lethe vectors in their domains' indexes only.
        const file = join(dir, "vectors", "manifest.json");
        const manifest = JSON.parse(readFileSync(file, "utf8")) as { version: number; namespaces: { ns: string; file: string }[] };
        const all = manifest.namespaces.find((n) => n.ns === "lethe");
        assert.ok(all, "the cache holds the all-domains lethe index");
        rmSync(join(dir, "vectors", all.file));
        const old = { ...manifest, version: 1, namespaces: manifest.namespaces.filter((n) => n !== all) };
        writeFileSync(file, JSON.stringify(old));
      }

      s = await startTestServer({ dataDir: dir, clock, env });
      try {
        // A micronode keeps its version-1 indexes and reads the lethe vectors again; a gateway reads everything from the store.
        if (s.profile === "micro")
          assert.equal(s.styx.knowledge.rebuilt?.put, 12, "each lethe vector goes to its domain's and the all-domains index");
        const reader = await s.user("up-reader");
        for (let j = 0; j < 6; j++) {
          const r = await s.request("POST", "/v1/styx/query", { token: reader.key, body: { embedding: vec(300 + j), limit: 1 } });
          assert.equal(r.json.hits[0]?.content, topics[j], `lethe entry ${j} not found without naming its domain`);
          assert.equal(r.json.hits[0]?.namespace, `lethe:${j % 2 === 0 ? "perps" : "lending"}`);
        }
        const named = await s.request("POST", "/v1/styx/query", {
          token: reader.key,
          body: { embedding: vec(301), domains: ["lending"], limit: 3 },
        });
        assert.deepEqual(
          named.json.hits.map((h: { domain: string }) => h.domain),
          ["lending", "lending", "lending"],
        );
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (cluster) await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
    }
  });

  it("are rebuilt at start: a micronode loads its saved cache, a gateway its store's vectors; later vectors go on top", async () => {
    const dir = (await import("node:fs")).mkdtempSync(join(tmpdir(), "styx-vec-"));
    let cluster: string | undefined;
    try {
      let s = await startTestServer({ dataDir: dir });
      if (s.profile === "macro") cluster = s.styx.config.cluster;
      const u = await s.user("vc");
      await s.golem(u.key, { id: "vc-g" });
      const write = async (t: TestServer, i: number) =>
        t.request("POST", "/v1/styx/entries", {
          token: u.key,
          body: { golem_id: "vc-g", layer: "vault", category: "insight", content: `v${i}`, embedding: vec(100 + i) },
        });
      for (let i = 0; i < 20; i++) assert.equal((await write(s, i)).status, 201);
      await s.close();
      if (s.profile === "micro") assert.ok(existsSync(join(dir, "vectors", "manifest.json")), "no vector cache after a clean shutdown");

      s = await startTestServer({ dataDir: dir });
      try {
        assert.deepEqual(
          s.styx.knowledge.rebuilt,
          // A gateway keeps no cache on local disk: it indexes the store's vectors.
          s.profile === "micro" ? { loaded: 1, put: 0 } : { loaded: 0, put: 20 },
          "the index was not rebuilt the way this profile rebuilds it",
        );
        assert.equal((await write(s, 20)).status, 201);
        for (const i of [3, 20]) {
          const r = await s.request("POST", "/v1/styx/query", { token: u.key, body: { embedding: vec(100 + i), limit: 1 } });
          assert.equal(r.json.hits[0]?.content, `v${i}`);
        }
      } finally {
        await s.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (cluster) await (await import("../../src/testing/services.js")).dropClusters((c) => c === cluster);
    }
  });
});
