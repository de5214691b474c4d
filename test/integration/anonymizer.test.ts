import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { ConfigOverrides } from "../../src/config/load.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { PublicPipeline } from "../../src/core/privacy/public-pipeline.js";
import { type FakeChat, lastUserText, startFakeChat } from "../../src/testing/fake-chat-server.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const KEY = "sk-anonymizer-test-key-0123456789";
const TIMEOUT_MS = 500;
/** Lethe publishes within a second of a write, one writer being enough (k-anonymity off). */
const LETHE_ENV: ConfigOverrides = { STYX_LETHE_DELAY: "0s-1s", STYX_LETHE_K: "1" };

describe("lethe with STYX_ANONYMIZER_URL", () => {
  const clock = new ManualClock(Date.UTC(2026, 3, 7, 9, 41, 17));
  const wallet = privateKeyToAccount(generatePrivateKey()).address;
  const golem = "golem-writer-4242";
  let chat: FakeChat;
  let s: TestServer;
  let key: string;
  let domainCount = 0;

  before(async () => {
    chat = await startFakeChat({ apiKey: KEY });
    s = await startTestServer({
      persistent: true,
      clock,
      env: {
        ...LETHE_ENV,
        STYX_ANONYMIZER_URL: `${chat.url}/v1`,
        STYX_ANONYMIZER_MODEL: "fake-generalizer",
        STYX_ANONYMIZER_API_KEY: KEY,
        STYX_ANONYMIZER_TIMEOUT: `${TIMEOUT_MS}ms`,
      },
    });
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "privy-writer", wallet_address: wallet } });
    assert.equal(u.status, 201, u.text);
    const k = await s.request("POST", "/v1/admin/users/privy-writer/keys", { token: s.adminToken, body: { name: "k" } });
    key = k.json.key;
    await s.golem(key, { id: golem });
  });
  after(async () => {
    await s.close();
    await chat.close();
  });

  /**
   * Writes `content` to a fresh lethe domain, publishes it, and answers the published text, how
   * long the write took and how long the publication took (the generalizer runs there).
   */
  async function publish(content: string): Promise<{ domain: string; published: string; writeMs: number; publishMs: number }> {
    const domain = `anon-${++domainCount}`;
    const t0 = performance.now();
    const r = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: { golem_id: golem, layer: "lethe", domain, category: "insight", confidence: 0.8, content },
    });
    const writeMs = performance.now() - t0;
    assert.equal(r.status, 201, r.text);
    assert.ok(r.json.lethe_at, r.text);
    clock.advance(2000);
    const t1 = performance.now();
    await s.styx.tasks.runNow("lethe-publish");
    const publishMs = performance.now() - t1;
    const rows = await s.sql(`SELECT content FROM lethe_entries WHERE domain = '${domain}'`);
    assert.equal(rows.length, 1, `domain ${domain} was not published`);
    return { domain, published: rows[0].content as string, writeMs, publishMs };
  }

  /** What the deterministic stages alone make of `content` (the same directory, no generalizer). */
  const deterministic = (content: string) =>
    new PublicPipeline({ directory: s.styx.privacy.directory }).text(content, { userId: "privy-writer" });

  const assertClean = (text: string) => {
    const lower = text.toLowerCase();
    for (const secret of [golem, wallet.toLowerCase(), "privy-writer"])
      assert.ok(!lower.includes(secret), `published text holds ${secret}: ${text}`);
  };

  it("publishes the generalized text, after sending the endpoint only the scrubbed one", async () => {
    const general = "A funding squeeze on perpetuals tends to precede a liquidation cascade.";
    chat.setAnswer(() => ({ content: general }));
    const before = chat.received.length;
    const content = `${golem} (wallet ${wallet}) saw funding at 0.031% for 3 hours before the 2026-04-07 cascade`;
    const { domain, published } = await publish(content);
    assert.equal(published, general);

    assert.equal(chat.received.length, before + 1);
    const req = chat.received.at(-1);
    assert.ok(req);
    assert.equal(req.body.model, "fake-generalizer");
    assert.equal(req.body.temperature, 0);
    assert.equal(req.headers.authorization, `Bearer ${KEY}`);
    const sent = lastUserText(req);
    assert.equal(sent, await deterministic(content), "the endpoint got something other than the deterministic scrub");
    assertClean(sent);

    const reader = await s.user("privy-reader");
    const q = await s.request("POST", "/v1/styx/query", {
      token: reader.key,
      body: { query: "funding squeeze liquidation", layers: ["lethe"], domains: [domain] },
    });
    assert.equal(q.status, 200, q.text);
    assert.deepEqual(
      q.json.hits.map((h: { content: string }) => h.content),
      [general],
    );
  });

  it("scrubs the model's answer again: the writer's golem id and wallet it puts back are not published", async () => {
    chat.setAnswer(() => ({
      content: `Golem ${golem} with wallet ${wallet} and ${wallet.toLowerCase().slice(2)} noticed that basis widens before unlocks.`,
    }));
    const { published } = await publish("basis widens before token unlocks");
    assertClean(published);
    assert.ok(!published.toLowerCase().includes(wallet.toLowerCase().slice(2)), published);
    assert.match(published, /noticed that basis widens before unlocks/);
  });

  it("publishes the deterministic text when the endpoint hangs, within the timeout, and never makes the write wait", async () => {
    chat.setAnswer(() => ({ hang: true }));
    const content = `${golem} saw oracle lag of 4200 ms during the spike`;
    const { published, writeMs, publishMs } = await publish(content);
    assert.equal(published, await deterministic(content));
    assertClean(published);
    assert.ok(writeMs < TIMEOUT_MS, `the write waited ${writeMs.toFixed(0)} ms for the model`);
    assert.ok(publishMs >= TIMEOUT_MS - 20 && publishMs < TIMEOUT_MS + 2000, `the publication took ${publishMs.toFixed(0)} ms`);
  });

  it("publishes the deterministic text when the endpoint errors or answers garbage", async () => {
    for (const [i, b] of [{ status: 500 }, { status: 0 }, { raw: "not json" }, { content: "cut sho", finishReason: "length" }].entries()) {
      chat.setAnswer(() => b);
      const content = `${golem} case ${i}: gas spikes break arbitrage loops`;
      const { published } = await publish(content);
      assert.equal(published, await deterministic(content), JSON.stringify(b));
      assertClean(published);
    }
  });
});
