import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StyxClient } from "@styx/client";
import { ManualClock } from "../../src/core/platform/clock.js";
import { unitVector } from "../../src/testing/contracts/vector-index.contract.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const DIM = 384;
const vec = (seed: number) => Array.from(unitVector(seed, DIM));

describe("entries one at a time (SPEC §4.1): get, list, delete, validate", () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  let s: TestServer;
  let alice: { id: string; key: string };
  let bob: { id: string; key: string };
  /** A key bound to alice's golem e-a1. */
  let a1Key: string;
  before(async () => {
    s = await startTestServer({ clock, env: { STYX_LETHE_K: "1", STYX_LETHE_DELAY: "0s-1s" } });
    alice = await s.user("e-alice");
    bob = await s.user("e-bob");
    for (const id of ["e-a1", "e-a2", "e-a3"]) await s.golem(alice.key, { id });
    await s.golem(bob.key, { id: "e-b1" });
    const k = await s.request("POST", `/v1/admin/users/${alice.id}/keys`, { token: s.adminToken, body: { name: "a1", golem_id: "e-a1" } });
    a1Key = k.json.key;
  });
  after(() => s.close());

  const write = async (token: string, body: Record<string, unknown>) => {
    const r = await s.request("POST", "/v1/styx/entries", {
      token,
      body: { layer: "vault", category: "insight", content: `note ${Math.random()}`, ...body },
    });
    assert.equal(r.status, 201, r.text);
    clock.advance(1000);
    return r.json as { id: string; namespaces: string[]; lethe_at?: string; lethe?: string };
  };
  const get = (token: string, path: string) => s.request("GET", path, { token });
  const list = async (token: string, query: string) => {
    const r = await get(token, `/v1/styx/entries?${query}`);
    assert.equal(r.status, 200, r.text);
    return r.json as { entries: { id: string; content: string; metadata: Record<string, unknown> }[]; next_cursor: string | null };
  };

  it("reads an entry back by id, with its fields and validation counts", async () => {
    const w = await write(alice.key, { golem_id: "e-a1", content: "readable", metadata: { venue: "x" }, embedding: vec(1) });
    const r = await get(alice.key, `/v1/styx/entries/${w.id}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, w.id);
    assert.equal(r.json.golem_id, "e-a1");
    assert.equal(r.json.content, "readable");
    assert.deepEqual(r.json.metadata, { venue: "x" });
    assert.deepEqual(r.json.namespaces, ["vault:e-alice"]);
    assert.equal(r.json.embedding.length, DIM);
    assert.deepEqual([r.json.validations, r.json.contradictions], [0, 0]);
  });

  it("answers another user's id, a missing id and a sibling's private entry (golem key) with the same 404", async () => {
    const mine = await write(alice.key, { golem_id: "e-a2", content: "a2 private" });
    const shared = await write(alice.key, { golem_id: "e-a2", layer: "clade", confidence: 0.9, content: "a2 clade" });
    const missing = await get(bob.key, "/v1/styx/entries/ent_doesnotexist");
    const other = await get(bob.key, `/v1/styx/entries/${mine.id}`);
    assert.equal(other.status, 404);
    assert.equal(other.json.error.code, "STYX_NOT_FOUND");
    assert.deepEqual({ ...other.json.error, request_id: 0 }, { ...missing.json.error, request_id: 0 }, "no signal of existence");
    assert.equal((await s.request("DELETE", `/v1/styx/entries/${mine.id}`, { token: bob.key })).status, 404);
    assert.equal((await get(a1Key, `/v1/styx/entries/${mine.id}`)).status, 404, "a sibling's vault entry is absent to a golem key");
    assert.equal((await get(a1Key, `/v1/styx/entries/${shared.id}`)).status, 200, "the clade is shared");
    assert.equal((await s.request("DELETE", `/v1/styx/entries/${shared.id}`, { token: a1Key })).status, 404, "but not its to delete");
    assert.equal((await get(alice.key, `/v1/styx/entries/${mine.id}`)).status, 200);
  });

  it("lists the caller's entries with filters and cursor pages in a stable order", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const w = await write(alice.key, {
        golem_id: "e-a3",
        category: i % 2 ? "warning" : "insight",
        domain: "perps",
        metadata: { run: "r7", i, odd: i % 2 === 1, constructor: "c", toString: "t" },
        content: `listed ${i}`,
      });
      ids.push(w.id);
    }
    await write(bob.key, { golem_id: "e-b1", domain: "perps", metadata: { run: "r7" }, content: "bob's" });
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 5; page++) {
      const p = await list(alice.key, `golem_id=e-a3&limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...p.entries.map((e) => e.id));
      cursor = p.next_cursor;
      if (!cursor) break;
    }
    assert.deepEqual(seen, ids, "every entry once, oldest first");
    assert.deepEqual(
      (await list(alice.key, "metadata.run=r7&category=warning")).entries.map((e) => e.id),
      [ids[1], ids[3]],
    );
    assert.deepEqual(
      (await list(alice.key, "metadata.i=2")).entries.map((e) => e.id),
      [ids[2]],
      "a number by its text",
    );
    assert.deepEqual(
      (await list(alice.key, "metadata.odd=true&golem_id=e-a3")).entries.map((e) => e.id),
      [ids[1], ids[3]],
    );
    // Bodies refuse a `__proto__` key (no entry holds one); as a filter it is data and matches nothing.
    assert.equal((await list(alice.key, "metadata.__proto__=p")).entries.length, 0);
    assert.equal((await list(alice.key, "metadata.constructor=c&metadata.toString=t")).entries.length, 5);
    assert.equal((await list(alice.key, "metadata.constructor=c&metadata.toString=x")).entries.length, 0);
    assert.equal((await list(alice.key, "metadata.hasOwnProperty=c")).entries.length, 0);
    assert.equal((await list(bob.key, "metadata.run=r7")).entries.length, 1, "bob sees his own only");
    const mid = (await get(alice.key, `/v1/styx/entries/${ids[2]}`)).json.created_at as string;
    const range = await list(alice.key, `golem_id=e-a3&created_after=${mid}`);
    assert.deepEqual(
      range.entries.map((e) => e.id),
      ids.slice(3),
    );
    assert.deepEqual(
      (await list(alice.key, `golem_id=e-a3&created_before=${mid}&domain=perps`)).entries.map((e) => e.id),
      ids.slice(0, 2),
    );
    assert.deepEqual((await list(alice.key, "golem_id=e-a3&layer=clade")).entries, []);
    const own = await list(a1Key, "limit=100");
    assert.ok(own.entries.length > 0 && own.entries.every((e) => !ids.includes(e.id)), "a golem key lists its golem's entries");
    assert.equal((await get(a1Key, "/v1/styx/entries?golem_id=e-a3")).status, 404, "a sibling named is absent");
    assert.equal((await get(bob.key, "/v1/styx/entries?golem_id=e-a3")).status, 404);
  });

  it("refuses bad listings with 400, never 500", async () => {
    const big = "x".repeat(64 * 1024);
    const cases = [
      "unknown=1",
      "__proto__=1",
      "constructor=1",
      "metadata.=x",
      `metadata.${"k".repeat(65)}=x`,
      `metadata.k=${"v".repeat(257)}`,
      "metadata.k=%00",
      Array.from({ length: 9 }, (_, i) => `metadata.k${i}=v`).join("&"),
      "cursor=notacursor",
      `cursor=${Buffer.from("1~ent_x~").toString("base64url")}`,
      `cursor=${Buffer.from("-5~ent_x").toString("base64url")}`,
      `cursor=${big.slice(0, 2000)}`,
      "limit=0",
      "limit=101",
      "limit=1e999",
      "layer=lethe",
      "created_after=yesterday",
      "golem_id=a:b",
      "golem_id=x&golem_id=y",
      `metadata.k=${"v".repeat(12 * 1024)}`,
      `golem_id=${"g".repeat(12 * 1024)}`,
    ];
    for (const q of cases) {
      const r = await get(alice.key, `/v1/styx/entries?${q}`);
      assert.equal(r.status, 400, `${q.slice(0, 60)} → ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.json.error.code, "STYX_VALIDATION", q.slice(0, 60));
    }
    // 64 KiB of query string passes Node's 16 KiB request-head limit: refused before any route.
    for (const q of [`query=${big}`, `metadata.k=${big}`]) {
      const r = await get(alice.key, `/v1/styx/entries?${q}`);
      assert.equal(r.status, 431, r.text);
      assert.equal(r.json.error.code, "STYX_HEADERS_TOO_LARGE");
    }
  });

  it("deletes an entry from every query, the snapshot and the vector index; a second delete answers 404", async () => {
    const v = vec(42);
    const w = await write(alice.key, {
      golem_id: "e-a1",
      layer: "clade",
      confidence: 0.9,
      content: "zyzzyva quokka marmalade",
      embedding: v,
    });
    const hits = async (body: Record<string, unknown>) => {
      const r = await s.request("POST", "/v1/styx/query", { token: alice.key, body: { layers: ["vault", "clade"], ...body } });
      assert.equal(r.status, 200, r.text);
      return (r.json.hits as { id: string }[]).map((h) => h.id);
    };
    const modes = [{ embedding: v }, { query: "zyzzyva quokka" }, { embedding: v, query: "zyzzyva quokka" }];
    for (const m of modes) assert.ok((await hits(m)).includes(w.id), `found before: ${Object.keys(m)}`);
    await s.styx.knowledge.vectors.flush();
    const [top] = await s.styx.knowledge.vectors.search("vault:e-alice", new Float32Array(v), 1);
    assert.ok(top && top.similarity > 0.99);

    const del = await s.request("DELETE", `/v1/styx/entries/${w.id}`, { token: alice.key });
    assert.equal(del.status, 200, del.text);
    assert.deepEqual(del.json, { id: w.id, deleted: ["vault:e-alice", "clade:e-alice"], lethe: "none" });
    for (const m of modes) assert.ok(!(await hits(m)).includes(w.id), `gone: ${Object.keys(m)}`);
    for (const ns of ["vault:e-alice", "clade:e-alice"]) {
      const after = await s.styx.knowledge.vectors.search(ns, new Float32Array(v), 50);
      assert.ok(!after.some((h) => h.key === (top as { key: number }).key), `vector gone from ${ns}`);
    }
    const snap = await get(alice.key, "/v1/styx/snapshot/e-a1?format=json&limit=1000");
    assert.ok(!snap.json.entries.some((e: { id: string }) => e.id === w.id), "gone from the snapshot");
    assert.equal((await get(alice.key, `/v1/styx/entries/${w.id}`)).status, 404);
    const again = await s.request("DELETE", `/v1/styx/entries/${w.id}`, { token: alice.key });
    assert.equal(again.status, 404);
  });

  it("a golem key deletes its own entries; a delete gives the stored bytes back to the usage view", async () => {
    const usage = async () => (await get(alice.key, "/v1/styx/usage")).json.quotas.stored_bytes.used as number;
    const before = await usage();
    const content = "b".repeat(1000);
    const w = await write(a1Key, { golem_id: "e-a1", content, metadata: { k: "v" } });
    assert.equal(await usage(), before + 1000 + JSON.stringify({ k: "v" }).length);
    const del = await s.request("DELETE", `/v1/styx/entries/${w.id}`, { token: a1Key });
    assert.equal(del.status, 200, del.text);
    assert.equal(await usage(), before);
  });

  it("removes a queued lethe copy (lethe: none) and keeps a published one (kept_anonymized)", async () => {
    const queued = await write(alice.key, { golem_id: "e-a1", layer: "lethe", domain: "perps", confidence: 0.9, content: "queued copy" });
    assert.ok(queued.lethe_at);
    const d1 = await s.request("DELETE", `/v1/styx/entries/${queued.id}`, { token: alice.key });
    assert.equal(d1.json.lethe, "none");
    const published = await write(alice.key, {
      golem_id: "e-a1",
      layer: "lethe",
      domain: "perps",
      confidence: 0.9,
      content: "published copy",
    });
    clock.advance(5000);
    await s.styx.tasks.runNow("lethe-publish");
    const d2 = await s.request("DELETE", `/v1/styx/entries/${published.id}`, { token: alice.key });
    assert.equal(d2.json.lethe, "kept_anonymized");
    const lethe = await s.request("POST", "/v1/styx/query", { token: bob.key, body: { query: "copy", layers: ["lethe"] } });
    assert.deepEqual(
      lethe.json.hits.map((h: { content: string }) => h.content),
      ["published copy"],
    );
  });

  it("validations by another golem of the clade move explain.quality; a repeat counts once; the writer cannot", async () => {
    const w = await write(alice.key, { golem_id: "e-a2", layer: "clade", confidence: 0.7, content: "validated wisdom quux" });
    const quality = async () => {
      const r = await s.request("POST", "/v1/styx/query", { token: alice.key, body: { query: "validated wisdom quux", explain: true } });
      return r.json.hits.find((h: { id: string }) => h.id === w.id).explain.quality as number;
    };
    assert.equal(await quality(), 0.7);
    const validate = (token: string, golem: string, agrees: boolean, id = w.id) =>
      s.request("POST", `/v1/styx/entries/${id}/validate`, { token, body: { golem_id: golem, agrees } });
    const v1 = await validate(a1Key, "e-a1", true);
    assert.equal(v1.status, 200, v1.text);
    assert.deepEqual(v1.json, { id: w.id, layer: "clade", validations: 1, contradictions: 0, counted: true });
    assert.equal((await validate(a1Key, "e-a1", true)).json.counted, false, "the same golem counts once");
    assert.equal((await validate(alice.key, "e-a1", false)).json.counted, false, "whatever it says the second time");
    assert.ok(Math.abs((await quality()) - 0.75) < 1e-9);
    const v3 = await validate(alice.key, "e-a3", false);
    assert.deepEqual([v3.json.validations, v3.json.contradictions], [1, 1]);
    assert.ok(Math.abs((await quality()) - 0.65) < 1e-9);
    const self = await validate(alice.key, "e-a2", true);
    assert.equal(self.status, 409);
    assert.equal((await validate(bob.key, "e-b1", true)).status, 404, "another user's entry is absent");
    assert.equal((await validate(alice.key, "e-b1", true)).status, 404, "another user's golem is absent");
    assert.equal((await validate(a1Key, "e-a3", true)).status, 404, "a golem key votes as its own golem only");
    const extra = await s.request("POST", `/v1/styx/entries/${w.id}/validate`, {
      token: alice.key,
      body: { golem_id: "e-a1", agrees: true, weight: 9 },
    });
    assert.equal(extra.status, 400, "unknown body fields are refused");
    const r = await get(alice.key, `/v1/styx/entries/${w.id}`);
    assert.deepEqual([r.json.validations, r.json.contradictions], [1, 1]);
  });

  it("a lethe entry is validated by other users, once per user, and its quality moves", async () => {
    await write(alice.key, { golem_id: "e-a1", layer: "lethe", domain: "funding", confidence: 0.8, content: "lethe frobnicate signal" });
    clock.advance(5000);
    await s.styx.tasks.runNow("lethe-publish");
    const hit = async () => {
      const r = await s.request("POST", "/v1/styx/query", {
        token: bob.key,
        body: { query: "frobnicate signal", layers: ["lethe"], explain: true },
      });
      return r.json.hits[0] as { id: string; explain: { quality: number } };
    };
    const first = await hit();
    const v = await s.request("POST", `/v1/styx/entries/${first.id}/validate`, {
      token: bob.key,
      body: { golem_id: "e-b1", agrees: true },
    });
    assert.equal(v.status, 200, v.text);
    assert.deepEqual(v.json, { id: first.id, layer: "lethe", validations: 1, contradictions: 0, counted: true });
    assert.ok((await hit()).explain.quality > first.explain.quality);
    const again = await s.request("POST", `/v1/styx/entries/${first.id}/validate`, {
      token: bob.key,
      body: { golem_id: "e-b1", agrees: true },
    });
    assert.equal(again.json.counted, false);
    const own = await s.request("POST", `/v1/styx/entries/${first.id}/validate`, {
      token: alice.key,
      body: { golem_id: "e-a2", agrees: true },
    });
    assert.equal(own.status, 409, "the publishing user cannot validate its own lethe entry");
  });

  it("@styx/client reads, lists, validates and deletes entries", async () => {
    const client = new StyxClient({ url: s.url, token: alice.key });
    const w = await client.writeEntry({ golem_id: "e-a2", layer: "clade", category: "insight", confidence: 0.9, content: "by the sdk" });
    assert.equal((await client.getEntry(w.id)).content, "by the sdk");
    const page = await client.listEntries({ golem_id: "e-a2", "metadata.sdk": "yes" });
    assert.deepEqual(page.entries, []);
    assert.equal((await client.validateEntry(w.id, { golem_id: "e-a3", agrees: true })).validations, 1);
    assert.equal((await client.deleteEntry(w.id)).lethe, "none");
    client.close();
  });
});
