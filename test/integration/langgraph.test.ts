import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { StyxClient } from "@styx/client";
import { StyxSaver, StyxStore } from "@styx/langgraph";
import { langgraphGolem } from "../../examples/langgraph-golem.js";
import { CHILD_PATH } from "../../src/testing/test-env.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** An async iterable's items (Node 20 has no Array.fromAsync). */
async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The TypeScript block of the README's LangGraph section. */
function readmeAgent(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("\n## LangGraph\n"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(m?.[1], "the README's LangGraph section has a ```ts block");
  return m[1];
}

describe("@styx/langgraph on a real server", () => {
  let s: TestServer;
  let owner: { id: string; key: string };
  let ownerClient: StyxClient;
  /** A new golem of the owner and a client holding a key bound to it. */
  const golem = async (): Promise<{ id: string; client: StyxClient }> => {
    const { id } = await s.golem(owner.key);
    const k = await s.request("POST", `/v1/admin/users/${owner.id}/keys`, {
      token: s.adminToken,
      body: { name: `lg-${id}`, golem_id: id },
    });
    assert.equal(k.status, 201, k.text);
    return { id, client: new StyxClient({ url: s.url, token: k.json.key }) };
  };
  /** The owner's entries of a golem whose metadata has these values. */
  const entries = async (golemId: string | undefined, filters: Record<string, string>, layer?: string, token = owner.key) => {
    const qs = new URLSearchParams({ limit: "100", ...(golemId ? { golem_id: golemId } : {}), ...(layer ? { layer } : {}) });
    for (const [k, v] of Object.entries(filters)) qs.set(`metadata.${k}`, v);
    const r = await s.request("GET", `/v1/styx/entries?${qs}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json.entries as {
      id: string;
      golem_id: string;
      content: string;
      content_blob: string | null;
      namespaces: string[];
      metadata: Record<string, unknown>;
    }[];
  };

  before(async () => {
    s = await startTestServer();
    owner = await s.user();
    ownerClient = new StyxClient({ url: s.url, token: owner.key });
  });
  after(async () => {
    await s.close();
  });

  describe("StyxStore", () => {
    it("puts, gets, replaces and deletes an item as one entry of the golem's vault", async () => {
      const g = await golem();
      const store = new StyxStore({ client: g.client, golemId: g.id });
      assert.equal(await store.get(["memories", "trades"], "t1"), null);
      await store.put(["memories", "trades"], "t1", { text: "bought the dip", size: 3 });
      const first = await store.get(["memories", "trades"], "t1");
      assert.deepEqual(first?.value, { text: "bought the dip", size: 3 });
      assert.deepEqual(first?.namespace, ["memories", "trades"]);
      const [stored] = await entries(g.id, { lg_kind: "item" });
      assert.deepEqual(stored?.namespaces, [`vault:${owner.id}`], "a namespace not starting with clade stays in the vault");
      assert.equal(JSON.parse(stored?.content ?? "null").text, "bought the dip");

      await new Promise((r) => setTimeout(r, 5));
      await store.put(["memories", "trades"], "t1", { text: "sold the top" });
      const second = await store.get(["memories", "trades"], "t1");
      assert.deepEqual(second?.value, { text: "sold the top" });
      assert.equal(second?.createdAt.getTime(), first?.createdAt.getTime(), "a replaced item keeps its creation time");
      assert.ok((second?.updatedAt.getTime() ?? 0) > (first?.updatedAt.getTime() ?? 0));
      assert.equal((await entries(g.id, { lg_kind: "item" })).length, 1, "a replaced item leaves one entry");

      await store.delete(["memories", "trades"], "t1");
      assert.equal(await store.get(["memories", "trades"], "t1"), null);
      assert.equal((await entries(g.id, { lg_kind: "item" })).length, 0);
    });

    it("shares a clade namespace with the owner's other golems and keeps the vault private", async () => {
      const a = await golem();
      const b = await golem();
      const storeA = new StyxStore({ client: a.client, golemId: a.id });
      const storeB = new StyxStore({ client: b.client, golemId: b.id });
      await storeA.put(["clade", "defi"], "lesson", { text: "oracle lag precedes liquidations" });
      await storeA.put(["notes"], "private", { text: "my own liquidation notes" });
      const [clade] = await entries(a.id, { lg_kind: "item", lg_key: "lesson" });
      assert.deepEqual(clade?.namespaces, [`vault:${owner.id}`, `clade:${owner.id}`]);

      const ranked = await storeB.search(["clade"], { query: "liquidations" });
      assert.deepEqual(
        ranked.map((i) => [i.namespace, i.key, i.value.text]),
        [[["clade", "defi"], "lesson", "oracle lag precedes liquidations"]],
      );
      assert.equal(typeof ranked[0]?.score, "number", "a ranked hit carries Styx's score");
      assert.deepEqual(
        (await storeB.search([], { query: "liquidations notes" })).map((i) => i.key),
        ["lesson"],
        "b never sees a's vault item",
      );
      assert.equal(await storeB.get(["notes"], "private"), null);
      assert.deepEqual((await storeA.search([], { query: "liquidations notes" })).map((i) => i.key).sort(), ["lesson", "private"]);
    });

    it("searches by namespace prefix and value filter, pages with offset and limit, and lists namespaces", async () => {
      const g = await golem();
      const store = new StyxStore({ client: g.client, golemId: g.id });
      for (let i = 0; i < 5; i++)
        await store.put(["runs", i % 2 === 0 ? "even" : "odd"], `r${i}`, { i, kind: i % 2 === 0 ? "even" : "odd" });
      await store.put(["other"], "x", { i: 99 });
      const evens = await store.search(["runs", "even"]);
      assert.deepEqual(
        evens.map((i) => i.key),
        ["r0", "r2", "r4"],
      );
      assert.deepEqual(
        (await store.search(["runs"], { filter: { i: { $gte: 3 } } })).map((i) => i.key),
        ["r3", "r4"],
      );
      assert.deepEqual(
        (await store.search(["runs"], { filter: { kind: "odd" } })).map((i) => i.key),
        ["r1", "r3"],
      );
      assert.deepEqual(
        (await store.search(["runs"], { offset: 1, limit: 2 })).map((i) => i.key),
        ["r1", "r2"],
      );
      assert.deepEqual(await store.listNamespaces(), [["other"], ["runs", "even"], ["runs", "odd"]]);
      assert.deepEqual(await store.listNamespaces({ prefix: ["runs"] }), [
        ["runs", "even"],
        ["runs", "odd"],
      ]);
      assert.deepEqual(await store.listNamespaces({ suffix: ["odd"] }), [["runs", "odd"]]);
      assert.deepEqual(await store.listNamespaces({ maxDepth: 1 }), [["other"], ["runs"]]);
    });

    it("keeps a value larger than an entry's content in a blob", async () => {
      const g = await golem();
      const store = new StyxStore({ client: ownerClient, golemId: g.id });
      const big = { text: "x".repeat(100_000) };
      await store.put(["big"], "k", big);
      const [e] = await entries(g.id, { lg_kind: "item" });
      assert.match(e?.content_blob ?? "", /^b3:/);
      assert.deepEqual((await store.get(["big"], "k"))?.value, big);
    });

    it("refuses a namespace it could not filter on, before writing anything", async () => {
      const g = await golem();
      const store = new StyxStore({ client: g.client, golemId: g.id });
      await assert.rejects(store.put(["n".repeat(300)], "k", { a: 1 }), /longer than 256/);
      await assert.rejects(store.put([], "k", { a: 1 }), /empty/);
      assert.equal((await entries(g.id, { lg_kind: "item" })).length, 0);
    });
  });

  describe("StyxSaver", () => {
    const meta = { source: "input" as const, step: -1, parents: {} };

    it("keeps a checkpoint, its changed channel values and pending writes as entries, and reads them back", async () => {
      const g = await golem();
      const saver = new StyxSaver({ client: g.client, golemId: g.id });
      const id = uuid6(0);
      const cp = {
        ...emptyCheckpoint(),
        id,
        channel_values: { messages: ["hi"], big: "y".repeat(80_000) },
        channel_versions: { messages: 1, big: 1 },
      };
      const config = await saver.put({ configurable: { thread_id: "t", checkpoint_ns: "" } }, cp, meta, { messages: 1, big: 1 });
      await saver.putWrites(config, [["messages", "there"]], "task-1");
      const kinds = (await entries(g.id, { lg_thread: "t" })).map((e) => e.metadata.lg_kind).sort();
      assert.deepEqual(kinds, ["checkpoint", "value", "value", "writes"]);
      const [big] = await entries(g.id, { lg_kind: "value", lg_channel: "big" });
      assert.match(big?.content_blob ?? "", /^b3:/, "a value over 60 KiB is in a blob");
      const tuple = await saver.getTuple({ configurable: { thread_id: "t" } });
      assert.deepEqual(tuple?.checkpoint, cp);
      assert.deepEqual(tuple?.pendingWrites, [["task-1", "messages", "there"]]);

      // A later checkpoint that changes one channel stores only that one; the other is loaded at its version.
      const cp2 = {
        ...emptyCheckpoint(),
        id: uuid6(0),
        channel_values: { messages: ["hi", "there"], big: cp.channel_values.big },
        channel_versions: { messages: 2, big: 1 },
      };
      await saver.put(config, cp2, { ...meta, source: "loop", step: 0 }, { messages: 2 });
      assert.equal((await entries(g.id, { lg_kind: "value" })).length, 3);
      const latest = await saver.getTuple({ configurable: { thread_id: "t", checkpoint_ns: "" } });
      assert.deepEqual(latest?.checkpoint, cp2);
      assert.deepEqual(latest?.parentConfig, { configurable: { thread_id: "t", checkpoint_ns: "", checkpoint_id: id } });
      assert.deepEqual(
        (await toArray(saver.list({ configurable: { thread_id: "t" } }))).map((x) => x.checkpoint.id),
        [cp2.id, id],
      );
    });

    it("is scoped to its golem, deletes one thread only, and refuses what Styx could not filter on", async () => {
      const a = await golem();
      const b = await golem();
      const saverA = new StyxSaver({ client: a.client, golemId: a.id });
      const saverB = new StyxSaver({ client: b.client, golemId: b.id });
      await saverA.put({ configurable: { thread_id: "1" } }, { ...emptyCheckpoint(), id: uuid6(0) }, meta, {});
      await saverA.put({ configurable: { thread_id: "2" } }, { ...emptyCheckpoint(), id: uuid6(0) }, meta, {});
      assert.equal(
        await saverB.getTuple({ configurable: { thread_id: "1" } }),
        undefined,
        "another golem's thread of the same id is not visible",
      );
      // The owner's key over golem a's saver reads the same state.
      assert.ok(await new StyxSaver({ client: ownerClient, golemId: a.id }).getTuple({ configurable: { thread_id: "1" } }));
      await saverA.deleteThread("1");
      assert.equal(await saverA.getTuple({ configurable: { thread_id: "1" } }), undefined);
      assert.ok(await saverA.getTuple({ configurable: { thread_id: "2" } }));
      assert.equal((await entries(a.id, { lg_thread: "1" })).length, 0);
      await assert.rejects(
        saverA.put({ configurable: { thread_id: "t".repeat(300) } }, { ...emptyCheckpoint(), id: uuid6(0) }, meta, {}),
        /longer than 256/,
      );
    });
  });

  it("runs examples/langgraph-golem.ts as written: a restarted agent goes on with its thread and recalls a clade lesson", async () => {
    const lines: string[] = [];
    // A user of its own: the clade it recalls from is this user's.
    const u = await s.user();
    const r = await langgraphGolem({ url: s.url, key: u.key, log: (l) => lines.push(l) });
    assert.deepEqual(r.messages, [
      "What moves before liquidations?",
      "Oracle lag precedes liquidations on thin books.",
      "And what should I watch?",
      "Then watch the oracle heartbeat, not the price.",
    ]);
    assert.deepEqual(r.recalled, ["Oracle lag precedes liquidations on thin books."]);
    assert.ok(lines.some((l) => l.endsWith("turn 1 kept in Styx")));
    assert.ok(
      (await entries(r.golemId, { lg_kind: "checkpoint", lg_thread: "market-watch" }, undefined, u.key)).length >= 4,
      "every step's checkpoint is in Styx",
    );
  });

  it("runs the README's LangGraph agent as written", async () => {
    const code = readmeAgent();
    assert.ok(code.includes('"http://localhost:8080"'), "the example points at the default address");
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true });
    const dir = mkdtempSync(join(ROOT, "node_modules", ".cache", "styx-readme-lg-"));
    try {
      const file = join(dir, "agent.mts");
      writeFileSync(file, code.replace('"http://localhost:8080"', JSON.stringify(s.url)));
      const u = await s.user();
      const child = spawn(process.execPath, ["--import", "tsx", file], {
        cwd: ROOT,
        env: { PATH: CHILD_PATH, STYX_KEY: u.key },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      child.stdout.on("data", (d) => {
        out += d;
      });
      child.stderr.on("data", (d) => {
        out += d;
      });
      const code_ = await new Promise<number | null>((res) => child.on("exit", res));
      assert.equal(code_, 0, out);
      assert.equal(out.trim(), "Oracle lag precedes liquidations.");
      const golems = await s.request("GET", `/v1/styx/users/${u.id}/golems`, { token: u.key });
      assert.equal(golems.json.golems.length, 1, golems.text);
      assert.equal(golems.json.golems[0].archetype, "scout");
      const golemId = golems.json.golems[0].id;
      const r = await s.request("GET", `/v1/styx/entries?golem_id=${golemId}&metadata.lg_kind=checkpoint&metadata.lg_thread=watch-1`, {
        token: u.key,
      });
      assert.ok(r.json.entries.length >= 2, `the agent's checkpoints are in Styx: ${r.text}`);
      const lesson = await s.request("GET", "/v1/styx/entries?layer=clade&metadata.lg_key=lesson", { token: u.key });
      assert.equal(lesson.json.entries.length, 1, lesson.text);
      assert.equal(JSON.parse(lesson.json.entries[0].content).text, "Oracle lag precedes liquidations.");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
