import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type FakeEmbedder, startFakeEmbedder } from "../../src/testing/fake-embedder-server.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

describe("with STYX_EMBEDDER_URL", () => {
  let embedder: FakeEmbedder;
  let s: TestServer;
  let key: string;
  before(async () => {
    embedder = await startFakeEmbedder({
      dimensions: 384,
      apiKey: "sk-local-embedder-key-123",
      // Texts the model gives no direction: a zero vector, and one whose components overflow to Infinity in JSON (1e999).
      mangle: (a, input) => {
        const data = a.data.map((d) => {
          const text = input[d.index] ?? "";
          if (text.includes("nothing at all")) return { ...d, embedding: d.embedding.map(() => 0) };
          if (text.includes("beyond infinity")) return { ...d, embedding: d.embedding.map(() => 7e77) };
          return d;
        });
        return JSON.stringify({ ...a, data }).replaceAll("7e+77", "1e999");
      },
    });
    s = await startTestServer({
      env: {
        STYX_EMBEDDER_URL: embedder.url,
        STYX_EMBEDDER_API_KEY: "sk-local-embedder-key-123",
        STYX_EMBEDDER_MODEL: "text-embedding-3-small",
      },
    });
    const u = await s.user("emb");
    key = u.key;
    await s.golem(key, { id: "emb-g" });
  });
  after(async () => {
    await s.close();
    await embedder.close();
  });

  it("embeds text-only writes and queries through the OpenAI-compatible endpoint", async () => {
    const texts = [
      "whales rotate into staking before unlocks",
      "gas spikes break arbitrage loops",
      "staking unlocks trigger whale rotation",
    ];
    for (const content of texts) {
      const r = await s.request("POST", "/v1/styx/entries", {
        token: key,
        body: { golem_id: "emb-g", layer: "vault", category: "insight", content },
      });
      assert.equal(r.status, 201, r.text);
    }
    const before = embedder.requests();
    assert.ok(before >= 3, `the embedder saw ${before} requests`);
    const q = await s.request("POST", "/v1/styx/query", {
      token: key,
      body: { query: "whale staking rotation", explain: true, layers: ["vault"] },
    });
    assert.equal(q.status, 200, q.text);
    assert.equal(embedder.requests(), before + 1);
    const [first, second] = q.json.hits;
    assert.ok(
      first.content.includes("staking") && second.content.includes("staking"),
      JSON.stringify(q.json.hits.map((h: { content: string }) => h.content)),
    );
    // Fused: BM25 alone gives at most 0.3 of the semantic factor; the rest must come from the vectors.
    assert.ok(first.explain.semantic > 0.3, `semantic ${first.explain.semantic}`);
  });

  it("refuses with 400 naming the text a text the embedder gives a zero or non-finite vector, and stores nothing", async () => {
    const one = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: { golem_id: "emb-g", layer: "vault", category: "insight", content: "nothing at all" },
    });
    assert.equal(one.status, 400, one.text);
    assert.equal(one.json.error.code, "STYX_VALIDATION");
    assert.equal(one.json.error.details[0].path, "/content");
    const batch = await s.request("POST", "/v1/styx/entries/batch", {
      token: key,
      body: {
        entries: ["a fine insight about gas", "beyond infinity"].map((content) => ({
          golem_id: "emb-g",
          layer: "vault",
          category: "insight",
          content,
        })),
      },
    });
    assert.equal(batch.status, 400, batch.text);
    assert.equal(batch.json.error.details[0].path, "/entries/1/content");
    const q = await s.request("POST", "/v1/styx/query", { token: key, body: { query: "nothing at all" } });
    assert.equal(q.status, 400, q.text);
    assert.equal(q.json.error.details[0].path, "/query");
    const lexical = await s.request("POST", "/v1/styx/query", {
      token: key,
      body: { query: "fine insight gas", embedding: new Array(384).fill(0.05), layers: ["vault"] },
    });
    assert.equal(
      lexical.json.hits.filter((h: { content: string }) => h.content === "a fine insight about gas").length,
      0,
      "the batch stored nothing",
    );
    // With its own embedding the same text is written: the embedder is not asked.
    const own = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: { golem_id: "emb-g", layer: "vault", category: "insight", content: "nothing at all", embedding: new Array(384).fill(0.05) },
    });
    assert.equal(own.status, 201, own.text);
  });

  it("answers 502 STYX_EMBEDDER_FAILED when the embedder keeps failing, and stores nothing", async () => {
    embedder.failNext(4);
    const r = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: { golem_id: "emb-g", layer: "vault", category: "insight", content: "lost write" },
    });
    assert.equal(r.status, 502);
    assert.equal(r.json.error.code, "STYX_EMBEDDER_FAILED");
    assert.ok(!r.text.includes("sk-local-embedder-key-123"));
    const q = await s.request("POST", "/v1/styx/query", {
      token: key,
      body: { query: "lost write", embedding: new Array(384).fill(0.05) },
    });
    assert.equal(q.json.hits.filter((h: { content: string }) => h.content === "lost write").length, 0);
  });
});
