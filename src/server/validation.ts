import type { FastifyInstance, FastifySchemaCompiler } from "fastify";
import { StyxError } from "../core/platform/errors.js";
import { jsonProblem, makeAjv } from "../protocol/json-rules.js";
import { firstUse } from "./first-use.js";
import { restoreNumberArrays, spliceNumberArrays } from "./number-arrays.js";

/*
 * Request validation with the JSON rules of protocol/json-rules.ts: strict bodies, coerced
 * query strings, params and headers (see makeAjv), and the nesting bound.
 */

/** A compiled validator as Fastify calls it: answers true, or false with `errors` set. */
type Validate = ReturnType<FastifySchemaCompiler<unknown>>;

/**
 * Validators compiled so far, by schema object (route schemas are module constants, so every app
 * built in this process shares them): strict body validators and coercing ones apart.
 */
const compiled = { body: new WeakMap<object, Validate>(), text: new WeakMap<object, Validate>() };

/**
 * A Fastify validator compiler with a strict body validator and a coercing one for the rest.
 * A schema is compiled at its first use, once per process, not for every route at every start:
 * compiling every route's schemas was half of a server's start-up CPU (~0.3–0.5 s). The first
 * request of a route pays its compile (a few ms); `compileNow` of the answer compiles everything
 * asked for so far (tests check every route's schemas compile).
 */
export function validatorCompiler(): FastifySchemaCompiler<unknown> & { compileNow(): void } {
  const ajv = { body: makeAjv(false), text: makeAjv(true) };
  const first = firstUse();
  const compiler = ({ schema, httpPart }: { schema: unknown; httpPart?: string }) => {
    const part = httpPart === "body" ? "body" : "text";
    const { now, later } = first.get(compiled[part], schema as object, () => ajv[part].compile(schema as object) as Validate);
    if (now) return now;
    const lazy = ((data: unknown) => {
      const f = later();
      const ok = f(data);
      lazy.errors = f.errors;
      return ok;
    }) as Validate;
    return lazy;
  };
  return Object.assign(compiler, { compileNow: first.compileNow });
}

/**
 * Fastify's JSON body parser (prototype poisoning refused), refusing bodies nested deeper than
 * MAX_JSON_DEPTH or holding U+0000. Embedding arrays are read from the body's bytes by a number
 * scanner and the rest parsed as JSON (number-arrays.ts: the same value, without JSON.parse's
 * per-number work); a body that is not of that shape is parsed whole, as it always was.
 */
export function registerJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, raw, done) => {
    const bytes = raw as Buffer;
    const whole = () => parseText(bytes.toString("utf8"));
    const parseText = (body: string) =>
      parse(req, body, (err, value) => {
        if (err) return done(prototypeKey(err, body), undefined);
        const problem = jsonProblem(value, "body");
        if (problem) return done(problem, undefined);
        done(null, value);
      });
    const run = () => {
      const spliced = spliceNumberArrays(bytes);
      if (!spliced) return whole();
      parse(req, spliced.text, (err, value) => {
        // A refusal, or arrays not all found again (never expected): the whole body, for its own answer.
        if (err || !restoreNumberArrays(value, spliced.arrays)) return whole();
        const problem = jsonProblem(value, "body");
        if (problem) return done(problem, undefined);
        done(null, value);
      });
    };
    if (bytes.length < LARGE_BODY) return run();
    // A large body is parsed in a turn of its own, and handled in another (yieldAfterLargeBody):
    // reading it, parsing and validating it, and storing it never hold the event loop in one piece.
    large.add(req);
    setImmediate(run);
  });
}

/**
 * Fastify's parser refuses `__proto__` and `constructor.prototype` keys with the same words as a
 * syntax error ("Body is not valid JSON"); a body that is valid JSON was refused for such a key, and
 * is told so. Only on the refusal path: a second parse of a body already refused.
 */
function prototypeKey(err: Error, body: string): Error {
  if ((err as { code?: string }).code !== "FST_ERR_CTP_INVALID_JSON_BODY") return err;
  try {
    JSON.parse(body);
  } catch {
    return err;
  }
  return new StyxError("STYX_BAD_JSON", "The body holds a '__proto__' or 'constructor.prototype' key, which no field accepts.");
}

/** Bodies of at least this many bytes are parsed, and handled, each in a turn of the event loop of its own. */
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

/**
 * A preValidation hook: query strings and path parameters holding U+0000 (`%00`) are refused
 * like bodies that do (see jsonProblem), before any store sees them.
 */
export function refuseNulInUrl(req: { query: unknown; params: unknown }, _reply: unknown, done: (err?: Error) => void): void {
  done(jsonProblem(req.params, "path") ?? jsonProblem(req.query, "query string"));
}
