import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

/**
 * Request validation. Bodies are checked strictly: no type coercion, no defaults injected,
 * unknown fields rejected (schemas say `additionalProperties: false`; Ajv never strips them).
 * Query strings, params and headers arrive as text, so there scalars are coerced.
 */
function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    removeAdditional: false,
    useDefaults: false,
    coerceTypes: coerce ? "array" : false,
    strict: false,
  });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
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
