// Writes the generated files of @styx/client: packages/client/src/generated/routes.ts from the
// server's OpenAPI document (one request/response type per operation and a table of method, path
// and body kind), and packages/client/src/generated/errors.ts from the error and close-code tables
// (which codes are retryable, which closes reconnect). Run `node --import tsx scripts/gen-client.mts`
// after changing a route, a schema or either table; the contract tests
// (test/unit/client/openapi-contract.test.ts, errors-contract.test.ts) fail until it is run.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { CLOSE_CODES, type CloseSpec } from "../src/core/platform/close-codes.js";
import { ERROR_TABLE, type ErrorSpec } from "../src/core/platform/errors.js";
import { CLIENT_MESSAGES } from "../src/protocol/fabric.js";
import { SERVER_FRAMES } from "../src/protocol/frames.js";

/** Where the generated routes live, relative to the repository root. */
export const ROUTES_FILE = "packages/client/src/generated/routes.ts";
/** Where the generated error rules live, relative to the repository root. */
export const ERRORS_FILE = "packages/client/src/generated/errors.ts";

// biome-ignore lint/suspicious/noExplicitAny: the OpenAPI document is untyped JSON
type Json = any;

/** The server's OpenAPI document, read from an in-process amnesia server. */
export async function fetchOpenApi(): Promise<Json> {
  const { startTestServer } = await import("../src/testing/test-server.js");
  const s = await startTestServer({ profile: "micro" });
  try {
    const r = await s.request("GET", "/docs/json");
    if (r.status !== 200) throw new Error(`GET /docs/json: ${r.status}`);
    return r.json;
  } finally {
    await s.close();
  }
}

const pad = (n: number) => "  ".repeat(n);
const key = (k: string) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : JSON.stringify(k));
const wrap = (t: string) => (/[|&]/.test(t) ? `(${t})` : t);

/** TypeScript for the JSON-schema subset TypeBox produces (objects, arrays, unions, enums, scalars). */
export function schemaToTs(s: Json, depth = 0): string {
  if (s === undefined || s === null || s === true) return "unknown";
  let t = baseType(s, depth);
  if (s.nullable === true && t !== "unknown") t = `${t} | null`;
  return t;
}

function baseType(s: Json, depth: number): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (Array.isArray(s.enum)) return s.enum.map((v: unknown) => JSON.stringify(v)).join(" | ");
  const alts = s.anyOf ?? s.oneOf;
  if (Array.isArray(alts)) return [...new Set(alts.map((a: Json) => schemaToTs(a, depth)))].join(" | ");
  if (Array.isArray(s.allOf)) return s.allOf.map((a: Json) => wrap(schemaToTs(a, depth))).join(" & ");
  if (Array.isArray(s.type)) return s.type.map((t: string) => baseType({ ...s, type: t }, depth)).join(" | ");
  switch (s.type) {
    case "string":
      return s.format === "binary" ? "Uint8Array" : "string";
    case "number":
    case "integer":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array":
      return `Array<${schemaToTs(s.items, depth)}>`;
    case "object":
      return objectType(s, depth);
    default:
      return s.properties ? objectType(s, depth) : s.format === "binary" ? "Uint8Array" : "unknown";
  }
}

function objectType(s: Json, depth: number): string {
  const props = Object.entries((s.properties ?? {}) as Record<string, Json>);
  const required = new Set<string>(s.required ?? []);
  // A TypeBox Record names its keys by a pattern: the values' type is the one of its pattern.
  const patterned = Object.values((s.patternProperties ?? {}) as Record<string, Json>);
  const extra = patterned.length === 1 ? patterned[0] : s.additionalProperties;
  const rest = extra === undefined || extra === false ? undefined : extra === true ? "unknown" : schemaToTs(extra, depth + 1);
  if (props.length === 0)
    return rest === undefined ? (extra === false ? "Record<string, never>" : "Record<string, unknown>") : `Record<string, ${rest}>`;
  const lines = props.map(([k, v]) => {
    const doc = v.description ? `${pad(depth + 1)}/** ${String(v.description).replace(/\*\//g, "*\\/")} */\n` : "";
    return `${doc}${pad(depth + 1)}${key(k)}${required.has(k) ? "" : "?"}: ${schemaToTs(v, depth + 1)};`;
  });
  if (rest !== undefined) lines.push(`${pad(depth + 1)}[key: string]: unknown;`);
  return `{\n${lines.join("\n")}\n${pad(depth)}}`;
}

/** How an operation's body travels: JSON, raw bytes, or none. */
type BodyKind = "json" | "bytes" | "none";
/** How an operation's success answer is read: JSON, text (NDJSON, metrics) or bytes. */
type ResponseKind = "json" | "text" | "bytes";

function paramsType(params: Json[], where: "path" | "query", depth: number): string {
  const mine = params.filter((p) => p.in === where);
  if (mine.length === 0) return "Record<string, never>";
  const schema = {
    type: "object",
    properties: Object.fromEntries(mine.map((p) => [p.name, { ...p.schema, description: p.description ?? p.schema?.description }])),
    required: mine.filter((p) => p.required).map((p) => p.name),
  };
  return schemaToTs(schema, depth);
}

function successes(op: Json): [string, Json][] {
  return Object.entries((op.responses ?? {}) as Record<string, Json>).filter(([code]) => code.startsWith("2"));
}

function responseOf(op: Json, depth: number): { type: string; kind: ResponseKind } {
  const types: string[] = [];
  let kind: ResponseKind = "text";
  for (const [, r] of successes(op)) {
    const content = (r.content ?? {}) as Record<string, Json>;
    if (content["application/json"]) {
      kind = "json";
      types.push(schemaToTs(content["application/json"].schema, depth));
    } else if (content["application/octet-stream"]) {
      kind = "bytes";
      types.push("Uint8Array");
    } else types.push("string");
  }
  return { type: [...new Set(types)].join(" | ") || "unknown", kind };
}

/** The source of routes.ts for an OpenAPI document (deterministic: paths and methods in document order). */
export function generateRoutesSource(doc: Json): string {
  const out: string[] = [
    "// Generated by scripts/gen-client.mts from the server's OpenAPI document. Do not edit:",
    "// run `node --import tsx scripts/gen-client.mts` after a route or schema changes.",
    "",
    "/** Every HTTP operation of the server, keyed `METHOD /path`: its path and query parameters, body and success answer. */",
    "export interface Routes {",
  ];
  const table: string[] = [];
  for (const [path, ops] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    for (const [method, op] of Object.entries(ops as Record<string, Json>)) {
      if (!["get", "post", "put", "delete", "patch"].includes(method)) continue;
      const id = `${method.toUpperCase()} ${path}`;
      const params = (op.parameters ?? []) as Json[];
      const content = (op.requestBody?.content ?? {}) as Record<string, Json>;
      const bodyKind: BodyKind = content["application/json"] ? "json" : content["application/octet-stream"] ? "bytes" : "none";
      const body =
        bodyKind === "json" ? schemaToTs(content["application/json"].schema, 2) : bodyKind === "bytes" ? "Uint8Array" : "undefined";
      const res = responseOf(op, 2);
      if (op.summary) out.push(`  /** ${String(op.summary).replace(/\*\//g, "*\\/")} */`);
      out.push(`  ${JSON.stringify(id)}: {`);
      out.push(`    params: ${paramsType(params, "path", 2)};`);
      out.push(`    query: ${paramsType(params, "query", 2)};`);
      out.push(`    body: ${body};`);
      out.push(`    response: ${res.type};`);
      out.push("  };");
      const auth = Array.isArray(op.security) && op.security.length > 0;
      table.push(
        `  ${JSON.stringify(id)}: { method: ${JSON.stringify(method.toUpperCase())}, path: ${JSON.stringify(path)}, body: ${JSON.stringify(bodyKind)}, response: ${JSON.stringify(res.kind)}, auth: ${auth} },`,
      );
    }
  }
  out.push("}", "");
  out.push("/** One operation's key, `METHOD /path`. */", "export type RouteId = keyof Routes;", "");
  out.push(
    "/** Method, path template, body kind, answer kind and whether a credential is sent, per operation. */",
    "export const ROUTES = {",
    ...table,
    "} as const satisfies Record<RouteId, RouteInfo>;",
    "",
    "/** What the client needs to call one operation. */",
    "export interface RouteInfo {",
    '  readonly method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH";',
    "  readonly path: string;",
    '  readonly body: "json" | "bytes" | "none";',
    '  readonly response: "json" | "text" | "bytes";',
    "  readonly auth: boolean;",
    "}",
    "",
  );
  return out.join("\n");
}

/**
 * The source of errors.ts: each code's retryable flag and each close code's reconnect decision,
 * with the two lookups the client uses and its answer for codes the tables do not know
 * (deterministic: codes in table order).
 */
export function generateErrorsSource(
  errors: Readonly<Record<string, ErrorSpec>> = ERROR_TABLE,
  closes: Readonly<Record<number, CloseSpec>> = CLOSE_CODES,
): string {
  const byClose = new Map<number, string[]>();
  for (const [code, spec] of Object.entries(errors)) byClose.set(spec.ws, [...(byClose.get(spec.ws) ?? []), code]);
  const closeRows = Object.entries(closes).map(([code, spec]) => {
    const uses = byClose.get(Number(code));
    return `  [${code}, ${spec.reconnect}], // ${spec.name}${uses ? `: ${uses.join(", ")}` : ""}`;
  });
  return [
    "// Generated by scripts/gen-client.mts from the server's error table (src/core/platform/errors.ts)",
    "// and close-code table (src/core/platform/close-codes.ts). Do not edit: run",
    "// `node --import tsx scripts/gen-client.mts` after either changes.",
    "",
    '/** Whether a call that failed with this `STYX_*` code may succeed later unchanged (docs/errors.md, column "retry"). */',
    "export const RETRYABLE_CODES: ReadonlyMap<string, boolean> = new Map([",
    ...Object.entries(errors).map(([code, spec]) => `  [${JSON.stringify(code)}, ${spec.retryable}],`),
    "]);",
    "",
    '/** Whether the socket reconnects (after its backoff) and resumes after a close with this code (docs/errors.md, "Close codes"). */',
    "export const RECONNECT_AFTER_CLOSE: ReadonlyMap<number, boolean> = new Map([",
    ...closeRows,
    "]);",
    "",
    "/**",
    " * Whether an error may succeed later unchanged: the table's answer for a code it has; for any",
    " * other (a newer server's code, a proxy's `HTTP_<status>`), whether the status is 429 or a 5xx.",
    " */",
    "export function isRetryable(code: string, status: number): boolean {",
    "  return RETRYABLE_CODES.get(code) ?? (status === 429 || status >= 500);",
    "}",
    "",
    "/**",
    " * Whether to reconnect after a close with `code`: the table's answer for a code it has; any other",
    " * (a newer server's, a proxy's) reconnects, the backoff and the circuit breaker bounding the cost.",
    " */",
    "export function shouldReconnect(code: number): boolean {",
    "  return RECONNECT_AFTER_CLOSE.get(code) ?? true;",
    "}",
    "",
  ].join("\n");
}

/** Where the socket frames' types are generated. */
export const FRAMES_FILE = "packages/client/src/generated/frames.ts";

const pascal = (s: string) => s.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());

/**
 * The source of frames.ts: a type per server control frame and per client message of
 * `WS /v1/styx/ws`, from the schemas the server validates and builds them with
 * (src/protocol/frames.ts, src/protocol/fabric.ts).
 */
export function generateFramesSource(): string {
  const out = [
    "// Generated by scripts/gen-client.mts from src/protocol/frames.ts and fabric.ts. Do not edit.",
    "",
    "// Server control frames (`type`); event frames are `EventFrame` in socket.ts.",
  ];
  for (const [type, schema] of Object.entries(SERVER_FRAMES)) {
    out.push(`/** The server's \`${type}\` frame. */`, `export type ${pascal(type)}Frame = ${schemaToTs(schema)};`, "");
  }
  const frames = Object.keys(SERVER_FRAMES).map((t) => `${pascal(t)}Frame`);
  out.push("/** Any server control frame. */", `export type ServerFrame = ${frames.join(" | ")};`, "", "// Client messages.");
  const messages = Object.entries(CLIENT_MESSAGES).filter(([type]) => type !== "unsubscribe");
  for (const [type, schema] of messages) {
    out.push(`/** The client's \`${type}\` message. */`, `export type ${pascal(type)}Message = ${schemaToTs(schema)};`, "");
  }
  out.push("/** Any client message. */", `export type ClientMessage = ${messages.map(([t]) => `${pascal(t)}Message`).join(" | ")};`, "");
  return out.join("\n");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  writeFileSync(root + FRAMES_FILE, generateFramesSource());
  console.log(`wrote ${FRAMES_FILE} (${Object.keys(SERVER_FRAMES).length} server frames)`);
  writeFileSync(root + ERRORS_FILE, generateErrorsSource());
  console.log(`wrote ${ERRORS_FILE} (${Object.keys(ERROR_TABLE).length} codes, ${Object.keys(CLOSE_CODES).length} close codes)`);
  const doc = await fetchOpenApi();
  writeFileSync(root + ROUTES_FILE, generateRoutesSource(doc));
  console.log(`wrote ${ROUTES_FILE} (${Object.keys(doc.paths).length} paths)`);
}
