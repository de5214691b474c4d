import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Type } from "typebox";
import { SenseAnswer } from "../../../src/protocol/coordination.js";
import { serializationSchema, serializerCompiler } from "../../../src/server/serializer-compiler.js";

const serializerFor = (schema: object) =>
  serializerCompiler()({ schema, method: "GET", url: "/x", httpStatus: "200" } as Parameters<ReturnType<typeof serializerCompiler>>[0]);

const pheromone = (i: number, layer: string) => ({
  id: `ph_${i}`,
  layer,
  class: `c"${i}\u2028`,
  regime: "bull",
  intensity: 0.1 + i / 7,
  confirmations: i,
  half_life_seconds: 7200 * (1 + i / 2),
  deposited_at: "2026-12-07T10:00:00.000Z",
  metadata: { note: `n${i}`, nested: { a: [1, "b", null] } },
});

describe("serializationSchema", () => {
  it("writes a union of string literals as a string, everywhere in the schema, and leaves the rest as it was", () => {
    const Layer = Type.Union([Type.Literal("threat"), Type.Literal("wisdom")], { description: "layer" });
    const Mixed = Type.Union([Type.Literal("a"), Type.Number()]);
    const schema = Type.Object({ a: Layer, list: Type.Array(Type.Object({ l: Layer, m: Mixed })), map: Type.Record(Type.String(), Layer) });
    const out = serializationSchema(schema) as Record<string, any>;
    assert.deepEqual(out.properties.a, { type: "string", description: "layer" });
    assert.equal(out.properties.list.items.properties.l.type, "string");
    assert.equal(out.properties.list.items.properties.l.anyOf, undefined);
    assert.equal(out.properties.list.items.properties.m, Mixed, "a union with a non-literal is kept");
    assert.equal(Object.values(out.properties.map.patternProperties as object)[0].type, "string");
    assert.ok(Array.isArray((schema.properties.a as { anyOf?: unknown }).anyOf), "the route's own schema is not changed");
    const plain = Type.Object({ n: Type.Number() });
    assert.equal(serializationSchema(plain), plain, "a schema without such a union is returned as is");
  });

  it("serializes the sense answer to exactly JSON.stringify's text", () => {
    const doc = {
      domains: {
        d1: {
          threat_level: 0.5,
          opportunity_level: 0,
          wisdom_level: 1e-7,
          live: 3,
          pheromones: [pheromone(1, "threat"), pheromone(2, "opportunity"), pheromone(3, "wisdom")],
        },
        constructor: { threat_level: 0, opportunity_level: 0, wisdom_level: 0, live: 0, pheromones: [] },
      },
    };
    assert.equal(serializerFor(SenseAnswer)(doc), JSON.stringify(doc));
  });
});
