import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { anonymizeEntry, letheSourceOf, roundToHour } from "../../../src/core/knowledge/anonymize.js";
import { confirmLethe } from "../../../src/core/knowledge/entry-store.js";
import { reachesClade, reachesLethe } from "../../../src/core/knowledge/gates.js";
import { isEstablished, isFlagged } from "../../../src/core/knowledge/query.js";
import { collapseDuplicates, layerWeight, mortalScore, provenance, quality, temporal } from "../../../src/core/knowledge/scoring.js";
import { type Entry, entryNamespaces, type LetheEntry } from "../../../src/core/knowledge/types.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { SecretKey } from "../../../src/core/platform/secret-key.js";
import { IdentifierDirectory } from "../../../src/core/privacy/directory.js";
import { PublicPipeline } from "../../../src/core/privacy/public-pipeline.js";

describe("promotion gates", () => {
  const cases: [Parameters<typeof reachesClade>[1], number, number][] = [
    ["warning", 0.39, 0.4],
    ["insight", 0.59, 0.6],
    ["heuristic", 0.69, 0.7],
    ["causal_link", 0.59, 0.6],
    ["strategy_fragment", 0.59, 0.6],
    ["regime_observation", 0.59, 0.6],
    ["death_reflection", 0.59, 0.6],
  ];
  for (const [category, below, at] of cases) {
    it(`keeps a ${category} at ${below} in the vault and promotes it at ${at}`, () => {
      assert.equal(reachesClade("clade", category, below), false);
      assert.equal(reachesClade("clade", category, at), true);
      assert.equal(reachesClade("lethe", category, at), true);
      assert.equal(reachesClade("vault", category, 1), false);
    });
  }
  it("queues lethe only for layer lethe with a domain at confidence ≥ 0.6", () => {
    assert.equal(reachesLethe("lethe", "defi", 0.6), true);
    assert.equal(reachesLethe("lethe", "defi", 0.59), false);
    assert.equal(reachesLethe("lethe", null, 0.9), false);
    assert.equal(reachesLethe("clade", "defi", 0.9), false);
  });
});

describe("lethe anonymization", () => {
  before(initCrypto);

  const pipelineKnowing = (ids: [string, string][]) => {
    const directory = new IdentifierDirectory();
    directory.add(ids.map(([value, userId]) => ({ kind: "golem" as const, value, userId })));
    return new PublicPipeline({ directory, pause: async () => {} });
  };

  it("drops the owner, hashes the user, rounds the time, halves confidence and filters metadata", async () => {
    const entry = {
      id: "e1",
      seq: 1,
      userId: "alice",
      golemId: "g1",
      category: "insight",
      content: "alice says hi",
      contentHash: "h",
      contentBlob: null,
      embedding: null,
      domain: "defi",
      regime: "bull",
      confidence: 0.8,
      affect: null,
      emotion: null,
      metadata: { tags: ["alice", "x"], owner_email: "a@b.co", asset: "ETH" },
      isBloodstain: false,
      inClade: true,
      validations: 0,
      contradictions: 0,
      createdAt: Date.UTC(2026, 0, 1, 13, 47, 12),
      expiresAt: null,
      letheAt: null,
      letheWaiting: false,
      idempotencyKey: null,
    } satisfies Entry;
    const key = SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64"));
    const pipeline = pipelineKnowing([
      ["alice", "alice"],
      ["g1", "alice"],
    ]);
    const c = await anonymizeEntry(entry, { pipeline, key, id: "l1", dueAt: 0 });
    assert.ok(c);
    assert.equal(c.content, "[id] says hi");
    assert.equal(c.confidence, 0.4);
    assert.equal(c.createdAt, Date.UTC(2026, 0, 1, 13));
    assert.equal(c.createdAt, roundToHour(entry.createdAt));
    assert.equal(c.source, letheSourceOf("alice", key), "the source is the user: golems of one user are one source");
    assert.notEqual(letheSourceOf("alice", key), letheSourceOf("bob", key));
    assert.match(c.source, /^[0-9a-f]{24}$/);
    // Metadata keeps allow-listed keys whose values are public tokens: the identifier and the email are gone.
    assert.deepEqual(c.metadata, { tags: ["x"], asset: "eth" });
    assert.ok(!JSON.stringify(c).includes("alice") && !JSON.stringify(c).includes("g1"));
  });

  it("refuses the public copy when the domain or regime may not be published", async () => {
    const pipeline = pipelineKnowing([["carol-trader-7", "carol"]]);
    const base = { userId: "carol", golemId: "g", content: "x", metadata: {}, createdAt: 0, confidence: 0.9 } as unknown as Entry;
    assert.equal(
      await anonymizeEntry(
        { ...base, domain: "carol-trader-7", regime: null },
        { pipeline, key: SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64")), id: "l", dueAt: 0 },
      ),
      undefined,
    );
    assert.equal(
      await anonymizeEntry(
        { ...base, domain: "defi", regime: "Has Space" },
        { pipeline, key: SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64")), id: "l", dueAt: 0 },
      ),
      undefined,
    );
    assert.equal(
      (
        await anonymizeEntry(
          { ...base, domain: "DeFi", regime: "BULL" },
          { pipeline, key: SecretKey.fromBase64(Buffer.alloc(32, 7).toString("base64")), id: "l", dueAt: 0 },
        )
      )?.regime,
      "bull",
    );
  });
});

describe("lethe hygiene", () => {
  const entry = (confidences: number[]) =>
    ({
      confirmationConfidences: confidences,
      sources: confidences.map((_, i) => `s${i}`),
      bloodstainConfirmed: false,
    }) as unknown as LetheEntry;
  it("flags confirmations whose confidences vary by more than 0.15", () => {
    assert.equal(isFlagged(entry([0.9, 0.9, 0.8])), false);
    assert.equal(isFlagged(entry([1, 0.1])), true); // variance 0.2025
    assert.equal(isFlagged(entry([0.8, 0.1])), false); // variance 0.1225
  });
  it("establishes an entry held by 3 distinct sources (users) or confirmed by one bloodstain", () => {
    assert.equal(isEstablished(entry([0.8, 0.8])), false);
    assert.equal(isEstablished(entry([0.8, 0.8, 0.8])), true);
    assert.equal(isEstablished({ ...entry([0.8]), bloodstainConfirmed: true }), true);
  });
});

describe("entry namespaces", () => {
  it("puts an entry in its owner's vault", () => {
    assert.deepEqual(entryNamespaces({ userId: "u1", inClade: false }), ["vault:u1"]);
  });
  it("adds the owner's clade when the entry was promoted", () => {
    assert.deepEqual(entryNamespaces({ userId: "u1", inClade: true }), ["vault:u1", "clade:u1"]);
  });
});

describe("lethe confirmation", () => {
  const published = {
    sources: ["src-a"],
    confirmationConfidences: [0.4],
    bloodstainConfirmed: false,
    updatedAt: 1,
  } as unknown as LetheEntry;
  const by = (source: string, confidence: number, fromBloodstain = false) => ({ source, confidence, fromBloodstain, at: 9 });

  it("adds a new source with its confidence and touches the entry", () => {
    assert.deepEqual(confirmLethe(published, by("src-b", 0.7)), {
      sources: ["src-a", "src-b"],
      confirmationConfidences: [0.4, 0.7],
      bloodstainConfirmed: false,
      updatedAt: 9,
    });
  });
  it("counts a known source once, keeping its first confidence", () => {
    assert.deepEqual(confirmLethe(published, by("src-a", 0.9)), {
      sources: ["src-a"],
      confirmationConfidences: [0.4],
      bloodstainConfirmed: false,
      updatedAt: 9,
    });
  });
  it("is confirmed by a bloodstain for good, known source or not", () => {
    assert.equal(confirmLethe(published, by("src-a", 0.9, true)).bloodstainConfirmed, true);
    const confirmed = { ...published, bloodstainConfirmed: true };
    assert.equal(confirmLethe(confirmed, by("src-c", 0.5, false)).bloodstainConfirmed, true);
  });
});

describe("mortal score", () => {
  it("follows the formula with the private and lethe weights", () => {
    const f = {
      semantic: 0.8,
      temporal: temporal(0, 24 * 3_600_000),
      quality: quality(0.7, 2, 1),
      provenance: provenance("clade", { ownGolem: false, established: false }),
      bloodstain: 0,
      layer_weight: layerWeight("clade", false),
    };
    assert.equal(f.quality, 0.7 + 0.1 - 0.1);
    assert.equal(f.provenance, 0.9);
    const expected = 0.8 * (0.4 * 0.8 + 0.25 * Math.exp(-24 / 168) + 0.15 * f.quality + 0.15 * 0.9);
    assert.ok(Math.abs(mortalScore("clade", f) - expected) < 1e-12);
    const lethe = { ...f, provenance: 0.5, bloodstain: 1, layer_weight: layerWeight("lethe", true) };
    assert.ok(Math.abs(lethe.layer_weight - 0.6) < 1e-12);
    const expectedLethe = 0.6 * (0.35 * 0.8 + 0.2 * f.temporal + 0.25 * f.quality + 0.1 * 0.5 + 0.1);
    assert.ok(Math.abs(mortalScore("lethe", lethe) - expectedLethe) < 1e-12);
  });

  it("collapses identical content and near-identical vectors to the best", () => {
    const v = (x: number) => Float32Array.from([x, Math.sqrt(1 - x * x)]);
    const hits = [
      { id: "a", score: 0.5, contentHash: "h1", embedding: v(1) },
      { id: "b", score: 0.9, contentHash: "h1", embedding: null },
      { id: "c", score: 0.7, contentHash: "h2", embedding: v(0.99) },
      { id: "d", score: 0.6, contentHash: "h3", embedding: v(0) },
    ];
    assert.deepEqual(
      collapseDuplicates(hits, 10).map((h) => h.id),
      ["b", "c", "d"],
    );
  });
});
