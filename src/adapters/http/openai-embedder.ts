import { type Embedder, normalize } from "../../core/knowledge/embedder.js";
import { type ErrorCode, StyxError } from "../../core/platform/errors.js";
import { isRecord, isTimeout, jsonHeaders, networkCode, openAiEndpoint, upstreamReason } from "./openai-protocol.js";

const EMBEDDER_FAILED = "STYX_EMBEDDER_FAILED" satisfies ErrorCode;

/** Default model: OpenAI's small v3 model, which can shorten its vectors to STYX_EMBED_DIM. */
export const DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small";

/** Wait before the one retry when the upstream gives no usable `Retry-After`. */
const RETRY_WAIT_MS = 200;
/** Longest `Retry-After` honoured before the retry; longer waits are cut to this. */
const MAX_RETRY_WAIT_MS = 2_000;

/** Options of `OpenAiEmbedder`. */
export interface OpenAiEmbedderOptions {
  /** STYX_EMBEDDER_URL: a base URL (`https://api.openai.com`, `…/v1`) or the full endpoint; see `embeddingsEndpoint`. */
  readonly url: string;
  /** Model name sent upstream (default `text-embedding-3-small`). */
  readonly model?: string;
  /** Sent as `Authorization: Bearer <apiKey>`; never logged nor put in an error. */
  readonly apiKey?: string;
  /** STYX_EMBED_DIM: every answered vector must have exactly this length. */
  readonly dimensions: number;
  /** Budget of one HTTP attempt, answer body included (default 10000 ms); a timeout is not retried. */
  readonly timeoutMs?: number;
  /** Most texts per upstream request (default 96); larger inputs are sent as several requests, in order. */
  readonly maxBatch?: number;
  /** Send `dimensions` upstream so the model shortens its vectors (default: true for `text-embedding-3*` models only). */
  readonly sendDimensions?: boolean;
}

/**
 * Resolves STYX_EMBEDDER_URL to the embeddings endpoint (the rule of `openAiEndpoint`):
 * `http://h:8080`, `http://h:8080/` and `http://h:8080/v1` all give `http://h:8080/v1/embeddings`.
 */
export function embeddingsEndpoint(base: string): string {
  return openAiEndpoint(base, "embeddings", "embedder");
}

type Attempt = { ok: true; payload: unknown } | { ok: false; error: StyxError; retry: boolean; waitMs: number };

/** An `Embedder` over any OpenAI-compatible `POST /v1/embeddings` endpoint (OpenAI, vLLM, Ollama, TEI, LiteLLM…). */
export class OpenAiEmbedder implements Embedder {
  readonly dimensions: number;
  readonly #endpoint: string;
  readonly #model: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutMs: number;
  readonly #maxBatch: number;
  readonly #sendDimensions: boolean;

  constructor(opts: OpenAiEmbedderOptions) {
    this.#endpoint = embeddingsEndpoint(opts.url);
    this.#model = opts.model ?? DEFAULT_EMBEDDING_MODEL;
    this.#apiKey = opts.apiKey === "" ? undefined : opts.apiKey;
    this.dimensions = positiveInt(opts.dimensions, "dimensions");
    this.#timeoutMs = positiveInt(opts.timeoutMs ?? 10_000, "timeoutMs");
    this.#maxBatch = positiveInt(opts.maxBatch ?? 96, "maxBatch");
    this.#sendDimensions = opts.sendDimensions ?? this.#model.startsWith("text-embedding-3");
    if (this.#model === "") throw new Error("The embedder model must not be empty.");
  }

  async embed(texts: string[]): Promise<(Float32Array | null)[]> {
    texts.forEach((t, i) => {
      if (typeof t !== "string" || t.length === 0) throw new StyxError("STYX_VALIDATION", `Text ${i} is empty; there is nothing to embed.`);
    });
    const out: (Float32Array | null)[] = [];
    for (let start = 0; start < texts.length; start += this.#maxBatch) {
      out.push(...(await this.#embedBatch(texts.slice(start, start + this.#maxBatch))));
    }
    return out;
  }

  async #embedBatch(input: string[]): Promise<(Float32Array | null)[]> {
    const body = JSON.stringify({
      model: this.#model,
      input,
      encoding_format: "float",
      ...(this.#sendDimensions ? { dimensions: this.dimensions } : {}),
    });
    let attempt = await this.#post(body);
    if (!attempt.ok && attempt.retry) {
      const waitMs = attempt.waitMs;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      attempt = await this.#post(body);
    }
    if (!attempt.ok) throw attempt.error;
    return this.#vectors(attempt.payload, input.length);
  }

  /** One HTTP attempt; never throws. */
  async #post(body: string): Promise<Attempt> {
    const headers = jsonHeaders(this.#apiKey);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.#endpoint, { method: "POST", headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      text = await res.text();
    } catch (err) {
      if (isTimeout(err)) {
        return { ok: false, retry: false, waitMs: 0, error: this.#fail(`The embedder did not answer within ${this.#timeoutMs} ms.`) };
      }
      const code = networkCode(err);
      const error = this.#fail(`The embedder is unreachable${code ? ` (${code})` : ""}.`, err);
      return { ok: false, retry: true, waitMs: RETRY_WAIT_MS, error };
    }
    if (!res.ok) {
      const reason = upstreamReason(text);
      const error = this.#fail(`The embedder answered HTTP ${res.status}${reason ? ` (${reason})` : ""}.`);
      return { ok: false, retry: res.status === 429 || res.status >= 500, waitMs: retryWait(res.headers.get("retry-after")), error };
    }
    try {
      return { ok: true, payload: JSON.parse(text) };
    } catch {
      return { ok: false, retry: false, waitMs: 0, error: this.#fail("The embedder answered something that is not JSON.") };
    }
  }

  /**
   * Validates an answer and returns its vectors in input order, normalised; null for a text the
   * model gave a zero or non-finite vector (no direction: the text is refused, the model is not
   * broken).
   */
  #vectors(payload: unknown, count: number): (Float32Array | null)[] {
    const data = isRecord(payload) ? payload.data : undefined;
    if (!Array.isArray(data)) throw this.#fail("The embedder's answer has no `data` array.");
    if (data.length !== count) throw this.#fail(`The embedder answered ${data.length} embeddings for ${count} texts.`);
    const out: (Float32Array | null)[] = new Array(count);
    for (const item of data) {
      const index = isRecord(item) ? item.index : undefined;
      const embedding = isRecord(item) ? item.embedding : undefined;
      if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count || out[index] !== undefined) {
        throw this.#fail("The embedder's answer has a missing, out-of-range or repeated `index`.");
      }
      if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === "number")) {
        throw this.#fail("The embedder's answer has an `embedding` that is not an array of numbers.");
      }
      if (embedding.length !== this.dimensions) {
        throw this.#fail(
          `The embedder answered ${embedding.length}-dimensional vectors; ${this.dimensions} are configured (STYX_EMBED_DIM).`,
        );
      }
      try {
        out[index] = normalize(embedding as number[]);
      } catch {
        out[index] = null;
      }
    }
    return out;
  }

  #fail(message: string, cause?: unknown): StyxError {
    const key = this.#apiKey;
    const safe = key === undefined ? message : message.split(key).join("[redacted]");
    return new StyxError(EMBEDDER_FAILED, safe, cause === undefined ? {} : { cause });
  }
}

function positiveInt(n: number, name: string): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`The embedder option ${name} must be a positive integer.`);
  return n;
}

function retryWait(header: string | null): number {
  const seconds = header === null ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds * 1000, MAX_RETRY_WAIT_MS) : RETRY_WAIT_MS;
}
