import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";
import type { FastifySerializerCompiler } from "fastify";
import { firstUse } from "./first-use.js";

type Serialize = (doc: unknown) => string;
type Schema = Record<string, unknown>;

/** Keywords whose value is a schema, a list of schemas, or a map of names to schemas. */
const ONE = ["additionalProperties", "items", "not", "if", "then", "else", "contains"];
const LIST = ["anyOf", "oneOf", "allOf", "prefixItems"];
const MAP = ["properties", "patternProperties", "$defs", "definitions"];

const isStringLiteral = (s: unknown) => typeof s === "object" && s !== null && typeof (s as Schema).const === "string";

/**
 * The schema fast-json-stringify is given for a response: the route's own, with each union of
 * string literals (TypeBox's `Type.Union([Type.Literal("a"), …])`, an `anyOf` of `const`s) written
 * as a plain string. The output is the same text; but fast-json-stringify picks an `anyOf` branch
 * by running Ajv on each in turn, and a failed `const` check allocates its error objects: a
 * 100-pheromone sense answer spent ~40 KiB and a sixth of its serializing time choosing `layer`.
 * Serializing never validates (the handler's value is trusted), so nothing is lost.
 */
export function serializationSchema(schema: unknown): unknown {
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) return schema;
  const s = schema as Schema;
  if (Array.isArray(s.anyOf) && s.anyOf.length > 0 && s.anyOf.every(isStringLiteral)) {
    const { anyOf: _, ...rest } = s;
    return { ...rest, type: "string" };
  }
  let out: Schema | undefined;
  const set = (key: string, value: unknown) => {
    if (value === s[key]) return;
    out ??= { ...s };
    out[key] = value;
  };
  for (const key of ONE) if (key in s) set(key, serializationSchema(s[key]));
  for (const key of LIST) {
    const list = s[key];
    if (!Array.isArray(list)) continue;
    const mapped = list.map(serializationSchema);
    if (mapped.some((m, i) => m !== list[i])) set(key, mapped);
  }
  for (const key of MAP) {
    const map = s[key];
    if (typeof map !== "object" || map === null) continue;
    const entries = Object.entries(map).map(([k, v]) => [k, serializationSchema(v)] as const);
    if (entries.some(([k, v]) => v !== (map as Schema)[k])) set(key, Object.fromEntries(entries));
  }
  return out ?? s;
}

/** Serializers built so far, by response schema object (module constants, shared by every app built in this process). */
const built = new WeakMap<object, Serialize>();

/**
 * Fastify's own response serializer compiler (fast-json-stringify, the default) with each schema
 * built at its first use, once per process — not every route's responses at every start, which
 * was a third of a server's start-up CPU. Styx registers no shared schemas (`addSchema`), so a
 * serializer depends on its schema alone. `compileNow` builds everything asked for so far.
 */
export function serializerCompiler(): FastifySerializerCompiler<unknown> & { compileNow(): void } {
  const build = SerializerSelector()(undefined, {});
  const first = firstUse();
  const compiler: FastifySerializerCompiler<unknown> = (route) => {
    const schema = route.schema as object;
    const { now, later } = first.get(
      built,
      schema,
      () => build({ ...route, schema: serializationSchema(schema), httpStatus: route.httpStatus ?? "" }) as Serialize,
    );
    return now ?? ((doc) => later()(doc));
  };
  return Object.assign(compiler, { compileNow: first.compileNow });
}
