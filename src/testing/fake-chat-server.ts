import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { admit, invalid, listenOnLoopback, readBody, send } from "./fake-openai-http.js";

/** A chat message as the OpenAI chat completions protocol sends it. */
export interface ChatMessage {
  readonly role: string;
  readonly content: string;
}

/** A request the fake received (only well-formed ones reach `answer`). */
export interface ChatRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: { readonly model: string; readonly messages: readonly ChatMessage[]; readonly [field: string]: unknown };
}

/**
 * What the fake does with a request: answer `content` (with `finishReason`, default `stop`),
 * answer an HTTP error `status` (0 drops the connection), send `raw` as a 200 body, or `hang`
 * (never answer until `close()`).
 */
export type ChatBehaviour =
  | { readonly content: string; readonly finishReason?: string; readonly refusal?: string }
  | { readonly status: number }
  | { readonly raw: string }
  | { readonly hang: true };

/** Options of `startFakeChat`. */
export interface FakeChatOptions {
  /** When set, requests without `Authorization: Bearer <apiKey>` get OpenAI's 401 (which quotes the key sent). */
  readonly apiKey?: string;
  /** Decides each answer (default: echoes the last user message, as a model that changes nothing). */
  readonly answer?: (req: ChatRequest) => ChatBehaviour;
}

/** A running fake OpenAI chat completions server on 127.0.0.1. */
export interface FakeChat {
  /** The bare origin, `http://127.0.0.1:<port>`; the endpoint is `<url>/v1/chat/completions`. */
  readonly url: string;
  /** Well-formed requests received so far, oldest first. */
  readonly received: readonly ChatRequest[];
  /** Replaces how later requests are answered. */
  setAnswer(answer: (req: ChatRequest) => ChatBehaviour): void;
  /** Stops listening and drops every connection, hanging ones included. */
  close(): Promise<void>;
}

/** The last user message of a request (the text an anonymizer asks about). */
export function lastUserText(req: ChatRequest): string {
  return [...req.body.messages].reverse().find((m) => m.role === "user")?.content ?? "";
}

function isMessage(m: unknown): m is ChatMessage {
  if (typeof m !== "object" || m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.role === "string" && ["system", "developer", "user", "assistant"].includes(r.role) && typeof r.content === "string";
}

/** Starts a real HTTP server speaking the OpenAI chat completions protocol (`POST /v1/chat/completions`, non-streaming). */
export async function startFakeChat(opts: FakeChatOptions = {}): Promise<FakeChat> {
  const received: ChatRequest[] = [];
  let decide = opts.answer ?? ((req: ChatRequest): ChatBehaviour => ({ content: lastUserText(req) }));
  let counter = 0;

  const answer = (req: IncomingMessage, res: ServerResponse, raw: string): void => {
    if (!admit(req, res, "/v1/chat/completions", opts.apiKey)) return;
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw);
    } catch {
      invalid(res, "We could not parse the JSON body of your request.");
      return;
    }
    const messages = body.messages;
    const problem =
      typeof body.model !== "string" || body.model === ""
        ? "model"
        : !Array.isArray(messages) || messages.length === 0 || !messages.every(isMessage)
          ? "messages"
          : body.stream === true
            ? "stream"
            : undefined;
    if (problem !== undefined || typeof body.model !== "string" || !Array.isArray(messages)) {
      invalid(res, `Invalid value for '${problem}'.`, problem ?? null);
      return;
    }
    const request: ChatRequest = { headers: req.headers, body: { ...body, model: body.model, messages } };
    received.push(request);
    const b = decide(request);
    if ("hang" in b) return;
    if ("status" in b) {
      if (b.status === 0) req.socket.destroy();
      else send(res, b.status, { error: { message: "The server had an error while processing your request.", type: "server_error" } });
      return;
    }
    if ("raw" in b) {
      send(res, 200, b.raw);
      return;
    }
    const prompt = messages.reduce((n: number, m: ChatMessage) => n + Math.ceil(m.content.length / 4), 0);
    const completion = Math.ceil(b.content.length / 4);
    send(res, 200, {
      id: `chatcmpl-fake${++counter}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: b.content, refusal: b.refusal ?? null },
          logprobs: null,
          finish_reason: b.finishReason ?? "stop",
        },
      ],
      usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
      system_fingerprint: "fp_fake",
    });
  };

  const server = createServer((req, res) => {
    readBody(req).then(
      (raw) => answer(req, res, raw),
      () => req.socket.destroy(),
    );
  });
  const listening = await listenOnLoopback(server);

  return {
    url: listening.url,
    received,
    setAnswer(next) {
      decide = next;
    },
    close: async () => {
      await listening.close();
    },
  };
}
