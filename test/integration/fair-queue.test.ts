import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type FakeEmbedder, startFakeEmbedder } from "../../src/testing/fake-embedder-server.js";
import { startTestServer, type TestResponse, type TestServer } from "../../src/testing/test-server.js";

/**
 * Heavy routes under the fair queue (SPEC §12), over the wire. Text queries are embedded by a
 * fake embedder that holds its answers, so a query keeps its slot until the test lets it go:
 * the order in which the embedder is asked is the order in which queries ran. Conditions are
 * awaited (the queue's gauges on /metrics, the embedder's inputs), never timed.
 */
describe("fair queue on heavy routes", () => {
  let embedder: FakeEmbedder;
  let s: TestServer;
  const keys = new Map<string, string>();

  before(async () => {
    embedder = await startFakeEmbedder({ dimensions: 384 });
    s = await startTestServer({
      env: {
        STYX_EMBEDDER_URL: embedder.url,
        STYX_EMBEDDER_MODEL: "text-embedding-3-small",
        STYX_HEAVY_CONCURRENCY: "1",
        STYX_HEAVY_PER_USER: "1",
        STYX_HEAVY_QUEUE: "4",
        STYX_HEAVY_QUEUE_TOTAL: "5",
      },
    });
    for (const name of ["fq-a", "fq-b", "fq-c"]) keys.set(name, (await s.user(name)).key);
  });
  after(async () => {
    embedder.release();
    await s.close();
    await embedder.close();
  });

  const query = (user: string, text: string, signal?: AbortSignal): Promise<Response> =>
    fetch(`${s.url}/v1/styx/query`, {
      method: "POST",
      headers: { authorization: `Bearer ${keys.get(user)}`, "content-type": "application/json" },
      body: JSON.stringify({ query: text }),
      ...(signal ? { signal } : {}),
    });

  /** The fair queue's gauges as /metrics shows them. */
  const gauges = async (): Promise<{ running: number; waiting: number }> => {
    const text = (await s.request("GET", "/metrics")).text;
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    return { running: read("styx_heavy_running"), waiting: read("styx_heavy_waiting") };
  };
  /** Polls until `ok` holds (bounded by the test runner's timeout, not asserted on time). */
  const until = async (what: string, ok: () => boolean | Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 2000; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.fail(`never: ${what}`);
  };
  const waiting = (n: number) => until(`${n} waiting`, async () => (await gauges()).waiting === n);
  const asked = (n: number) => until(`${n} texts at the embedder`, () => embedder.inputs().length === n);

  it("gives user B the next turn although user A queued first, refuses past the bounds, and drops work of gone clients", async () => {
    embedder.hold();
    const answers: Promise<Response>[] = [];
    answers.push(query("fq-a", "alpha zero"));
    await asked(1);
    for (const i of [1, 2, 3, 4]) answers.push(query("fq-a", `alpha ${["one", "two", "three", "four"][i - 1]}`));
    await waiting(4);

    // A's own backlog is full: 429 with the retry hint, before any work.
    const refusedA: TestResponse = await s.request("POST", "/v1/styx/query", { token: keys.get("fq-a"), body: { query: "alpha five" } });
    assert.equal(refusedA.status, 429);
    assert.equal(refusedA.json.error.code, "STYX_RATE_LIMITED");
    assert.ok(Number(refusedA.headers.get("retry-after")) >= 1);
    assert.equal(typeof refusedA.json.error.details.retry_after_ms, "number");

    // B queues behind A's four; then everyone's backlog is full: C gets 503.
    const abortB = new AbortController();
    const goneB = query("fq-b", "bravo gone", abortB.signal).catch(() => undefined);
    await waiting(5);
    const refusedC = await s.request("POST", "/v1/styx/query", { token: keys.get("fq-c"), body: { query: "charlie" } });
    assert.equal(refusedC.status, 503);
    assert.equal(refusedC.json.error.code, "STYX_OVERLOADED");
    assert.deepEqual(refusedC.json.error.details.reasons, ["heavy_queue"]);
    assert.equal(typeof refusedC.json.error.details.retry_after_ms, "number");
    assert.ok(Number(refusedC.headers.get("retry-after")) >= 1);

    // B's first request leaves while it waits: its place is freed and it never runs.
    abortB.abort();
    await goneB;
    await waiting(4);
    answers.push(query("fq-b", "bravo zero"));
    await waiting(5);

    // One slot: each release lets the next turn run. B's query comes right after A's running one.
    for (let n = 2; n <= 6; n++) {
      embedder.release(1);
      await asked(n);
    }
    embedder.release();
    assert.deepEqual(embedder.inputs(), ["alpha zero", "bravo zero", "alpha one", "alpha two", "alpha three", "alpha four"]);
    const statuses = await Promise.all(answers.map(async (a) => (await a).status));
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    await until("queue empty", async () => {
      const g = await gauges();
      return g.running === 0 && g.waiting === 0;
    });
  });

  it("queues the snapshot and the batch write routes too", async () => {
    embedder.hold();
    const key = keys.get("fq-a") as string;
    const g = await s.golem(key, { id: "fq-a-g" });
    const running = query("fq-a", "alpha holds the slot");
    await until("query running", () => embedder.inputs().includes("alpha holds the slot"));
    const snapshot = s.request("GET", `/v1/styx/snapshot/${g.id}?format=json`, { token: key });
    const batch = s.request("POST", "/v1/styx/entries/batch", {
      token: key,
      body: { entries: [{ golem_id: g.id, layer: "vault", category: "insight", content: "batched", embedding: unit(384) }] },
    });
    await waiting(2);
    embedder.release();
    assert.equal((await running).status, 200);
    assert.equal((await snapshot).status, 200);
    assert.equal((await batch).status, 201);
  });
});

function unit(dim: number): number[] {
  return Array.from({ length: dim }, (_, i) => (i === 0 ? 1 : 0));
}
