import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { migratePostgres, openPostgres, type PgSql } from "../../src/adapters/postgres/database.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import type { PheromoneDeposit } from "../../src/core/coordination/pheromone-store.js";
import { initCrypto } from "../../src/core/platform/crypto.js";
import { entryFixture, T } from "../../src/testing/contracts/entry-fixtures.js";
import { PgWireTap, type TapWindow } from "../../src/testing/pg-wire-tap.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** Probes that are no part of a request: the dependency check's and the leader session's `SELECT 1`. */
const PROBE = /^SELECT 1$/;
const ignored = (text: string) => PROBE.test(text.trim());
/**
 * The identity cache's refresh reads: a credential, its user, the user's quota override (and a
 * golem) are trusted for IDENTITY_CACHE_TTL_MS (5 s) and then read again by the next request, so
 * on a slow machine a measured request can be the one that refreshes them. Counted apart: most
 * windows must have none (the cache is working), and the write's own transactions are counted
 * without them.
 */
const REFRESH = /^SELECT\b[\s\S]*\bFROM (api_keys|users|golems|user_quotas)\b/;
const refresh = (text: string) => REFRESH.test(text.trim());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DIM = 384;
const vector = (i: number) => Array.from({ length: DIM }, (_, j) => Math.sin(i * 7 + j));

/**
 * Acceptance 4 of issue 22: PostgreSQL commits per write (and per deposit) = 1, counted on the
 * wire: every transaction a request sets off, reads included (the identity cache answers the
 * golem and owner lookups once warm), only the dependency probes left out.
 */
describe("a macronode's PostgreSQL transactions per write and per deposit (wire tap)", () => {
  let tap: PgWireTap;
  let s: TestServer;
  let key: string;
  let golems: string[];
  let n = 0;

  before(async () => {
    tap = await PgWireTap.start(SERVICES.databaseUrl);
    s = await startTestServer({ profile: "macro", env: { STYX_DATABASE_URL: tap.url, STYX_LETHE_K: "1" } });
    const u = await s.user();
    key = u.key;
    golems = [];
    for (let i = 0; i < 8; i++) golems.push((await s.golem(key)).id);
    // Warm: caches, the first lethe writer of the domain, and each statement prepared on every
    // connection the pool opened (postgres.js holds back the statements behind one it has not
    // prepared on that connection until PostgreSQL described it: round trips of their own). Each
    // kind 12 times in a row: the pool hands its (at most 10) idle connections out in turn.
    for (let i = 0; i < 12; i++) await write("vault");
    for (let i = 0; i < 12; i++) await write("lethe");
    for (let i = 0; i < 12; i++) await deposit(`warm${i}`);
    for (let i = 0; i < 12; i++) await deposit("warm");
  });

  after(async () => {
    await s?.close();
    await tap?.close();
  });

  const write = async (layer: "vault" | "lethe", golem = golems[0]) => {
    const i = ++n;
    const body = { golem_id: golem, layer, category: "insight", content: `funding flips before the open, note ${i}`, embedding: vector(i) };
    const r = await s.request("POST", "/v1/styx/entries", {
      token: key,
      body: layer === "lethe" ? { ...body, domain: "eth", confidence: 0.8 } : body,
    });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  const deposit = async (cls: string, golem = golems[0], domain = "eth") => {
    const r = await s.request("POST", "/v1/styx/pheromone/deposit", {
      token: key,
      body: { golem_id: golem, layer: "threat", class: cls, intensity: 0.7, domain, regime: "bull" },
    });
    assert.equal(r.status, 201, r.text);
    return r.json;
  };
  /**
   * What `op` sent to PostgreSQL, once the work it set off after answering (listeners) had its
   * turn, without the identity cache's refresh reads; `refreshed` tells whether there were any.
   */
  const measured = async (op: () => Promise<unknown>): Promise<TapWindow & { refreshed: boolean }> => {
    const from = tap.mark();
    await op();
    await sleep(100);
    const all = tap.since(from, ignored);
    return { ...tap.since(from, (t) => ignored(t) || refresh(t)), refreshed: all.statements.some((x) => refresh(x.text)) };
  };
  /** The window's transactions, each statement by its first words, and its round trips. */
  const show = (w: TapWindow) =>
    `${w.roundTrips} round trips ${JSON.stringify(w.statements.map((x) => `${x.connection}:${x.round}`))}; transactions: ${JSON.stringify(w.transactions.map((t) => t.map((x) => x.trim().split(/\s+/).slice(0, 4).join(" "))))}`;

  /** The op measured `times` times: every window, and the fewest round trips one took (a first use on a connection costs more). */
  const repeated = async (op: () => Promise<unknown>, times = 4) => {
    const windows: (TapWindow & { refreshed: boolean })[] = [];
    for (let i = 0; i < times; i++) windows.push(await measured(op));
    // Records expire 5 s after they were read, not all in the same request: of 4 requests in a
    // row at most two may fall on a refresh; a cache that does not answer refreshes in all four.
    assert.ok(
      windows.filter((w) => w.refreshed).length <= 2,
      `identity reads in ${windows.filter((w) => w.refreshed).length} of ${times} windows: the cache is not answering`,
    );
    return { windows, fewest: windows.reduce((a, b) => (b.roundTrips < a.roundTrips ? b : a)) };
  };

  it("commits a vault write as one statement: one transaction, one round trip", async () => {
    const { windows, fewest } = await repeated(() => write("vault"));
    for (const w of windows) assert.equal(w.transactions.length, 1, show(w));
    for (const w of windows) assert.match(w.transactions[0]?.[0] ?? "", /^\s*INSERT INTO entries/, show(w));
    assert.equal(fewest.roundTrips, 1, show(fewest));
  });

  it("commits a lethe write (entry, writers, queue) in one pipelined transaction", async () => {
    const { windows, fewest } = await repeated(() => write("lethe"));
    for (const w of windows) assert.equal(w.transactions.length, 1, show(w));
    assert.ok(
      windows[0]?.transactions[0]?.some((t) => /INSERT INTO lethe_queue/.test(t)),
      show(windows[0] as TapWindow),
    );
    // Two waits (the INSERT's seqs and the domain's writers; then the queue and COMMIT), but postgres.js
    // sends a message of 1 KiB or more (a 384-d embedding) at once and the rest at the turn's end,
    // so the wire may show each half in two sends: at most 4, where one statement at a time took 8.
    assert.ok(fewest.roundTrips <= 4, show(fewest));
  });

  it("commits a deposit, new or reinforcing, in one transaction of two round trips (one statement at a time: 6)", async () => {
    let k = 0;
    for (const op of [() => deposit(`fresh${++k}`), () => deposit("again")]) {
      const { windows, fewest } = await repeated(op);
      for (const w of windows) assert.equal(w.transactions.length, 1, show(w));
      assert.equal(fewest.roundTrips, 2, show(fewest));
    }
  });
});

/** The group commit itself, on the stores: what one turn of concurrent calls sends. */
describe("PostgreSQL group commit of one turn (wire tap)", () => {
  let tap: PgWireTap;
  let sql: PgSql;
  const schema = newCluster();

  before(async () => {
    await initCrypto();
    tap = await PgWireTap.start(SERVICES.databaseUrl);
    sql = openPostgres(tap.url, { schema });
    await migratePostgres(sql, schema);
  });

  after(async () => {
    await sql?.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await sql?.end({ timeout: 5 });
    await tap?.close();
  });

  it("stores the inserts of one turn in one statement, each call's entries in its order", async () => {
    const store = new PostgresEntryStore(sql);
    await store.insert(entryFixture("warm-0"));
    const from = tap.mark();
    const calls = Array.from({ length: 16 }, (_, i) =>
      store.insertMany([{ entry: entryFixture(`t${i}a`) }, { entry: entryFixture(`t${i}b`) }]),
    );
    const stored = await Promise.all(calls);
    const w = tap.since(from);
    assert.equal(w.transactions.length, 1, JSON.stringify(w.transactions));
    assert.deepEqual(
      stored.map((c) => c.map((x) => x.entry.id)),
      Array.from({ length: 16 }, (_, i) => [`t${i}a`, `t${i}b`]),
    );
    const seqs = stored.flat().map((x) => x.entry.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
  });

  it("answers a failing insert alone and commits its neighbours (the group runs again call by call)", async () => {
    const store = new PostgresEntryStore(sql);
    const ok = store.insertMany([{ entry: entryFixture("n1") }]);
    // PostgreSQL text holds no NUL character: this call's INSERT fails, and with it its group's transaction.
    const bad = store.insertMany([{ entry: entryFixture("n2", { content: "nul \u0000 here" }) }]);
    const ok2 = store.insertMany([{ entry: entryFixture("n3") }]);
    const [a, b, c] = await Promise.allSettled([ok, bad, ok2]);
    assert.equal(a.status, "fulfilled");
    assert.equal(b.status, "rejected");
    assert.equal(c.status, "fulfilled");
    assert.ok(await store.getEntry("n1", T));
    assert.ok(await store.getEntry("n3", T));
  });

  it("deposits one turn's deposits in one transaction; deposits into one cell follow each other in rounds", async () => {
    const store = new PostgresPheromoneStore(sql);
    const d = (i: number, over: Partial<PheromoneDeposit> = {}): PheromoneDeposit => ({
      ...{ id: `phe_t${i}`, layer: "threat", class: "rug", domain: `d${i}`, regime: "bull", intensity: 0.8 },
      ...{ sourceHash: `src-${i}`, metadata: {}, hv: null },
      ...over,
    });
    await store.deposit(d(999), T);
    let from = tap.mark();
    await Promise.all(Array.from({ length: 16 }, (_, i) => store.deposit(d(i), T)));
    let w = tap.since(from);
    assert.equal(w.transactions.length, 1, JSON.stringify(w.transactions));
    from = tap.mark();
    const crowded = await Promise.all(Array.from({ length: 5 }, (_, i) => store.deposit(d(100 + i, { domain: "one" }), T + i)));
    w = tap.since(from);
    assert.equal(w.transactions.length, 5, "one cell: one round each");
    assert.deepEqual(
      crowded.map((o) => [o.reinforced, o.pheromone.confirmations]),
      [
        [false, 0],
        [true, 1],
        [true, 2],
        [true, 3],
        [true, 4],
      ],
    );
  });
});
