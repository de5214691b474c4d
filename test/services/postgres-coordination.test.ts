import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { migratePostgres, openPostgres, type PgSql } from "../../src/adapters/postgres/database.js";
import { PostgresAchievementStore } from "../../src/adapters/postgres/postgres-achievement-store.js";
import { PostgresCausalStore } from "../../src/adapters/postgres/postgres-causal-store.js";
import { PostgresCladeStore } from "../../src/adapters/postgres/postgres-clade-store.js";
import { type DeathPheromoneWriter, PostgresDeathStore } from "../../src/adapters/postgres/postgres-death-store.js";
import { PostgresEntryStore } from "../../src/adapters/postgres/postgres-entry-store.js";
import { PostgresIdentityStore } from "../../src/adapters/postgres/postgres-identity-store.js";
import { PostgresPheromoneStore } from "../../src/adapters/postgres/postgres-pheromone-store.js";
import type { CausalPublication } from "../../src/core/coordination/causal.js";
import type { BloodstainResult, DeathEffects, DeathRecord } from "../../src/core/coordination/death.js";
import { HV_BYTES } from "../../src/core/coordination/pheromone.js";
import type { DepositOutcome, PheromoneDeposit } from "../../src/core/coordination/pheromone-store.js";
import type { SequencedEvent } from "../../src/core/fabric/event-bus.js";
import type { Entry } from "../../src/core/knowledge/types.js";
import { describeAchievementStoreContract } from "../../src/testing/contracts/achievement-store.contract.js";
import { describeCladeStoreContract } from "../../src/testing/contracts/clade-store.contract.js";
import { describeCausalStoreContract, describePheromoneStoreContract } from "../../src/testing/contracts/coordination.contract.js";
import { describeDeathStoreContract } from "../../src/testing/contracts/death-store.contract.js";
import { entryFixture } from "../../src/testing/contracts/entry-store.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

const T0 = 1_800_000_000_000;
const schema = newCluster();
/** Two pools on one schema stand for two gateways sharing the database. */
const sql = openPostgres(SERVICES.databaseUrl, { schema, max: 6 });
const other = openPostgres(SERVICES.databaseUrl, { schema, max: 6 });
await migratePostgres(sql, schema);

after(async () => {
  await sql`DROP SCHEMA ${sql(schema)} CASCADE`;
  await Promise.all([sql.end(), other.end()]);
});

/** Empties every table, so each test (and each contract case) starts from nothing. */
async function clean(): Promise<void> {
  await sql`TRUNCATE clade_members, clade_outbox, pheromones, pheromone_sources, pheromone_vectors, causal_edges, causal_votes,
    deaths, achievements, source_directory, entries, lethe_queue, lethe_entries, lethe_writers, api_keys, sessions, golems, users CASCADE`;
}

async function golem(id: string, userId = "u1"): Promise<void> {
  await sql`INSERT INTO users (id, tier, created_at, updated_at) VALUES (${userId}, 'free', ${T0}, ${T0}) ON CONFLICT DO NOTHING`;
  await sql`INSERT INTO golems (id, user_id, generation, status, created_at) VALUES (${id}, ${userId}, 1, 'alive', ${T0})`;
}

describePheromoneStoreContract("postgres", async () => {
  await clean();
  return new PostgresPheromoneStore(sql);
});
describeCausalStoreContract("postgres", async () => {
  await clean();
  return new PostgresCausalStore(sql);
});
describeCladeStoreContract("postgres", async () => {
  await clean();
  return new PostgresCladeStore(sql);
});
describeAchievementStoreContract("postgres", async () => {
  await clean();
  return { achievements: new PostgresAchievementStore(sql), identity: new PostgresIdentityStore(sql) };
});
describeDeathStoreContract("postgres", async () => {
  await clean();
  const entries = new PostgresEntryStore(sql);
  const pheromones = new PostgresPheromoneStore(sql);
  return { deaths: new PostgresDeathStore(sql, { entries, pheromones }), identity: new PostgresIdentityStore(sql), entries, pheromones };
});

function event(seq: number): SequencedEvent {
  return { stream: "user:u1", epoch: "e1", seq, ts: T0 + seq, channel: "clade:delta", payloadJson: `{"n":${seq}}` };
}

describe("PostgresCladeStore migration 8", () => {
  it("reads the domains a schema before migration 8 stored as text[], and stores them as the JSON text SQLite holds", async () => {
    const old = newCluster();
    const db = openPostgres(SERVICES.databaseUrl, { schema: old, max: 2 });
    try {
      await migratePostgres(db, old, 7);
      await db`INSERT INTO clade_members (golem_id, user_id, domains, registered_at) VALUES
        ('g1', 'u1', ${db.array(["dex", 'quo"te', "é,{x}"])}::text[], ${T0}), ('g2', 'u1', '{}'::text[], ${T0 + 1})`;
      await migratePostgres(db, old);
      const s = new PostgresCladeStore(db);
      assert.deepEqual(
        (await s.members("u1")).map((m) => [m.golemId, m.domains]),
        [
          ["g1", ["dex", 'quo"te', "é,{x}"]],
          ["g2", []],
        ],
      );
      await s.register({ golemId: "g3", userId: "u1", domains: ["lend"], registeredAt: T0 + 2 });
      const rows = await db<{ golem_id: string; domains: string }[]>`SELECT golem_id, domains FROM clade_members ORDER BY golem_id`;
      assert.deepEqual(
        rows.map((r) => [r.golem_id, r.domains]),
        [
          ["g1", JSON.stringify(["dex", 'quo"te', "é,{x}"])],
          ["g2", "[]"],
          ["g3", '["lend"]'],
        ],
      );
    } finally {
      await db`DROP SCHEMA ${db(old)} CASCADE`;
      await db.end();
    }
  });
});

describe("PostgresCladeStore across gateways", () => {
  it("hands each delta out once, in order, to two gateways taking concurrently", async () => {
    await clean();
    const [a, b] = [new PostgresCladeStore(sql), new PostgresCladeStore(other)];
    for (let i = 1; i <= 200; i++) await (i % 2 ? a : b).enqueue(["g1"], event(i), T0 + 1e9, 1000);
    const seen: number[] = [];
    const drain = async (s: PostgresCladeStore): Promise<void> => {
      for (;;) {
        const got = await s.take("g1", T0, 7);
        if (got.length === 0) return;
        const ids = got.map((e) => e.seq);
        assert.deepEqual(
          ids,
          [...ids].sort((x, y) => x - y),
          "each batch in enqueue order",
        );
        seen.push(...ids);
      }
    };
    await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
    assert.equal(seen.length, 200, "nothing lost");
    assert.equal(new Set(seen).size, 200, "nothing handed out twice");
    assert.deepEqual(await a.take("g1", T0, 10), []);
  });

  it("keeps the newest max deltas per recipient, counting the dropped, also under concurrent enqueues", async () => {
    await clean();
    const s = new PostgresCladeStore(sql);
    const drops: number[] = [];
    for (let i = 1; i <= 5; i++) drops.push(await s.enqueue(["g1"], event(i), T0 + 1e9, 3));
    assert.deepEqual(drops, [0, 0, 0, 1, 1]);
    assert.deepEqual(
      (await s.take("g1", T0, 10)).map((e) => e.seq),
      [3, 4, 5],
    );
    const t = new PostgresCladeStore(other);
    const raced = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? s : t).enqueue(["g1", "g2"], event(i), T0 + 1e9, 10)));
    assert.equal(
      raced.reduce((x, y) => x + y, 0),
      60,
      "30 dropped for each of two recipients",
    );
    assert.equal((await s.take("g1", T0, 100)).length, 10);
    assert.equal((await s.take("g2", T0, 100)).length, 10);
  });
});

function dep(over: Partial<PheromoneDeposit> = {}): PheromoneDeposit {
  return {
    id: `phe_${Math.random().toString(36).slice(2)}`,
    layer: "threat",
    class: "rug",
    domain: "defi",
    regime: "bull",
    intensity: 0.8,
    sourceHash: "src-a",
    metadata: { note: "\u0000 is kept" },
    hv: null,
    ...over,
  };
}

describe("PostgresPheromoneStore across gateways", () => {
  it("creates no twin and loses no confirmation when two gateways deposit into one cell", async () => {
    await clean();
    const [a, b] = [new PostgresPheromoneStore(sql), new PostgresPheromoneStore(other)];
    const all = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).deposit(dep({ sourceHash: `s${i}` }), T0)));
    assert.equal(new Set(all.map((o) => o.pheromone.id)).size, 1, "one pheromone");
    assert.equal(all.filter((o) => !o.reinforced).length, 1, "created once");
    assert.equal(all.filter((o) => o.confirmed).length, 29, "every other source confirmed");
    const [p] = await b.live(["defi"], "bull", T0);
    assert.equal(p?.confirmations, 29);
    assert.deepEqual(p?.metadata, { note: "\u0000 is kept" });
  });

  it("bundles similar hypervectors deposited by two gateways into one pheromone", async () => {
    await clean();
    const [a, b] = [new PostgresPheromoneStore(sql), new PostgresPheromoneStore(other)];
    const base = new Uint8Array(HV_BYTES).fill(0b1010_1010);
    const near = (i: number): Uint8Array => {
      const v = base.slice();
      v[i] = 0;
      return v;
    };
    const all = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).deposit(dep({ hv: near(i), sourceHash: `s${i}` }), T0)),
    );
    assert.equal(new Set(all.map((o) => o.pheromone.id)).size, 1, "one pheromone");
    const [row] = await sql<{ n: number }[]>`SELECT count(*) AS n FROM pheromone_vectors`;
    assert.equal(row?.n, 31, "members bounded by HV_MAX_MEMBERS");
    const [p] = await a.live(["defi"], undefined, T0);
    assert.deepEqual(p?.hv, base, "the majority bundle");
  });

  it("leaves nothing behind when the caller's transaction of depositWith rolls back", async () => {
    await clean();
    const s = new PostgresPheromoneStore(sql);
    await assert.rejects(
      sql.begin(async (tx) => {
        await s.depositWith(tx, dep(), T0);
        throw new Error("caller fails");
      }),
      /caller fails/,
    );
    assert.equal(await s.countLive(T0), 0);
  });
});

function pub(publisherHash: string, over: Partial<CausalPublication> = {}): CausalPublication {
  return {
    id: `cau_${publisherHash}`,
    fromVariable: "x",
    toVariable: "y",
    domain: "d",
    regime: "r",
    direction: "positive",
    strength: "strong",
    lagTicks: 1,
    evidenceCount: 5,
    confidence: 0.7,
    publisherHash,
    ...over,
  };
}

describe("PostgresCausalStore across gateways", () => {
  it("creates an edge once and counts each publisher once when two gateways publish it together", async () => {
    await clean();
    const [a, b] = [new PostgresCausalStore(sql), new PostgresCausalStore(other)];
    const outs = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        (i % 2 ? a : b).publish(pub(`p${i % 12}`, { direction: i % 12 < 8 ? "positive" : "negative" }), T0),
      ),
    );
    assert.equal(outs.filter((o) => o.outcome === "created").length, 1, "one creator");
    assert.equal(outs.filter((o) => o.outcome === "unchanged").length, 12, "every repeat changes nothing");
    const [edge] = await a.discover({ minValidations: 0, limit: 10 });
    const creatorAgrees = edge?.direction === "positive";
    assert.deepEqual([edge?.validations, edge?.contradictions], creatorAgrees ? [7, 4] : [3, 8]);
  });
});

const resultOf = (entries: readonly Entry[], deposits: readonly DepositOutcome[]): BloodstainResult => ({
  golemId: "g1",
  diedAt: T0,
  entryIds: entries.map((e) => e.id),
  pheromoneIds: deposits.map((d) => d.pheromone.id),
  letheQueued: 0,
});

function death(golemId = "g1", diedAt = T0): Omit<DeathRecord, "result"> {
  return {
    golemId,
    userId: "u1",
    generation: 1,
    deathCause: "starved",
    diedAt,
    recordedAt: diedAt + 5,
    ticksLived: 4242,
    warnings: 2,
    causalEdges: 0,
    testamentExcerpt: "remember",
    somaticFragment: { fear: 0.9 },
    signed: true,
    bornAt: diedAt - 1000,
    finalPhase: null,
    finalPad: null,
    finalNav: null,
    domains: [],
  };
}

function effects(golemId = "g1"): DeathEffects {
  return {
    entries: [
      { entry: entryFixture(`${golemId}-w1`, { golemId, isBloodstain: true, inClade: true }) },
      { entry: entryFixture(`${golemId}-w2`, { golemId, isBloodstain: true, inClade: true }) },
    ],
    deposits: [dep({ domain: "lend", sourceHash: golemId }), dep({ domain: "defi", sourceHash: golemId })],
  };
}

function deathStore(pool: PgSql = sql): PostgresDeathStore {
  return new PostgresDeathStore(pool, { entries: new PostgresEntryStore(pool), pheromones: new PostgresPheromoneStore(pool) });
}

async function written(): Promise<{ status: string | undefined; deaths: number; entries: number; pheromones: number }> {
  const [g] = await sql<{ status: string }[]>`SELECT status FROM golems WHERE id = 'g1'`;
  const [n] = await sql<{ d: number; e: number; p: number }[]>`
    SELECT (SELECT count(*) FROM deaths) AS d, (SELECT count(*) FROM entries) AS e, (SELECT count(*) FROM pheromones) AS p`;
  return { status: g?.status, deaths: n?.d ?? -1, entries: n?.e ?? -1, pheromones: n?.p ?? -1 };
}

/**
 * Pheromone writers that, after their first deposit, wait for the other's first deposit (at
 * most 300 ms): without cell locks taken up front, two deaths depositing into the same two
 * cells in opposite orders then each hold the cell the other needs next, and PostgreSQL
 * aborts one as a deadlock. With them, the second death waits before its first deposit and
 * the timeout lets the first one finish.
 */
function meetAfterFirstDeposit(pools: readonly PgSql[]): DeathPheromoneWriter[] {
  let arrived = 0;
  let meet = (): void => {};
  const met = new Promise<void>((resolve) => {
    meet = resolve;
  });
  return pools.map((pool) => {
    const inner = new PostgresPheromoneStore(pool);
    let deposits = 0;
    return {
      async depositWith(tx, d, now) {
        const out = await inner.depositWith(tx, d, now);
        if (++deposits === 1) {
          if (++arrived === pools.length) meet();
          await Promise.race([met, delay(300)]);
        }
        return out;
      },
    };
  });
}

describe("PostgresDeathStore across gateways", () => {
  it("records a death once when two gateways receive it together", async () => {
    await clean();
    await golem("g1");
    const [a, b] = [deathStore(sql), deathStore(other)];
    const outs = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).record(death(), effects(), T0, resultOf)));
    assert.equal(outs.filter((o) => o.created).length, 1, "one creator");
    assert.equal(new Set(outs.map((o) => JSON.stringify(o.record))).size, 1, "one answer");
    assert.deepEqual(await written(), { status: "dead", deaths: 1, entries: 2, pheromones: 2 });
  });

  it("lets deaths depositing into the same cells in opposite orders both commit", async () => {
    await clean();
    await Promise.all(["g1", "g2"].map((g) => golem(g)));
    const [pa, pb] = meetAfterFirstDeposit([sql, other]);
    assert.ok(pa && pb, "two writers");
    const s = new PostgresDeathStore(sql, { entries: new PostgresEntryStore(sql), pheromones: pa });
    const t = new PostgresDeathStore(other, { entries: new PostgresEntryStore(other), pheromones: pb });
    const fx2 = effects("g2");
    const reversed: DeathEffects = { ...fx2, deposits: [...fx2.deposits].reverse() };
    const outs = await Promise.all([s.record(death("g1"), effects("g1"), T0, resultOf), t.record(death("g2"), reversed, T0, resultOf)]);
    assert.deepEqual(
      outs.map((o) => o.created),
      [true, true],
    );
    const live = await new PostgresPheromoneStore(sql).allLive(T0);
    assert.deepEqual(
      live.map((p) => p.confirmations),
      [1, 1],
      "each cell confirmed by the second death",
    );
  });
});

describe("PostgresAchievementStore across gateways", () => {
  it("unlocks once even when two gateways unlock together, and lists in unlock order", async () => {
    await clean();
    await golem("g1");
    const [a, b] = [new PostgresAchievementStore(sql), new PostgresAchievementStore(other)];
    const wins = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).unlock("g1", "elder", T0 + i)));
    assert.equal(wins.filter(Boolean).length, 1, "one unlock");
    assert.equal(await a.unlock("g1", "first_words", T0 + 100), true);
    assert.deepEqual(
      (await b.list("g1")).map((u) => u.code),
      ["elder", "first_words"],
    );
    assert.deepEqual(await b.list("g2"), []);
  });
});
