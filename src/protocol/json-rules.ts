import { _, Ajv, type KeywordCxt, str } from "ajv";
import ajvUcs2length from "ajv/dist/runtime/ucs2length.js";
import addFormats from "ajv-formats";
import { StyxError } from "../core/platform/errors.js";

/**
 * The JSON rules every body and socket frame obeys, whichever transport carried it: the Ajv
 * settings, the nesting bound, and how a failed check is worded. The HTTP validator compiler
 * (server/validation.ts), the frame decoder (frames.ts) and the proof suite use the same ones.
 */

/**
 * An Ajv instance with the server's settings. Bodies are checked strictly: no type coercion,
 * no defaults injected, unknown fields rejected (schemas say `additionalProperties: false`;
 * Ajv never strips them). Query strings, params and headers arrive as text, so there scalars
 * are coerced (`coerce`). Body numbers must be finite (`1e999` parses to Infinity, which Ajv's
 * number and integer types otherwise accept). Text cannot use the same option: with coercion,
 * Ajv then lets a coerced Infinity skip every later keyword (`limit=1e999` passed
 * `maximum: 1000`), so instead every numeric query field has a `maximum`, which Infinity fails.
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
  countLengthsWhenInDoubt(ajv);
  return ajv;
}

/** A string's length as JSON Schema counts it (code points; a lone surrogate is one): Ajv's own `ucs2length`. */
const codePoints = (ajvUcs2length as unknown as { default: (s: string) => number }).default;

/**
 * `maxLength` and `minLength` as Ajv checks them (code points, the same errors), counting code
 * points only when the string's UTF-16 length leaves the answer open: a string has at most as
 * many code points as code units, and at least half as many. Ajv counted every string it
 * checked, character by character: ~0.5 ms of the event loop for each 64 KiB entry's content
 * (bench/scrub.ts's profile), to learn that 65,528 characters are not more than 65,536.
 */
function countLengthsWhenInDoubt(ajv: Ajv): void {
  ajv.removeKeyword("maxLength");
  ajv.removeKeyword("minLength");
  ajv.addKeyword({
    keyword: ["maxLength", "minLength"],
    type: "string",
    schemaType: "number",
    error: {
      message: ({ keyword, schemaCode }) => str`must NOT have ${keyword === "maxLength" ? "more" : "fewer"} than ${schemaCode} characters`,
      params: ({ schemaCode }) => _`{limit: ${schemaCode}}`,
    },
    code(cxt: KeywordCxt) {
      const { keyword, data, schemaCode, gen } = cxt;
      const count = gen.scopeValue("func", { ref: codePoints });
      cxt.fail(
        keyword === "maxLength"
          ? _`${data}.length > ${schemaCode} && ${count}(${data}) > ${schemaCode}`
          : _`${data}.length < ${schemaCode} || (${data}.length < 2 * ${schemaCode} && ${count}(${data}) < ${schemaCode})`,
      );
    },
  });
}

/**
 * Deepest nesting of objects and arrays a JSON body or socket frame may have. Free-form fields
 * (metadata, event payloads, clade deltas) are serialised again by the server, and a value nested
 * tens of thousands deep overflows the stack there; no message of the protocol needs more.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * What is wrong with a parsed body or frame as a whole, or undefined: nesting deeper than
 * `maxDepth`, or a U+0000 in any string or key. PostgreSQL text and jsonb cannot hold U+0000,
 * so a macronode failed (500) where a micronode stored it: it is refused on both (walked
 * without recursion; `includes` is native, so a 1 MiB body costs microseconds). `nul` false skips
 * the U+0000 checks (the caller saw no `\u0000` escape in the text, the only way JSON spells one).
 */
export function jsonProblem(value: unknown, what: string, maxDepth: number = MAX_JSON_DEPTH, nul = true): StyxError | undefined {
  // Two parallel stacks, index loops and only the children that can hold a problem pushed: the
  // walk runs on every socket frame, and [value, depth] pairs and Object.entries allocated per node.
  const values: unknown[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() as number;
    if (typeof v === "string") {
      if (nul && v.includes("\0")) return nulError(what);
      continue;
    }
    if (v === null || typeof v !== "object") continue;
    if (depth > maxDepth) return tooDeep(what);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (c !== null && (typeof c === "object" || (nul && typeof c === "string"))) {
          values.push(c);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    const keys = Object.keys(v);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i] as string;
      if (nul && k.includes("\0")) return nulError(what);
      const c = (v as Record<string, unknown>)[k];
      if (c !== null && (typeof c === "object" || (nul && typeof c === "string"))) {
        values.push(c);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}

function nulError(what: string): StyxError {
  return new StyxError("STYX_VALIDATION", `The ${what} holds a U+0000 (NUL) character, which no text field accepts.`, {
    details: [{ path: "/", message: "contains U+0000" }],
  });
}

/** The error for a value nested too deep. */
function tooDeep(what: string): StyxError {
  return new StyxError("STYX_VALIDATION", `The ${what} nests objects and arrays deeper than ${MAX_JSON_DEPTH} levels.`, {
    details: [{ path: "/", message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  });
}

/** One failed check as Ajv reports it. */
export interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** A 400 that names the offending field: `body has unknown field 'foo'`. */
export function validationError(issues: readonly AjvIssue[], context: string): StyxError {
  const details = issues.map((i) => {
    const extra = i.params.additionalProperty;
    const path = typeof extra === "string" ? `${i.instancePath}/${extra}` : i.instancePath || "/";
    const message = typeof extra === "string" ? `unknown field '${extra}'` : (i.message ?? "is invalid");
    return { in: context, path, message };
  });
  const first = details[0];
  const where = first ? `${context}${first.path === "/" ? "" : ` field '${first.path.slice(1)}'`}` : context;
  const msg = first
    ? first.message.startsWith("unknown field")
      ? `${context} has ${first.message}`
      : `${where} ${first.message}`
    : `${context} is invalid`;
  return new StyxError("STYX_VALIDATION", msg, { details });
}
