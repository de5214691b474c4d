import { type JsonSchema, sampleValid } from "./openapi-cases.js";

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
