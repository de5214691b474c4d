import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Value } from "typebox/value";
import { federatesDomain, formatFlows, parseFederatedDomains, parseFlows, sendsUp, takesDown } from "../../../src/core/federation/flows.js";
import type { FederationRecord } from "../../../src/core/federation/records.js";
import { FederationRecordWire } from "../../../src/protocol/federation.js";
import { recordFromWire, recordToWire } from "../../../src/protocol/federation-codec.js";

describe("parseFlows", () => {
  it("reads each flow both ways unless suffixed", () => {
    const f = parseFlows("pheromone,lethe:down,causal:up,marketplace");
    assert.deepEqual(f.get("pheromone"), { up: true, down: true });
    assert.deepEqual(f.get("lethe"), { up: false, down: true });
    assert.deepEqual(f.get("causal"), { up: true, down: false });
    assert.deepEqual(f.get("marketplace"), { up: false, down: true });
    assert.deepEqual(formatFlows(f), ["causal:up", "lethe:down", "marketplace:down", "pheromone"]);
  });

  it("joins a flow named with both suffixes", () => {
    assert.deepEqual(parseFlows("lethe:up,lethe:down").get("lethe"), { up: true, down: true });
  });

  it("refuses unknown flows, directions and an upward marketplace", () => {
    assert.throws(() => parseFlows("vault"), /not a flow/);
    assert.throws(() => parseFlows("lethe:sideways"), /direction/);
    assert.throws(() => parseFlows("marketplace:up"), /down only/);
    assert.throws(() => parseFlows("lethe:up:down"), /not a flow/);
    assert.throws(() => parseFlows("__proto__"), /not a flow/);
  });

  it("is empty for an empty setting", () => {
    assert.equal(parseFlows("").size, 0);
  });
});

describe("federated domains", () => {
  it("matches a listed domain, or every domain for *", () => {
    const some = parseFederatedDomains("defi, nft");
    assert.equal(federatesDomain(some, "defi"), true);
    assert.equal(federatesDomain(some, "gaming"), false);
    assert.equal(federatesDomain(parseFederatedDomains("*"), "gaming"), true);
    assert.equal(federatesDomain(parseFederatedDomains(""), "defi"), false);
  });

  it("refuses a domain no stream can have", () => {
    assert.throws(() => parseFederatedDomains("DeFi"), /not a domain/);
    assert.throws(() => parseFederatedDomains("defi,*"), /not a domain/);
  });

  it("sends a kind up or takes it down only in a federated domain and direction", () => {
    const flows = parseFlows("pheromone,lethe:down");
    const domains = parseFederatedDomains("defi");
    assert.equal(sendsUp(flows, domains, "pheromone", "defi"), true);
    assert.equal(sendsUp(flows, domains, "pheromone", "nft"), false);
    assert.equal(sendsUp(flows, domains, "lethe", "defi"), false);
    assert.equal(takesDown(flows, domains, "lethe", "defi"), true);
    assert.equal(takesDown(flows, domains, "causal", "defi"), false);
  });
});

describe("federation record codec", () => {
  const head = { origin: "sx_0123456789abcdef", id: "phe_1", domain: "defi", at: Date.UTC(2026, 11, 7, 8, 0) };
  const records: FederationRecord[] = [
    {
      ...head,
      kind: "pheromone",
      pheromone: {
        layer: "threat",
        class: "rug",
        intensity: 0.5,
        regime: "bull",
        source: "a".repeat(24),
        hv: new Uint8Array(1280).fill(7),
      },
    },
    {
      ...head,
      id: "lc_1",
      kind: "lethe",
      lethe: {
        category: "insight",
        content: "funding flips before squeezes",
        regime: null,
        confidence: 0.4,
        isBloodstain: false,
        source: "b".repeat(24),
        embedding: Float32Array.from([0.5, 0.25]),
      },
    },
    {
      ...head,
      id: "cau_1",
      kind: "causal",
      causal: {
        fromVariable: "funding",
        toVariable: "squeeze",
        direction: "positive",
        strength: "strong",
        lagTicks: 3,
        evidenceCount: 9,
        confidence: 0.8,
        regime: "bull",
        source: "c".repeat(24),
      },
    },
  ];

  for (const r of records) {
    it(`round-trips a ${r.kind} record through its wire form, which the wire schema accepts`, () => {
      const wire = recordToWire(r);
      assert.equal(Value.Check(FederationRecordWire, wire), true, JSON.stringify([...Value.Errors(FederationRecordWire, wire)][0]));
      assert.deepEqual(recordFromWire(JSON.parse(JSON.stringify(wire))), r);
    });
  }

  it("refuses a record with an unknown field or a source that is not a keyed hash", () => {
    const wire = recordToWire(records[2] as FederationRecord) as Record<string, unknown>;
    assert.equal(Value.Check(FederationRecordWire, { ...wire, user_id: "u1" }), false);
    const causal = wire.causal as Record<string, unknown>;
    assert.equal(Value.Check(FederationRecordWire, { ...wire, causal: { ...causal, source: "golem-7" } }), false);
  });
});
