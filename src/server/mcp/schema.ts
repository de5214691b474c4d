import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { TSchema } from "typebox";
import { makeAjv, validationError } from "../../protocol/json-rules.js";

/** One Ajv for every tool and prompt: the same rules (formats, no coercion) as an HTTP body. */
const ajv = makeAjv(false);

/**
 * A TypeBox schema of `protocol/` as the SDK's Standard Schema: `tools/list` advertises the JSON
 * Schema as is, and `tools/call` validates with the same Ajv rules an HTTP body meets, so a tool's
 * arguments are checked exactly as the route's body would be. A failure names the first issue
 * as STYX_VALIDATION words (path and message).
 */
export function standardSchema<T>(schema: TSchema): StandardSchemaWithJSON<T, T> {
  const json = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  const check = ajv.compile(json);
  return {
    "~standard": {
      version: 1,
      vendor: "styx",
      validate: (value: unknown) => {
        if (check(value)) return { value: value as T };
        const e = validationError(check.errors ?? [], "arguments");
        return { issues: [{ message: e.message }] };
      },
      jsonSchema: { input: () => json, output: () => json },
    },
  };
}
