import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computePulse } from "../../../src/core/coordination/engagement.js";
import { pulseJson } from "../../../src/core/coordination/pulse-service.js";
import { aggregateFleet, type GolemPresence } from "../../../src/core/fabric/presence.js";
import { jsonRecord, sortedByKey } from "../../../src/core/platform/json-record.js";
import { presentAggregate } from "../../../src/server/presenters/fabric.js";

/** Client strings named like members of Object.prototype. */
const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "__defineGetter__", "valueOf"];

const presence = (i: number, now: number, phase: string, regime: string): GolemPresence => ({
  golemId: `g${i}`,
  userId: "u",
  phase,
  vitality: null,
  pad: null,
  emotion: null,
  regime,
  tick: null,
  domains: [],
  dreaming: false,
  nav: null,
  lastSeen: now,
  archetype: null,
  generation: null,
  bornAt: null,
});

describe("jsonRecord", () => {
  it("makes every key an own property of an object without a prototype, serialised as any other", () => {
    const r = jsonRecord(NAMES.map((n, i) => [n, i] as const));
    assert.equal(Object.getPrototypeOf(r), null);
    assert.deepEqual(Object.keys(r), NAMES);
    assert.deepEqual(
      Object.entries(JSON.parse(JSON.stringify(r))),
      NAMES.map((n, i) => [n, i]),
    );
    assert.equal(({} as Record<string, unknown>).constructor, Object, "Object.prototype is untouched");
  });

  it("orders a Map's entries by key", () => {
    assert.deepEqual(
      sortedByKey(
        new Map([
          ["b", 1],
          ["a", 2],
          ["__proto__", 3],
        ]),
      ),
      [
        ["__proto__", 3],
        ["a", 2],
        ["b", 1],
      ],
    );
  });
});

describe("aggregateFleet with phases and regimes named like prototype members", () => {
  it("counts each name once, and the answer holds each as a key with an integer", () => {
    const now = 1_000_000;
    const fleet = NAMES.map((n, i) => presence(i, now, n, n));
    const a = aggregateFleet(fleet, now);
    assert.deepEqual(a.byPhase, new Map(NAMES.map((n) => [n, 1])));
    assert.deepEqual(a.byRegime, new Map(NAMES.map((n) => [n, 1])));
    const wire = JSON.parse(JSON.stringify(presentAggregate("u", a)));
    assert.deepEqual(new Map(Object.entries(wire.by_phase)), new Map(NAMES.map((n) => [n, 1])));
    assert.deepEqual(new Map(Object.entries(wire.by_regime)), new Map(NAMES.map((n) => [n, 1])));
  });
});

describe("the pulse with regimes named like prototype members", () => {
  it("counts them and answers them as keys of its JSON", () => {
    const now = 1_000_000;
    const pulse = computePulse({
      now,
      presence: NAMES.map((n, i) => presence(i, now, "p", n)),
      deaths: { total: 0, since: 0 },
      pheromones: [],
    });
    const wire = JSON.parse(JSON.stringify(pulseJson(pulse)));
    assert.deepEqual(
      Object.entries(wire.regimes),
      [...NAMES].sort().map((n) => [n, 1]),
    );
  });
});
