import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { AesSealedBox } from "../../../src/adapters/crypto/aes-sealed-box.js";
import { ViemSignatureVerifier } from "../../../src/adapters/evm/viem-signature-verifier.js";
import { ExactVectorIndex } from "../../../src/adapters/memory/exact-vector-index.js";
import { MemoryPresence } from "../../../src/adapters/memory/memory-presence.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteAchievementStore } from "../../../src/adapters/sqlite/sqlite-achievement-store.js";
import { SqliteDeathStore } from "../../../src/adapters/sqlite/sqlite-death-store.js";
import { SqliteEntryStore } from "../../../src/adapters/sqlite/sqlite-entry-store.js";
import { SqliteFederationStore } from "../../../src/adapters/sqlite/sqlite-federation-store.js";
import { SqliteIdentityStore } from "../../../src/adapters/sqlite/sqlite-identity-store.js";
import { SqlitePheromoneStore } from "../../../src/adapters/sqlite/sqlite-pheromone-store.js";
import { AchievementService } from "../../../src/core/coordination/achievements.js";
import { type BloodstainInput, BloodstainService } from "../../../src/core/coordination/bloodstain-service.js";
import { bloodstainTypedData } from "../../../src/core/coordination/bloodstain-signature.js";
import { PheromoneService } from "../../../src/core/coordination/pheromone-service.js";
import { parseFederatedDomains, parseFlows } from "../../../src/core/federation/flows.js";
import { FederationEmitter } from "../../../src/core/federation/outlet.js";
import type { Golem } from "../../../src/core/identity/types.js";
import { KnowledgeService } from "../../../src/core/knowledge/knowledge-service.js";
import { VectorSearch } from "../../../src/core/knowledge/vector-search.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { recordToWire } from "../../../src/protocol/federation-codec.js";
import { golemFixture, userFixture } from "../../../src/testing/contracts/identity-store.contract.js";
import { recordingBus, TEST_SECRET_KEY, testPipeline } from "../../../src/testing/core-kit.js";

/** The chain and instance this Styx binds bloodstain signatures to. */
const BINDING = { chainId: 8453, instanceId: "sx_0123456789abcdef" };

before(() => initCrypto());

const MINUTE = 60_000;
const USER = "usr_bloodowner00001";
const DIED = "2026-07-01T11:00:00.000Z";

/** A bloodstain service over one SQLite database in RAM, as the micronode composes it (lethe k = 1, delay 1 min). */
async function setup(opts: { federate?: string } = {}) {
  const clock = new ManualClock(Date.UTC(2026, 6, 1, 12));
  const db = openDatabase(":memory:");
  const federationStore = new SqliteFederationStore(db);
  const identity = new SqliteIdentityStore(db);
  const entries = new SqliteEntryStore(db);
  const pheromoneStore = new SqlitePheromoneStore(db);
  const deaths = new SqliteDeathStore(db, { entries, pheromones: pheromoneStore });
  const recorded = await recordingBus(clock);
  const { bus } = recorded;
  const pipeline = testPipeline();
  const key = TEST_SECRET_KEY;
  const vectors = new VectorSearch(new ExactVectorIndex(4), { dimensions: 4 });
  const knowledge = new KnowledgeService({
    store: entries,
    vectors,
    clock,
    dimensions: 4,
    letheDelay: { minMs: MINUTE, maxMs: MINUTE },
    letheK: 1,
    key,
    pipeline,
  });
  // With `federate` (the domains sent up): an outlet queueing into this database's outbox, as a downstream's.
  const wakes: number[] = [];
  const federation =
    opts.federate === undefined
      ? undefined
      : new FederationEmitter({
          instanceId: "sx_00000000000000dd",
          key,
          flows: parseFlows("pheromone"),
          domains: parseFederatedDomains(opts.federate),
          upstream: true,
          store: federationStore,
          bus,
          clock,
          wire: (r) => recordToWire(r) as unknown as Record<string, unknown>,
          wake: () => wakes.push(clock.now()),
          warn: (msg, err) => assert.fail(`${msg}: ${err}`),
        });
  const pheromones = new PheromoneService({ store: pheromoneStore, bus, clock, key, pipeline, federation });
  const achievements = new AchievementService({
    store: new SqliteAchievementStore(db),
    bus,
    clock,
    box: AesSealedBox.open(key, "source-directory"),
  });
  const presence = new MemoryPresence();
  const service = new BloodstainService({
    deaths,
    knowledge,
    pheromones,
    achievements,
    verifier: new ViemSignatureVerifier(),
    binding: BINDING,
    pipeline,
    bus,
    clock,
    lastHeartbeat: (golemId) => presence.ofGolem(golemId),
  });
  await identity.createUser(userFixture(USER));
  /** Registers a golem in the store and returns it as tenancy would. */
  const golem = async (id: string, extra: Partial<Golem> = {}): Promise<Golem> => {
    await identity.createGolem(golemFixture(id, USER, { status: "alive", generation: 1, ...extra }));
    return (await identity.getGolem(id)) as Golem;
  };
  const outbox = async () => (await federationStore.due(Number.MAX_SAFE_INTEGER, 100)).map((i) => i.record);
  const relaying = async () => (await federationStore.relayPending(100)).map((i) => i.record);
  return {
    clock,
    identity,
    entries,
    deaths,
    pheromones,
    achievements,
    service,
    golem,
    presence,
    outbox,
    relaying,
    wakes,
    federationStore,
    ...recorded,
  };
}

function upload(golem: Golem, over: Partial<BloodstainInput> = {}): BloodstainInput {
  return {
    golem_id: golem.id,
    generation: golem.generation,
    death_cause: "liquidated",
    timestamp: DIED,
    warnings: [
      { domain: "perps", regime: "bull", class: "cascade", severity: 0.9, message: "funding squeeze precedes the liquidation cascade" },
      { domain: "lend", regime: "bull", class: "oracle_lag", severity: 0.3, message: "oracle lag widens before the depeg" },
    ],
    causal_edges: [
      { from_variable: "funding", to_variable: "liquidations", direction: "positive", strength: 0.7, domain: "perps", regime: "bull" },
    ],
    ticks_lived: 12_000,
    death_testament_excerpt: "hedge earlier",
    ...over,
  };
}

describe("BloodstainService.upload", () => {
  it("queues the death's pheromones of federated domains for the upstream, in the death's transaction, as this Styx's records", async () => {
    const h = await setup({ federate: "perps" });
    const g = await h.golem("glm_bs0fed01");
    const { result } = await h.service.upload(g, upload(g), []);
    const queued = await h.outbox();
    assert.deepEqual(
      queued.map((r) => [r.kind, r.domain, r.kind === "pheromone" ? [r.pheromone.layer, r.pheromone.class] : null]),
      [
        ["pheromone", "perps", ["threat", "cascade"]],
        ["pheromone", "perps", ["wisdom", "funding->liquidations"]],
      ],
      "the lend warning's pheromone stays home: lend does not federate",
    );
    assert.deepEqual(
      queued.map((r) => r.id),
      result.pheromoneIds.filter((_, i) => i !== 1),
    );
    assert.ok(queued.every((r) => r.origin === "sx_00000000000000dd" && r.kind === "pheromone" && !JSON.stringify(r).includes(g.id)));
    await h.service.upload(g, upload(g), []);
    assert.equal((await h.outbox()).length, 2, "a repeated upload queues nothing more");
  });

  it("writes the death's pheromones a downstream takes into the relay outbox with the death, then wakes the relay", async () => {
    const h = await setup({ federate: "perps" });
    await h.federationStore.saveLink({
      keyId: "key_down",
      userId: "usr_fed",
      instanceId: "sx_00000000000000ee",
      version: "test",
      flows: ["pheromone"],
      domains: ["lend"],
      embedDim: 384,
      helloAt: 0,
      lastSeenAt: 0,
    });
    const g = await h.golem("glm_bs0fed02");
    const { result } = await h.service.upload(g, upload(g), []);
    const relayed = await h.relaying();
    assert.deepEqual(
      relayed.map((r) => [r.id, r.domain, r.origin]),
      [[result.pheromoneIds[1], "lend", "sx_00000000000000dd"]],
      "only lend goes down (the link's domain); perps goes up only",
    );
    assert.equal((await h.outbox()).length, 2);
    assert.equal(h.wakes.length, 1, "the relay woken once, after the death's transaction");
  });

  it("records the death in one step: the golem dead, its record, a threat per warning, wisdom per edge, clade warnings", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0001aa");
    const { result, created } = await h.service.upload(g, upload(g), []);
    assert.equal(created, true);
    assert.deepEqual(
      [result.golemId, result.diedAt, result.entryIds.length, result.pheromoneIds.length, result.letheQueued],
      [g.id, Date.parse(DIED), 2, 3, 0],
    );
    const dead = await h.identity.getGolem(g.id);
    assert.deepEqual([dead?.status, dead?.diedAt, dead?.deathCause, dead?.ticksLived], ["dead", Date.parse(DIED), "liquidated", 12_000]);
    const record = await h.deaths.find(g.id);
    assert.deepEqual(
      [record?.recordedAt, record?.warnings, record?.causalEdges, record?.signed, record?.testamentExcerpt, record?.result],
      [h.clock.now(), 2, 1, false, "hedge earlier", result],
    );
    const stored = await h.entries.pageGolemEntries(g.id, 0, 10, h.clock.now());
    assert.deepEqual(
      stored.map((e) => [e.id, e.category, e.isBloodstain, e.inClade, e.confidence, e.letheAt]),
      [
        [result.entryIds[0], "warning", true, true, 0.9, null],
        [result.entryIds[1], "warning", true, true, 0.3, null],
      ],
      "a warning is clade knowledge whatever its severity",
    );
    const [perps, lend] = await h.pheromones.sense(["perps", "lend"], undefined, 10);
    assert.deepEqual(
      perps?.pheromones.map((p) => [p.pheromone.layer, p.pheromone.class, p.pheromone.intensity, p.pheromone.metadata]),
      [
        ["threat", "cascade", 0.9, { bloodstain: true }],
        ["wisdom", "funding->liquidations", 0.7, { bloodstain: true }],
      ],
    );
    assert.deepEqual([lend?.threat, lend?.live], [0.3, 1]);
  });

  it("keeps in the record the golem's birth, its last heartbeat's phase, PAD and NAV, and the domains the bloodstain touched", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0009aa");
    const pad = { pleasure: -0.6, arousal: 0.8, dominance: -0.2 };
    await h.presence.beat({
      golemId: g.id,
      userId: USER,
      phase: "terminal",
      vitality: 0.05,
      pad,
      emotion: "dread",
      regime: "bull",
      tick: 11_999,
      domains: ["perps"],
      dreaming: false,
      nav: 12.5,
      lastSeen: h.clock.now(),
      archetype: null,
      generation: 1,
      bornAt: g.createdAt,
    });
    await h.service.upload(g, upload(g), []);
    const record = await h.deaths.find(g.id);
    assert.deepEqual(
      [record?.bornAt, record?.finalPhase, record?.finalPad, record?.finalNav, record?.domains],
      [g.createdAt, "terminal", pad, 12.5, ["lend", "perps"]],
    );
    const silent = await h.golem("glm_bs0010aa");
    await h.service.upload(silent, upload(silent, { causal_edges: [] }), []);
    const quiet = await h.deaths.find(silent.id);
    assert.deepEqual([quiet?.finalPhase, quiet?.finalPad, quiet?.finalNav], [null, null, null], "no heartbeat heard: no final state");
  });

  it("queues anonymized lethe copies of the warnings that pass the lethe gate (severity ≥ 0.6) when the owner opts in", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0002bb");
    const input = upload(g, { publish_to_lethe: true });
    const mentions: BloodstainInput = {
      ...input,
      warnings: input.warnings.map((w, i) => (i === 0 ? { ...w, message: `${g.id} saw the funding squeeze first` } : w)),
    };
    const { result } = await h.service.upload(g, mentions, []);
    assert.equal(result.letheQueued, 1, "the 0.3 warning stays in the clade");
    assert.deepEqual(await h.entries.dueLethe(h.clock.now() + MINUTE - 1, 10), [], "due after the lethe delay");
    const due = await h.entries.dueLethe(h.clock.now() + MINUTE, 10);
    assert.equal(due.length, 1);
    assert.match(due[0]?.content ?? "", /saw the funding squeeze first/);
    assert.ok(
      due.every((c) => c.isBloodstain && !c.content.includes(g.id) && !JSON.stringify(c).includes(USER)),
      "no golem or owner id in a public copy",
    );
  });

  it("announces the death to the owner with the golem, to each warned domain without it, and its deposits", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0003cc");
    await h.service.upload(g, upload(g), []);
    const deaths = h.on("styx:bloodstain");
    assert.deepEqual(
      deaths.map((e) => [e.stream, e.payload]),
      [
        [`user:${USER}`, { golem_id: g.id, generation: 1, death_cause: "liquidated", died_at: DIED, warnings: 2, causal_edges: 1 }],
        ["domain:perps", { domain: "perps", warnings: [{ class: "cascade", regime: "bull", severity: 0.9 }] }],
        ["domain:lend", { domain: "lend", warnings: [{ class: "oracle_lag", regime: "bull", severity: 0.3 }] }],
      ],
    );
    assert.equal(h.on("styx:pheromone:deposit").length, 3);
    const domainText = JSON.stringify(h.events.filter((e) => e.stream.startsWith("domain:")));
    assert.ok(!domainText.includes(g.id) && !domainText.includes(USER), "domain streams never name the golem or its owner");
  });

  it("evaluates achievements: scarred for the clade's first death only, elder by ticks lived, third generation", async () => {
    const h = await setup();
    const first = await h.golem("glm_bs0004dd");
    const second = await h.golem("glm_bs0005ee", { generation: 3 });
    await h.service.upload(first, upload(first), []);
    await h.service.upload(second, upload(second, { ticks_lived: 10 }), []);
    assert.deepEqual(
      (await h.achievements.list(first.id)).map((u) => u.code),
      ["elder", "scarred"],
    );
    assert.deepEqual(
      (await h.achievements.list(second.id)).map((u) => u.code),
      ["third_generation"],
    );
  });

  it("answers a repeat with the first result and changes nothing", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0006ff");
    const first = await h.service.upload(g, upload(g), []);
    const events = h.events.length;
    h.clock.advance(MINUTE);
    const dead = (await h.identity.getGolem(g.id)) as Golem;
    const again = await h.service.upload(dead, upload(g, { death_cause: "other", warnings: [] }), []);
    assert.deepEqual(again, { result: first.result, created: false });
    assert.equal(h.events.length, events, "nothing announced");
    assert.equal((await h.pheromones.sense(["perps"], undefined, 10))[0]?.pheromones[0]?.pheromone.confirmations, 0);
  });

  it("refuses a golem already dead without a record, and a wrong generation, writing nothing", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0007gg");
    await assert.rejects(h.service.upload({ ...g, status: "dead" }, upload(g), []), { code: "STYX_CONFLICT" });
    await assert.rejects(h.service.upload(g, upload(g, { generation: 2 }), []), (err: { code?: string; details?: unknown }) => {
      assert.equal(err.code, "STYX_VALIDATION");
      assert.deepEqual(err.details, [{ path: "/generation" }]);
      return true;
    });
    assert.equal(await h.deaths.find(g.id), undefined);
    assert.equal((await h.identity.getGolem(g.id))?.status, "alive");
    assert.deepEqual(h.events, []);
  });

  it("refuses a warning or an edge whose public field holds an identifier, naming it, and writes nothing", async () => {
    const h = await setup();
    const g = await h.golem("glm_bs0008hh");
    const base = upload(g);
    const badWarning = { ...base, warnings: [base.warnings[0], { ...base.warnings[1], class: g.id }] } as BloodstainInput;
    const badEdge = { ...base, causal_edges: [{ ...base.causal_edges?.[0], to_variable: USER }] } as BloodstainInput;
    for (const [input, path] of [
      [badWarning, "/warnings/1/class"],
      [badEdge, "/causal_edges/0/to_variable"],
    ] as const) {
      await assert.rejects(h.service.upload(g, input, []), (err: { code?: string; details?: unknown }) => {
        assert.equal(err.code, "STYX_NOT_PUBLISHABLE");
        assert.deepEqual(err.details, [{ path }]);
        return true;
      });
    }
    assert.equal(await h.deaths.find(g.id), undefined);
    assert.equal(await h.pheromones.countActive(), 0);
    assert.deepEqual(h.events, []);
  });

  it("takes a bloodstain of a golem with a wallet only signed by that wallet (EIP-712), and records it as signed", async () => {
    const h = await setup();
    const wallet = privateKeyToAccount(generatePrivateKey());
    const g = await h.golem("glm_bs0009ii", { walletAddress: wallet.address.toLowerCase() });
    const input = upload(g);
    const sign = (account: typeof wallet) => account.signTypedData(bloodstainTypedData(input, BINDING));
    await assert.rejects(h.service.upload(g, input, []), { code: "STYX_AUTH_INVALID_SIGNATURE" });
    const byOther = await sign(privateKeyToAccount(generatePrivateKey()));
    await assert.rejects(h.service.upload(g, { ...input, signature: byOther }, []), { code: "STYX_AUTH_INVALID_SIGNATURE" });
    const mine = await sign(wallet);
    await assert.rejects(
      h.service.upload(g, { ...input, death_cause: "edited after signing", signature: mine }, []),
      { code: "STYX_AUTH_INVALID_SIGNATURE" },
      "the signature covers the fields as sent",
    );
    assert.equal(await h.deaths.find(g.id), undefined);
    const { created } = await h.service.upload(g, { ...input, signature: mine }, []);
    assert.equal(created, true);
    assert.equal((await h.deaths.find(g.id))?.signed, true);
  });
});
