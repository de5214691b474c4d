import type { ValidateFunction } from "ajv";
import fc from "fast-check";
import { makeAjv } from "../protocol/json-rules.js";

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
