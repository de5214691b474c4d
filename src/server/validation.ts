import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifyInstance, FastifySchemaCompiler } from "fastify";
import { StyxError } from "../core/platform/errors.js";

/**
 * Request validation. Bodies are checked strictly: no type coercion, no defaults injected,
 * unknown fields rejected (schemas say `additionalProperties: false`; Ajv never strips them).
 * Query strings, params and headers arrive as text, so there scalars are coerced. Body numbers
 * must be finite (`1e999` parses to Infinity, which Ajv's number and integer types otherwise
 * accept). Text cannot use the same option: with coercion, Ajv then lets a coerced Infinity skip
 * every later keyword (`limit=1e999` passed `maximum: 1000`), so instead every numeric query
 * field has a `maximum`, which Infinity fails. Socket frames use the body settings without
 * formats (the gateway), and the proof suite judges its cases with the same instances.
 */
export function makeAjv(coerce: boolean, opts: { formats?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    removeAdditional: false,
    useDefaults: false,
    coerceTypes: coerce ? "array" : false,
    strict: false,
    strictNumbers: !coerce,
  });
  if (opts.formats ?? true) (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

/** A Fastify validator compiler with a strict body validator and a coercing one for the rest. */
export function validatorCompiler(): FastifySchemaCompiler<unknown> {
  const bodies = makeAjv(false);
  const text = makeAjv(true);
  return ({ schema, httpPart }) => {
    const ajv = httpPart === "body" ? bodies : text;
    return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
  };
}

/**
 * Deepest nesting of objects and arrays a JSON body or socket frame may have. Free-form fields
 * (metadata, event payloads, clade deltas) are serialised again by the server, and a value nested
 * tens of thousands deep overflows the stack there; no message of the protocol needs more.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` nests objects and arrays deeper than `max` (walked without recursion). */
export function nestedDeeperThan(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (v === null || typeof v !== "object") continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === "object") stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The error for a value nested too deep. */
export function tooDeep(what: string): StyxError {
  return new StyxError("STYX_VALIDATION", `The ${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`, {
    details: [{ path: "/", message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  });
}

/** Fastify's JSON body parser (prototype poisoning refused), refusing bodies nested deeper than MAX_JSON_DEPTH. */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const run = () =>
      parse(req, body as string, (err, value) => {
        if (err) return done(err, undefined);
        if (nestedDeeperThan(value)) return done(tooDeep("body"), undefined);
        done(null, value);
      });
    if ((body as string).length < LARGE_BODY) return run();
    // A large body is parsed in a turn of its own, and handled in another (yieldAfterLargeBody):
    // reading it, parsing and validating it, and storing it never hold the event loop in one piece.
    large.add(req);
    setImmediate(run);
  });
}

/** Bodies of at least this many characters are parsed, and handled, each in a turn of the event loop of its own. */
export const LARGE_BODY = 16 * 1024;
const large = new WeakSet<object>();

/**
 * A preHandler hook: after a large body was parsed and validated, the handler starts in a later
 * turn of the event loop, so the requests that arrived meanwhile are read first (a 64 KiB write
 * is ~1 ms of parsing and validation and ~1 ms of storage; docs/benchmarks.md).
 */
export function yieldAfterLargeBody(req: object, _reply: unknown, done: () => void): void {
  if (large.has(req)) setImmediate(done);
  else done();
}
