/**
 * What the OpenAI-compatible HTTP clients (embeddings, chat completions) share: how a configured
 * base URL becomes an endpoint, and how a failed attempt is described without leaking anything.
 */

/**
 * Resolves a configured OpenAI-compatible base URL to the endpoint of `resource` (`embeddings`,
 * `chat/completions`). Rule, after trailing slashes are dropped: a path ending in `/<resource>` is
 * used as given; a path ending in a version segment (`/v1`, `/v2`…) gets `/<resource>`; anything
 * else (a bare origin, a proxy prefix) gets `/v1/<resource>`. So `http://h:8080`, `http://h:8080/`
 * and `http://h:8080/v1` all resolve to `http://h:8080/v1/<resource>`. The query string is kept,
 * the fragment dropped. Throws (naming the client as `label`) on a non-http(s) URL or one carrying
 * user:password (the key goes in a header instead).
 */
export function openAiEndpoint(base: string, resource: string, label: string): string {
  let u: URL;
  try {
    u = new URL(base.trim());
  } catch {
    throw new Error(`The ${label} URL is not a valid URL.`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`The ${label} URL must use http or https.`);
  if (u.username !== "" || u.password !== "") throw new Error(`The ${label} URL must not carry credentials; use the API key.`);
  const path = u.pathname.replace(/\/+$/, "");
  if (path.endsWith(`/${resource}`)) u.pathname = path;
  else if (/\/v\d+$/.test(path)) u.pathname = `${path}/${resource}`;
  else u.pathname = `${path}/v1/${resource}`;
  u.hash = "";
  return u.toString();
}

/** The request headers of a JSON POST, with `Authorization: Bearer <apiKey>` when there is a key. */
export function jsonHeaders(apiKey: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
  return headers;
}

/** A plain JSON object (not null, not an array). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Whether a fetch failed because its `AbortSignal.timeout` fired (while connecting or reading the body). */
export function isTimeout(err: unknown): boolean {
  return isRecord(err) && (err.name === "TimeoutError" || (err as { cause?: { name?: unknown } }).cause?.name === "TimeoutError");
}

/** The system error code under fetch's "fetch failed" (ECONNREFUSED, ECONNRESET…), if any. */
export function networkCode(err: unknown): string | undefined {
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : undefined;
}

/**
 * The machine-readable `error.code` (else `error.type`) of an OpenAI-style error body. The
 * free-text `error.message` is never used: upstreams quote (parts of) the API key in it.
 */
export function upstreamReason(text: string): string | undefined {
  try {
    const body: unknown = JSON.parse(text);
    const error = isRecord(body) ? body.error : undefined;
    if (!isRecord(error)) return undefined;
    const reason = typeof error.code === "string" ? error.code : error.type;
    return typeof reason === "string" && /^[A-Za-z0-9_.-]{1,64}$/.test(reason) ? reason : undefined;
  } catch {
    return undefined;
  }
}
