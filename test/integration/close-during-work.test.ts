import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const DIM = 32;
/** Iterations at most, and the time after which no new one starts (a macronode's start costs a new cluster). */
const ITERATIONS = 12;
const BUDGET_MS = 25_000;

const vector = (seed: number) => Array.from({ length: DIM }, (_, i) => Math.sin(seed * 7.1 + i));

/**
 * Issue 16 item 10c: `npm test` once aborted with `terminate called after throwing an instance of
 * 'Napi::Error'`. The vector index's worker thread was terminated at close while a native
 * usearch call was in progress (or while the addon was still loading in a server closed right
 * after its start), which aborts the whole process. Servers are started and closed here many
 * times while entries, vectors, queries, lethe publication and TTL purges are in flight, on a
 * SQLite file (with its checkpoint thread and the vector cache saved at close), in RAM and, with
 * STYX_TEST_PROFILE=macro, on the services. Each close must return promptly, and nothing may
 * answer 500 (a request after the close may be refused or fail to connect).
 */
describe("closing servers during index and database work", () => {
  it("starts and closes servers many times while writes, vectors, queries and tasks are in flight", async () => {
    const started = Date.now();
    const closeMs: number[] = [];
    const statuses = new Map<number, number>();
    let iterations = 0;
    for (let i = 0; i < ITERATIONS && Date.now() - started < BUDGET_MS; i++) {
      iterations++;
      const clock = new ManualClock(Date.now());
      const s: TestServer = await startTestServer({
        clock,
        persistent: i % 2 === 1,
        env: { STYX_EMBED_DIM: String(DIM), STYX_LETHE_K: "1", STYX_LETHE_DELAY: "0s-0s" },
      });
      const inflight: Promise<unknown>[] = [];
      const track = (p: Promise<{ status: number }>) =>
        inflight.push(
          p.then(
            (r) => statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1),
            () => statuses.set(0, (statuses.get(0) ?? 0) + 1),
          ),
        );
      try {
        // Every fourth server closes right after its start: its index worker may still be loading the addon.
        if (i % 4 !== 0) {
          const u = await s.user(`close-${i}`);
          await s.golem(u.key, { id: `close-g${i}` });
          const entries = Array.from({ length: 64 }, (_, j) => ({
            golem_id: `close-g${i}`,
            layer: j % 2 ? "lethe" : "clade",
            category: "warning",
            confidence: 0.9,
            domain: "perps",
            content: `squeeze ${i} ${j}`,
            embedding: vector(i * 100 + j),
            ttl_seconds: 60,
          }));
          const first = await s.request("POST", "/v1/styx/entries/batch", { token: u.key, body: { entries } });
          assert.equal(first.status, 201, first.text);
          // More vectors for the index worker, queries searching it, and tasks that publish (search the lethe index) and purge (remove).
          for (let k = 0; k < 3; k++) {
            track(
              s.request("POST", "/v1/styx/entries/batch", {
                token: u.key,
                body: { entries: entries.map((e, j) => ({ ...e, embedding: vector(k * 1000 + j) })) },
              }),
            );
            track(s.request("POST", "/v1/styx/query", { token: u.key, body: { embedding: vector(k), limit: 20 } }));
          }
          clock.advance(120_000);
          inflight.push(s.styx.tasks.runNow("lethe-publish"), s.styx.tasks.runNow("ttl-expiry"));
          // Closed once the first of them is done: the others are being handled, their vectors on their way to the index.
          await Promise.race(inflight);
          for (let k = 0; k < i % 5; k++) await new Promise((resolve) => setImmediate(resolve));
        }
      } finally {
        const t0 = Date.now();
        await s.close();
        closeMs.push(Date.now() - t0);
      }
      await Promise.allSettled(inflight);
    }
    assert.ok(iterations >= 4, `only ${iterations} servers in ${BUDGET_MS} ms`);
    assert.ok(!statuses.has(500), `answers by status: ${JSON.stringify([...statuses])}`);
    assert.ok(Math.max(...closeMs) < 10_000, `closes took ${closeMs.join(", ")} ms`);
  });
});
