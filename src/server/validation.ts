import type { FastifyInstance, FastifySchemaCompiler } from "fastify";
import { StyxError } from "../core/platform/errors.js";
import { jsonProblem, makeAjv } from "../protocol/json-rules.js";
import { restoreNumberArrays, spliceNumberArrays } from "./number-arrays.js";

/*
 * Request validation with the JSON rules of protocol/json-rules.ts: strict bodies, coerced
 * query strings, params and headers (see makeAjv), and the nesting bound.
 */

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
