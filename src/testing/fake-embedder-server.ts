import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { admit, invalid, listenOnLoopback, readBody, send } from "./fake-openai-http.js";

/** Options of `startFakeEmbedder`. */
export interface FakeEmbedderOptions {
  /** Length of the vectors answered, unless a request asks for `dimensions` (as text-embedding-3 allows). */
  readonly dimensions: number;
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401 (which quotes the key sent). */
  readonly apiKey?: string;
  /** Every answer waits this long (for timeout tests); pending answers are dropped at `close()`. */
  readonly delayMs?: number;
  /**
   * Rewrites each successful answer before it is sent (malformed-answer and ordering tests);
   * `input` is the texts asked for. A string is sent as it is (JSON numbers such as `1e999`).
   */
  readonly mangle?: (answer: EmbeddingsAnswer, input: readonly string[]) => unknown;
}

/** The OpenAI embeddings answer, as this server builds it. */
export interface EmbeddingsAnswer {
  object: "list";
  data: { object: "embedding"; index: number; embedding: number[] }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}

/** A running fake OpenAI embeddings server on 127.0.0.1. */
export interface FakeEmbedder {
  /** The bare origin, `http://127.0.0.1:<port>`; the endpoint is `<url>/v1/embeddings`. */
  readonly url: string;
  /** Requests received so far, on any path, failed ones included. */
  requests(): number;
  /** The texts asked for so far, in the order their requests arrived (before any hold). */
  inputs(): string[];
  /** From now on, answers wait until `release` (tests that need work to stay in progress). */
  hold(): void;
  /** Sends the `n` oldest held answers (default all); with no `n`, also stops holding. */
  release(n?: number): void;
  /** Answers held now. */
  held(): number;
  /** The next `n` requests fail with `status` (default 500); status 0 drops the connection unanswered. */
  failNext(n: number, status?: number): void;
  /** Stops listening and drops every connection and pending answer. */
  close(): Promise<void>;
}

/** The words of `text`: lowercase runs of letters and digits. */
function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** 32-bit FNV-1a over UTF-16 code units, seeded. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The deterministic embedding this server answers: a hashed set of words (each distinct word adds
 * ±1 to three hashed dimensions, however often it occurs), L2-normalised. Texts sharing words have a high cosine, texts sharing
 * none about zero. A text with no word embeds its whole lowercased string as one word.
 */
export function fakeEmbedding(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const ws = [...new Set(words(text))];
  for (const w of ws.length > 0 ? ws : [text.toLowerCase()]) {
    for (let seed = 0; seed < 3; seed++) {
      const h = fnv1a(w, seed);
      v[h % dimensions] = (v[h % dimensions] ?? 0) + (h & 0x80000000 ? -1 : 1);
    }
  }
  let norm = Math.hypot(...v);
  if (norm === 0) {
    // The word's dimensions cancelled out exactly: fall back to one fixed dimension.
    v[fnv1a(text, 7) % dimensions] = 1;
    norm = 1;
  }
  return v.map((x) => x / norm);
}

/** Starts a real HTTP server speaking the OpenAI embeddings protocol (`POST /v1/embeddings`). */
export async function startFakeEmbedder(opts: FakeEmbedderOptions): Promise<FakeEmbedder> {
  let count = 0;
  const failures: number[] = [];
  const received: string[] = [];
  let holding = false;
  const heldAnswers: (() => void)[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const answer = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    const failure = failures.shift();
    if (failure === 0) {
      req.socket.destroy();
      return;
    }
    if (failure !== undefined) {
      send(res, failure, { error: { message: "The server had an error while processing your request.", type: "server_error" } });
      return;
    }
    if (!admit(req, res, "/v1/embeddings", opts.apiKey)) return;
    let body: { model?: unknown; input?: unknown; dimensions?: unknown };
    try {
      body = JSON.parse(raw);
    } catch {
      invalid(res, "We could not parse the JSON body of your request.");
      return;
    }
    if (typeof body.model !== "string" || body.model === "") {
      invalid(res, "you must provide a model parameter");
      return;
    }
    const input = typeof body.input === "string" ? [body.input] : body.input;
    if (!Array.isArray(input) || input.length === 0 || !input.every((t) => typeof t === "string" && t !== "")) {
      invalid(res, "'$.input' is invalid.");
      return;
    }

    const dims = body.dimensions ?? opts.dimensions;
    if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1) {
      invalid(res, "'$.dimensions' is invalid.");
      return;
    }
    const tokens = input.reduce((n: number, t: string) => n + Math.max(1, words(t).length), 0);
    const built: EmbeddingsAnswer = {
      object: "list",
      data: input.map((t: string, index) => ({ object: "embedding", index, embedding: fakeEmbedding(t, dims) })),
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
    send(res, 200, opts.mangle ? opts.mangle(built, input) : built);
  };

  const noteInputs = (raw: string): void => {
    try {
      const input = (JSON.parse(raw) as { input?: unknown }).input;
      for (const t of Array.isArray(input) ? input : [input]) if (typeof t === "string") received.push(t);
    } catch {
      // Malformed bodies are answered (refused) by `answer`.
    }
  };

  const server = createServer((req, res) => {
    count++;
    readBody(req).then(
      (raw) => {
        noteInputs(raw);
        if (holding) return void heldAnswers.push(() => answer(req, res, raw));
        if (!opts.delayMs) return answer(req, res, raw);
        const t = setTimeout(() => {
          timers.delete(t);
          answer(req, res, raw);
        }, opts.delayMs);
        timers.add(t);
      },
      () => req.socket.destroy(),
    );
  });
  const listening = await listenOnLoopback(server);

  return {
    url: listening.url,
    requests: () => count,
    inputs: () => [...received],
    hold() {
      holding = true;
    },
    release(n) {
      if (n === undefined) holding = false;
      for (const send of heldAnswers.splice(0, n ?? heldAnswers.length)) send();
    },
    held: () => heldAnswers.length,
    failNext(n, status = 500) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      heldAnswers.length = 0;
      await listening.close();
    },
  };
}
