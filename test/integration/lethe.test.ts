import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { SequencedEvent } from "../../src/core/fabric/event-bus.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { blake3Hex } from "../../src/core/platform/crypto.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const HOUR = 3_600_000;

describe("lethe publication and anonymization", () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-lethe-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("publishes only after the delay, survives a restart, and stores no identifier", async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 7, 9, 41, 17));
    const wallet = privateKeyToAccount(generatePrivateKey()).address;
    // One user: k-anonymity off, so this test is about the delay, the restart and the scrubbing.
    const env = { STYX_LETHE_K: "1" };
    let s = await startTestServer({ dataDir: dir, clock, random: () => 0.5, env });
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
    s = await startTestServer({ dataDir: dir, clock, env });
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

  it("holds a domain's copies until STYX_LETHE_K = 3 distinct users wrote to it, then publishes them; 3 users establish an entry", async () => {
    const clock = new ManualClock();
    const s = await startTestServer({ clock, env: { STYX_LETHE_DELAY: "0s-1s" } });
    try {
      const golems = new Set<string>();
      const write = async (user: string, golem: string, content = "funding squeeze precedes cascade") => {
        const { key } = await keyOf(s, user);
        if (!golems.has(golem)) await s.golem(key, { id: golem });
        golems.add(golem);
        const r = await s.request("POST", "/v1/styx/entries", {
          token: key,
          body: { golem_id: golem, layer: "lethe", domain: "perps", category: "warning", confidence: 0.9, content },
        });
        assert.equal(r.status, 201, r.text);
        return r.json;
      };
      const publishAfter = async (ms: number) => {
        clock.advance(ms);
        await s.styx.tasks.runNow("lethe-publish");
      };
      const lethe = async () => {
        const reader = await keyOf(s, "reader");
        const q = await s.request("POST", "/v1/styx/query", {
          token: reader.key,
          body: { query: "funding squeeze", layers: ["lethe"], explain: true },
        });
        assert.equal(q.status, 200, q.text);
        return q.json.hits;
      };

      for (const [user, golem] of [
        ["q0", "q0-g"],
        ["q0", "q0-g2"],
        ["q1", "q1-g"],
      ] as const) {
        const answer = await write(user, golem);
        assert.equal(answer.lethe, "waiting", `${golem}: below k the answer says waiting`);
        assert.equal(answer.lethe_at, undefined, `${golem}: and carries no lethe_at`);
      }
      await publishAfter(7 * 24 * 3_600_000);
      assert.deepEqual(await lethe(), [], "two users (three golems) publish nothing, however long they wait");
      assert.deepEqual(await s.styx.storage.entries.letheDomains(), []);

      const third = await write("q2", "q2-g");
      assert.equal(third.lethe, undefined);
      assert.ok(Date.parse(third.lethe_at) >= clock.now(), "the 3rd user gets a publication time");
      await publishAfter(2000);
      const hits = await lethe();
      assert.equal(hits.length, 1, "duplicates were added instead of reinforcing");
      assert.equal(hits[0].explain.provenance, 0.7, "three distinct users establish the entry");
      const later = await write("q3", "q3-g", "a later note on funding squeeze");
      assert.ok(later.lethe_at, "once k is met, later writes are due at once");
    } finally {
      await s.close();
    }
  });

  it("never establishes the same content from 4 golems of one user: one source refreshes, never confirms", async () => {
    const clock = new ManualClock();
    const s = await startTestServer({ clock, env: { STYX_LETHE_DELAY: "0s-1s", STYX_LETHE_K: "1" } });
    try {
      const u = await s.user("solo");
      for (let i = 0; i < 4; i++) {
        await s.golem(u.key, { id: `solo-g${i}` });
        const r = await s.request("POST", "/v1/styx/entries", {
          token: u.key,
          body: {
            golem_id: `solo-g${i}`,
            layer: "lethe",
            domain: "perps",
            category: "warning",
            confidence: 0.9,
            content: "funding squeeze precedes cascade",
          },
        });
        assert.ok(r.json.lethe_at, "k = 1: due at once");
        clock.advance(2000);
        await s.styx.tasks.runNow("lethe-publish");
      }
      const reader = await s.user("reader");
      const q = await s.request("POST", "/v1/styx/query", {
        token: reader.key,
        body: { query: "funding squeeze", layers: ["lethe"], explain: true },
      });
      assert.equal(q.json.hits.length, 1);
      assert.equal(q.json.hits[0].explain.provenance, 0.5, "one user is below quorum, whatever its golem count");
      const stored = await s.styx.storage.entries.findLetheByHash("perps", blake3Hex("funding squeeze precedes cascade"));
      assert.equal(stored?.sources.length, 1, "one source");
    } finally {
      await s.close();
    }
  });
});

const keys = new WeakMap<TestServer, Map<string, { key: string }>>();

/** The key of user `id` on `s`, creating the user (and no golem) the first time. */
async function keyOf(s: TestServer, id: string): Promise<{ key: string }> {
  const known = keys.get(s) ?? new Map<string, { key: string }>();
  keys.set(s, known);
  const found = known.get(id);
  if (found) return found;
  const u = await s.user(id);
  known.set(id, u);
  return u;
}

async function count(s: TestServer, table: string): Promise<number> {
  return Number((await s.sql(`SELECT COUNT(*) AS n FROM ${table}`))[0].n);
}
