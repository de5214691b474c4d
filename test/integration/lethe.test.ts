import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { SequencedEvent } from "../../src/core/fabric/event-bus.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const HOUR = 3_600_000;

describe("lethe publication and anonymization", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-lethe-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("publishes only after the delay, survives a restart, and stores no identifier", async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 7, 9, 41, 17));
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    let s = await startTestServer({ dataDir: dir, clock, random: () => 0.5 });
    const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: "privy-alice", wallet_address: wallet } });
    assert.equal(u.status, 201);
    const k = await s.request("POST", "/v1/admin/users/privy-alice/keys", { token: s.adminToken, body: { name: "k" } });
    const key: string = k.json.key;
    await s.golem(key, { id: "golem-secret-7" });
    const secrets = [
      "privy-alice",
      "golem-secret-7",
      wallet,
      wallet.toLowerCase(),
      key,
      "ops@alice-corp.example",
      "tok_abcdef1234567890",
      "12,345.67",
      "12345.67",
      "0.0321",
    ];
    const content =
      `privy-alice's golem golem-secret-7 (wallet ${wallet}) used ${key}; mail ops@alice-corp.example; ` +
      `see https://dash.example/p?session=tok_abcdef1234567890; moved $12,345.67 then 0.0321 ETH when funding flipped`;
    const r = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: {
        golem_id: "golem-secret-7",
        layer: "lethe",
        domain: "defi",
        category: "insight",
        confidence: 0.8,
        content,
        regime: "bull",
        metadata: { tags: ["privy-alice", "funding"], email: "ops@alice-corp.example" },
      },
    });
    assert.equal(r.status, 201, r.text);
    const dueAt = Date.parse(r.json.lethe_at);
    const delay = dueAt - clock.now();
    assert.ok(delay >= 1 * HOUR && delay <= 6 * HOUR, `delay ${delay / HOUR} h`);

    clock.set(dueAt - 60_000);
    await s.styx.tasks.runNow("lethe-publish");
    assert.equal(await count(s, "lethe_entries"), 0, "published before its time");
    assert.equal(await count(s, "lethe_queue"), 1);

    await s.close();
    clock.set(dueAt + 1000);
    s = await startTestServer({ dataDir: dir, clock });
    const events: SequencedEvent[] = [];
    s.styx.bus.subscribe((e) => events.push(e));
    await s.styx.tasks.runNow("lethe-publish");
    try {
      assert.equal(await count(s, "lethe_entries"), 1, "not published after the restart");
      assert.equal(await count(s, "lethe_queue"), 0);
      // The macronode delivers through its JetStream consumer, a moment after the publish.
      for (let i = 0; i < 100 && events.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(events.length, 1);
      assert.equal(events[0]?.channel, "styx:lethe:published");
      assert.equal(events[0]?.stream, "domain:defi");

      const rows = (await s.sql("SELECT * FROM lethe_entries")) as Record<string, unknown>[];
      for (const row of rows) {
        const text = JSON.stringify({ ...row, embedding: null }).toLowerCase();
        for (const secret of secrets) assert.ok(!text.includes(secret.toLowerCase()), `lethe row contains ${secret}: ${text}`);
        assert.match(row.content as string, /1e4-1e5/);
        assert.match(row.content as string, /1e-2-1e-1 ETH/);
        assert.equal((row.created_at as number) % HOUR, 0, "time not rounded to the hour");
        assert.equal(row.created_at, Date.UTC(2026, 3, 7, 9));
        assert.equal(row.confidence, 0.4);
        // Public metadata keeps allow-listed keys whose values pass the closed grammar: the id is dropped, not masked.
        assert.deepEqual(JSON.parse(row.metadata as string), { tags: ["funding"] });
      }

      const bob = await s.user("privy-bob");
      const q = await s.request("POST", "/v1/styx/query", {
        token: bob.key,
        body: { query: "funding flipped", layers: ["lethe"], explain: true },
      });
      assert.equal(q.json.hits.length, 1);
      assert.equal(q.json.hits[0].namespace, "lethe:defi");
      assert.equal(q.json.hits[0].explain.provenance, 0.5, "one source is below quorum");
      const shown = JSON.stringify(q.json).toLowerCase();
      for (const secret of secrets) assert.ok(!shown.includes(secret.toLowerCase()), `lethe hit shows ${secret}`);
    } finally {
      await s.close();
    }
  });

  it("reinforces a near-duplicate from another golem instead of adding an entry, reaching quorum at 3 confirmations", async () => {
    const clock = new ManualClock();
    const s = await startTestServer({ clock, env: { STYX_LETHE_DELAY: "0s-1s" } });
    try {
      const write = async (i: number) => {
        const u = await s.user(`q${i}`);
        await s.golem(u.key, { id: `q${i}-g` });
        const r = await s.request("POST", "/v1/styx/entries", {
          token: u.key,
          body: {
            golem_id: `q${i}-g`,
            layer: "lethe",
            domain: "perps",
            category: "warning",
            confidence: 0.9,
            content: "funding squeeze precedes cascade",
          },
        });
        assert.equal(r.status, 201);
        clock.advance(2000);
        await s.styx.tasks.runNow("lethe-publish");
      };
      for (let i = 0; i < 4; i++) await write(i);
      const reader = await s.user("reader");
      const q = await s.request("POST", "/v1/styx/query", {
        token: reader.key,
        body: { query: "funding squeeze", layers: ["lethe"], explain: true },
      });
      assert.equal(q.json.hits.length, 1, "duplicates were added instead of reinforcing");
      assert.equal(q.json.hits[0].explain.provenance, 0.7, "three confirmations establish the entry");
    } finally {
      await s.close();
    }
  });
});

async function count(s: TestServer, table: string): Promise<number> {
  return Number((await s.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
}
