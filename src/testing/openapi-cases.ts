import type { ValidateFunction } from "ajv";
import fc from "fast-check";
import { makeAjv } from "../server/validation.js";

/**
 * The server's OpenAPI document as the proof suite (test/chaos) reads it: every operation with
 * its path, query and body schemas, a generator of minimal valid values for a schema, and
 * validators that judge a value the way the server does. The tenancy matrix and the fuzz build
 * their requests from it, so a route added to the document joins both without a test change.
 */

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema is open-ended
export type JsonSchema = Record<string, any>;

/** One path or query parameter of an operation. */
export interface Param {
  readonly name: string;
  readonly in: "path" | "query";
  readonly required: boolean;
  readonly schema: JsonSchema;
}

/** One operation (method × path) of the document. */
export interface Operation {
  /** `GET`, `POST`, … */
  readonly method: string;
  /** OpenAPI form: `/v1/styx/golems/{golem_id}`. */
  readonly path: string;
  /** `GET /v1/styx/golems/{golem_id}`. */
  readonly key: string;
  readonly pathParams: readonly Param[];
  readonly query: readonly Param[];
  /** The request body, when the operation takes one (one content type). */
  readonly body?: { readonly contentType: string; readonly schema: JsonSchema; readonly required: boolean };
  /** Whether the document asks for a bearer credential. */
  readonly secured: boolean;
  readonly tags: readonly string[];
}

/** A document construct the proofs cannot build a request for: the route would escape them. */
export class Unexercisable extends Error {}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Every operation of an OpenAPI 3 document, in document order. */
export function operationsOf(doc: JsonSchema): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries<JsonSchema>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<JsonSchema>(item)) {
      if (!(METHODS as readonly string[]).includes(method)) {
        if (method === "parameters" || method === "summary" || method === "description") continue;
        throw new Unexercisable(`${method.toUpperCase()} ${path}: unknown operation kind`);
      }
      const params: Param[] = (op.parameters ?? []).map((p: JsonSchema) => {
        if (p.in !== "path" && p.in !== "query") throw new Unexercisable(`${method} ${path}: parameter ${p.name} in ${p.in}`);
        return { name: p.name, in: p.in, required: p.required === true, schema: p.schema ?? {} };
      });
      const declared = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
      for (const name of declared) {
        if (!params.some((p) => p.in === "path" && p.name === name))
          throw new Unexercisable(`${path}: path parameter ${name} has no schema`);
      }
      let body: Operation["body"];
      if (op.requestBody) {
        const types = Object.entries<JsonSchema>(op.requestBody.content ?? {});
        if (types.length !== 1) throw new Unexercisable(`${method} ${path}: ${types.length} request content types`);
        const [contentType, media] = types[0] as [string, JsonSchema];
        body = { contentType, schema: media.schema ?? {}, required: op.requestBody.required === true };
      }
      const upper = method.toUpperCase();
      out.push({
        method: upper,
        path,
        key: `${upper} ${path}`,
        pathParams: params.filter((p) => p.in === "path"),
        query: params.filter((p) => p.in === "query"),
        ...(body ? { body } : {}),
        secured: Array.isArray(op.security) && op.security.length > 0,
        tags: op.tags ?? [],
      });
    }
  }
  return out;
}

/** The route pattern Fastify registered for an operation (`:golem_id` for `{golem_id}`). */
export function routeUrl(op: Operation): string {
  return op.path.replace(/\{([^}]+)\}/g, ":$1");
}

/** The path with its parameters filled (URL-encoded). */
export function fillPath(op: Operation, values: Readonly<Record<string, string>>): string {
  return op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Unexercisable(`${op.key}: no value for path parameter ${name}`);
    return encodeURIComponent(v);
  });
}

/** The operation's query parameters as one object schema (the server's query schemas reject unknown fields). */
export function querySchema(op: Operation): JsonSchema | undefined {
  if (op.query.length === 0) return undefined;
  return {
    type: "object",
    properties: Object.fromEntries(op.query.map((p) => [p.name, p.schema])),
    required: op.query.filter((p) => p.required).map((p) => p.name),
    additionalProperties: false,
  };
}

/** `?a=1&b=x` from string values (`undefined` left out); "" when empty. */
export function queryString(values: Readonly<Record<string, string | readonly string[] | undefined>>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    for (const item of typeof v === "string" ? [v] : v) q.append(k, item);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** A query value as text (lists are comma-separated, as the server's list patterns expect). */
export function asQueryText(v: unknown): string {
  if (Array.isArray(v)) return v.map(asQueryText).join(",");
  return typeof v === "string" ? v : JSON.stringify(v);
}

/**
 * Supplies a value for an object's field instead of the generic one (ids of a tenant, a probe's
 * words…); `undefined` = generate. Asked about optional fields too: a value makes the field present.
 */
export type Override = (name: string, schema: JsonSchema, pointer: string, required: boolean) => unknown;

/** Options of `sampleValid`. */
export interface SampleOptions {
  readonly override?: Override;
  /** Seed for pattern-matching strings. */
  readonly seed?: number;
}

/**
 * A minimal valid value of `schema`: required fields only (plus the optional ones `override`
 * fills), the first enum member, the lowest allowed number, the shortest allowed array, and a
 * string matching the pattern. Throws `Unexercisable` for a construct it does not know.
 */
export function sampleValid(schema: JsonSchema, opts: SampleOptions = {}, pointer = ""): unknown {
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    const [first] = (schema.anyOf ?? schema.oneOf) as JsonSchema[];
    if (!first) throw new Unexercisable(`${pointer || "/"}: empty anyOf`);
    return sampleValid(first, opts, pointer);
  }
  for (const k of ["allOf", "not", "$ref", "if"]) if (k in schema) throw new Unexercisable(`${pointer || "/"}: '${k}' is not supported`);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "object": {
      const out: Record<string, unknown> = {};
      const required = new Set<string>(schema.required ?? []);
      for (const [k, sub] of Object.entries<JsonSchema>(schema.properties ?? {})) {
        const forced = opts.override?.(k, sub, `${pointer}/${k}`, required.has(k));
        if (forced !== undefined) out[k] = forced;
        else if (required.has(k)) out[k] = sampleValid(sub, opts, `${pointer}/${k}`);
      }
      for (const k of required) if (!(k in out)) throw new Unexercisable(`${pointer}/${k}: required but not described`);
      return out;
    }
    case "array": {
      const n = schema.minItems ?? 0;
      const items = schema.items as JsonSchema | undefined;
      if (n > 0 && !items) throw new Unexercisable(`${pointer}: array without items`);
      return Array.from({ length: n }, (_, i) => sampleValid(items as JsonSchema, opts, `${pointer}/${i}`));
    }
    case "string":
      return sampleString(schema, opts.seed ?? 1, pointer);
    case "integer":
    case "number":
      return sampleNumber(schema, type === "integer");
    case "boolean":
      return false;
    case "null":
      return null;
    case undefined:
      if (schema.format === "binary") return new Uint8Array([1, 2, 3]);
      // An unconstrained schema ({}) takes anything.
      if (Object.keys(schema).every((k) => k === "description" || k === "title")) return {};
      throw new Unexercisable(`${pointer || "/"}: schema without a type`);
    default:
      throw new Unexercisable(`${pointer || "/"}: type ${String(type)}`);
  }
}

const KNOWN_FORMATS: Record<string, string> = { "date-time": "2026-01-01T00:00:00.000Z", date: "2026-01-01" };

function sampleString(schema: JsonSchema, seed: number, pointer: string): string {
  const min = schema.minLength ?? 0;
  const max: number = schema.maxLength ?? Number.POSITIVE_INFINITY;
  if (schema.format !== undefined) {
    const v = KNOWN_FORMATS[schema.format];
    if (v === undefined) throw new Unexercisable(`${pointer}: string format ${schema.format}`);
    return v;
  }
  if (schema.pattern !== undefined) {
    const re = new RegExp(schema.pattern, "u");
    const fits = (x: string) => x.length >= min && x.length <= max && re.test(x);
    const drawn = fc.sample(fc.stringMatching(re), { seed, numRuns: 30 });
    const v = drawn.find(fits);
    if (v !== undefined) return v;
    // Long minimum lengths (a base64 hypervector): one matching character, repeated.
    for (const c of drawn) {
      for (const ch of new Set(c)) {
        const t = ch.repeat(Math.max(min, 1));
        if (fits(t)) return t;
      }
    }
    throw new Unexercisable(`${pointer}: no string of ${min}..${max} chars matches ${schema.pattern}`);
  }
  return "x".repeat(Math.min(Math.max(min, 1), max));
}

function sampleNumber(schema: JsonSchema, integer: boolean): number {
  const step = integer ? 1 : 0.001;
  let lo: number | undefined = schema.minimum;
  if (typeof schema.exclusiveMinimum === "number") lo = schema.exclusiveMinimum + step;
  else if (schema.exclusiveMinimum === true && lo !== undefined) lo += step;
  let hi: number | undefined = schema.maximum;
  if (typeof schema.exclusiveMaximum === "number") hi = schema.exclusiveMaximum - step;
  else if (schema.exclusiveMaximum === true && hi !== undefined) hi -= step;
  let v = lo ?? (hi !== undefined && hi < 0 ? hi : 0);
  if (integer) v = Math.ceil(v);
  if (schema.multipleOf) v = Math.ceil(v / schema.multipleOf) * schema.multipleOf;
  return v;
}

/** Validators that judge values as the server does (src/server/validation.ts and the socket gateway). */
export interface Judges {
  /** Request bodies: no coercion, formats checked. */
  body(schema: JsonSchema): ValidateFunction;
  /** Query strings and path params: text coerced to the schema's scalars. */
  text(schema: JsonSchema): ValidateFunction;
  /** Socket messages: no coercion, no formats. */
  socket(schema: JsonSchema): ValidateFunction;
}

/** The server's own Ajv settings (makeAjv), with compiled validators cached per schema. */
export function judges(): Judges {
  const make = (coerce: boolean, formats: boolean) => {
    const ajv = makeAjv(coerce, { formats });
    const cache = new Map<JsonSchema, ValidateFunction>();
    return (schema: JsonSchema) => {
      let v = cache.get(schema);
      if (!v) {
        v = ajv.compile(schema);
        cache.set(schema, v);
      }
      return v;
    };
  };
  return { body: make(false, true), text: make(true, true), socket: make(false, false) };
}

/** A small seeded PRNG (mulberry32): the proofs draw every random choice from it, so a seed replays a run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One schema-derived mutation of a valid value, as the JSON text to send. */
export interface Mutation {
  readonly label: string;
  readonly text: string;
  /**
   * Set when the text is valid by the schema but a documented rule beyond it refuses it (a
   * free-form object over its size limit, nesting deeper than the server accepts): sent anyway.
   */
  readonly rule?: string;
}

/** Placeholder replaced by raw JSON tokens (`1e999`, deep nesting…) after serialisation. */
const RAW = "@@raw@@";
/** Levels of nesting of the deep-nesting mutations (the server refuses far less). */
export const DEEP = 20_000;
/** Items of the huge-array mutations. */
const HUGE_ITEMS = 20_000;

const nested = (levels: number, open: string, close: string, core = "1") => open.repeat(levels) + core + close.repeat(levels);

/** Strings that break patterns, encodings and parsers. */
export const NASTY_STRINGS: readonly string[] = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "💀",
  "\u202eevil",
  "\ud800",
  "\r\n",
  "../../etc/passwd",
  "a:b",
  "%00",
  "<script>x</script>",
  "NaN",
  "Infinity",
  "-1",
  "1e999",
  "null",
  "true",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, on purpose
  "${x}",
  "Ω".repeat(300),
];

type Path = readonly (string | number)[];

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path.at(-1) as string | number] = value;
  return copy;
}

function deleteAt(root: unknown, path: Path): unknown {
  const copy = structuredClone(root) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  delete at[path.at(-1) as string | number];
  return copy;
}

function getAt(root: unknown, path: Path): unknown {
  let at = root as Record<string | number, unknown> | undefined;
  for (const k of path) at = at?.[k] as Record<string | number, unknown> | undefined;
  return at;
}

function typeOf(schema: JsonSchema): string | undefined {
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((b: JsonSchema) => "const" in b || Array.isArray(b.enum))) return "enum";
  if (Array.isArray(schema.enum) || "const" in schema) return "enum";
  if (Array.isArray(schema.anyOf) && schema.anyOf[0]) return typeOf(schema.anyOf[0]);
  return Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
}

/** A free-form object (`{}` with any fields) and the byte limit its description states ("≤ 4 KiB"). */
function freeForm(schema: JsonSchema): { limit: number | undefined } | undefined {
  if (typeOf(schema) !== "object" || schema.additionalProperties !== true || Object.keys(schema.properties ?? {}).length > 0)
    return undefined;
  const m = /≤\s*(\d+)\s*KiB/.exec(String(schema.description ?? ""));
  return { limit: m ? Number(m[1]) * 1024 : undefined };
}

/**
 * Schema-aware mutations of `valid` (a valid value of `schema`): missing required fields, unknown
 * fields, wrong types, strings and arrays past their bounds or huge, pattern-breaking strings,
 * numbers past their bounds, non-finite and unsafe numbers, deep nesting, and (`rule`) free-form
 * objects over their stated size. Walks nested objects and the first item of arrays, optional
 * fields included. Whether each result is really invalid is for the caller's judge to say.
 */
export function mutations(schema: JsonSchema, valid: unknown): Mutation[] {
  const out: Mutation[] = [];
  const text = (v: unknown) => JSON.stringify(v);
  const put = (label: string, path: Path, v: unknown, rule?: string) =>
    out.push({ label: `${label} at /${path.join("/")}`, text: text(setAt(valid, path, v)), ...(rule ? { rule } : {}) });
  const raw = (label: string, path: Path, token: string, rule?: string) =>
    out.push({
      label: `${label} at /${path.join("/")}`,
      text: text(setAt(valid, path, RAW)).replace(JSON.stringify(RAW), token),
      ...(rule ? { rule } : {}),
    });

  const walk = (s: JsonSchema, path: Path, depth: number): void => {
    const here = getAt(valid, path);
    const type = typeOf(s);
    const wrong: unknown[] =
      {
        string: [1, 1.5, true, null, [], {}, ["x"]],
        enum: [1, true, null, [], {}],
        integer: ["1", 1.5, true, null, [], {}],
        number: ["0.5", true, null, [], {}],
        boolean: ["true", 1, 0, null, []],
        array: [{}, "x", 1, null, true],
        object: [[], "x", 1, null, true],
      }[type ?? ""] ?? [];
    for (const w of wrong) put(`wrong type ${JSON.stringify(w)}`, path, w);
    if (depth <= 2 && path.length > 0) raw("deep nesting", path, nested(DEEP, "[", "]"));
    switch (type) {
      case "enum": {
        const v = typeof here === "string" ? here : "x";
        for (const x of [v.toUpperCase(), `${v} `, `${v}\u0000`, "NOPE", ""]) put(`not a member ${JSON.stringify(x)}`, path, x);
        break;
      }
      case "string": {
        const max: number | undefined = s.maxLength;
        if (max !== undefined) put(`longer than ${max}`, path, "a".repeat(max + 1));
        if (max === undefined || max < 200_000) put("huge string", path, "a".repeat(300_000));
        for (const x of NASTY_STRINGS) put(`string ${JSON.stringify(x).slice(0, 24)}`, path, x);
        if (s.format === "date-time")
          for (const x of ["2026-13-45T99:99:99Z", "yesterday", "2026-01-01", "0"]) put(`bad time ${x}`, path, x);
        break;
      }
      case "integer":
      case "number": {
        const lo: number | undefined = s.minimum;
        const hi: number | undefined = s.maximum;
        const cand = [1e300, -1e300, 2 ** 53 + 2, -(2 ** 53) - 2];
        if (lo !== undefined) cand.push(lo - 1, lo - 1e-6);
        if (hi !== undefined) cand.push(hi + 1, hi + 1e-6);
        if (type === "integer") cand.push(1.5, (lo ?? 0) + 0.5);
        for (const x of cand) put(`number ${x}`, path, x);
        for (const token of ["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "0x10", "01", "1."])
          raw(`number token ${token}`, path, token);
        break;
      }
      case "array": {
        const items = (s.items ?? {}) as JsonSchema;
        const arr = Array.isArray(here) ? here : [];
        const one = arr[0] ?? safeSample(items);
        if ((s.minItems ?? 0) > 0) put("empty array", path, []);
        if (s.maxItems !== undefined)
          put(
            `more than ${s.maxItems} items`,
            path,
            Array.from({ length: s.maxItems + 1 }, () => one),
          );
        if (s.maxItems === undefined || s.maxItems < HUGE_ITEMS)
          put(
            "huge array",
            path,
            Array.from({ length: HUGE_ITEMS }, () => one),
          );
        if (s.uniqueItems && one !== undefined) put("duplicate items", path, [one, one]);
        if (depth <= 3 && one !== undefined) {
          // Mutate the first item, with the array made to hold one valid item first.
          const withOne = setAt(valid, path, [one, ...arr.slice(1)]);
          for (const m of mutations(items, one)) {
            out.push({
              label: `item: ${m.label}`,
              text: text(setAt(withOne, [...path, 0], RAW)).replace(JSON.stringify(RAW), m.text),
              ...(m.rule ? { rule: m.rule } : {}),
            });
          }
        }
        break;
      }
      case "object": {
        const obj = (here && typeof here === "object" ? here : {}) as Record<string, unknown>;
        for (const k of s.required ?? [])
          out.push({ label: `missing required /${[...path, k].join("/")}`, text: text(deleteAt(valid, [...path, k])) });
        if (s.additionalProperties === false) {
          put("unknown field", [...path, "zz_unknown"], 1);
          put("unknown field with a long name", [...path, "z".repeat(1000)], 1);
        }
        const ff = freeForm(s);
        if (ff) {
          raw(
            "deep nesting inside a free-form object",
            [...path, "deep"],
            nested(DEEP, '{"a":', "}"),
            "nested deeper than the server accepts",
          );
          raw("deep arrays inside a free-form object", [...path, "deep"], nested(DEEP, "[", "]"), "nested deeper than the server accepts");
          if (ff.limit !== undefined)
            put(`over ${ff.limit} bytes`, [...path, "big"], "a".repeat(ff.limit + 1), `a free-form object is at most ${ff.limit} bytes`);
        }
        // A record (`patternProperties`): each present key by the schema its pattern gives, and a key no pattern allows.
        for (const [pattern, sub] of Object.entries<JsonSchema>(s.patternProperties ?? {})) {
          const re = new RegExp(pattern, "u");
          for (const k of Object.keys(obj).filter((x) => re.test(x))) if (depth <= 3) walk(sub, [...path, k], depth + 1);
          put("a key no pattern allows", [...path, "no such key!"], obj[Object.keys(obj)[0] ?? ""] ?? {});
        }
        if (s.maxProperties !== undefined) {
          const one = Object.values(obj)[0] ?? {};
          put(
            `more than ${s.maxProperties} properties`,
            path,
            Object.fromEntries(Array.from({ length: s.maxProperties + 1 }, (_, i) => [`${Object.keys(obj)[0] ?? "k"}${i}`, one])),
          );
        }
        if (depth <= 3) {
          for (const [k, sub] of Object.entries<JsonSchema>(s.properties ?? {})) {
            if (k in obj) walk(sub, [...path, k], depth + 1);
            else {
              const v = safeSample(sub);
              if (v === undefined) continue;
              // An optional field: mutate it from a valid value of its own.
              for (const m of mutations(sub, v))
                out.push({
                  label: `optional /${[...path, k].join("/")}: ${m.label}`,
                  text: text(setAt(valid, [...path, k], RAW)).replace(JSON.stringify(RAW), m.text),
                  ...(m.rule ? { rule: m.rule } : {}),
                });
            }
          }
        }
        break;
      }
    }
  };
  if (typeOf(schema) === "object") {
    for (const w of ["[]", "1", "null", '"x"', "true", `[${text(valid)}]`]) out.push({ label: `body ${w.slice(0, 12)}`, text: w });
  }
  walk(schema, [], 0);
  return out;
}

function safeSample(schema: JsonSchema): unknown {
  try {
    return sampleValid(schema);
  } catch {
    return undefined;
  }
}
