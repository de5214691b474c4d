import {
  passesThrough,
  RETURNED_RESPONSE_HEADERS,
  UPSTREAM_TIMEOUT_MS,
  type UpstreamMarket,
  type UpstreamRequest,
  type UpstreamResponse,
  upstreamUnavailable,
} from "../../core/federation/upstream-market.js";
import { BUYER_HEADER } from "../../core/marketplace/buyer.js";

/** Options of the upstream marketplace client. */
export interface HttpUpstreamMarketOptions {
  /** STYX_UPSTREAM_URL: the upstream's base URL (a path prefix is kept). */
  readonly url: string;
  /** STYX_UPSTREAM_KEY: the federate key the upstream issued this Styx, sent as a bearer token. */
  readonly key: string;
  /** Until the status and headers arrive, and between two chunks of a body (default UPSTREAM_TIMEOUT_MS). */
  readonly timeoutMs?: number | undefined;
}

/**
 * The upstream's marketplace over HTTP with Node's fetch (undici): the request forwarded with
 * the federate key and `X-Styx-Buyer`, the answer's status and returned headers as they are, its
 * body streamed chunk by chunk (never buffered whole). No answer in time, a refused connection, a
 * redirect, a 401 to this Styx's key or an error that is not JSON → STYX_UPSTREAM_UNAVAILABLE; a
 * body that stalls is aborted and its stream ends with an error.
 */
export class HttpUpstreamMarket implements UpstreamMarket {
  readonly #base: string;
  readonly #key: string;
  readonly #timeoutMs: number;

  constructor(opts: HttpUpstreamMarketOptions) {
    this.#base = opts.url.replace(/\/+$/, "");
    this.#key = opts.key;
    this.#timeoutMs = opts.timeoutMs ?? UPSTREAM_TIMEOUT_MS;
  }

  async forward(req: UpstreamRequest): Promise<UpstreamResponse> {
    const headers = new Headers({ authorization: `Bearer ${this.#key}`, accept: "application/json, application/octet-stream" });
    for (const [k, v] of req.headers) headers.set(k, v);
    if (req.buyerRef !== undefined) headers.set(BUYER_HEADER, req.buyerRef);
    if (req.body !== undefined) headers.set("content-type", "application/json");
    const abort = new AbortController();
    let timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    let res: Response;
    try {
      res = await fetch(this.#base + req.path, {
        method: req.method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        redirect: "error",
        signal: abort.signal,
      });
    } catch (err) {
      clearTimeout(timer);
      throw upstreamUnavailable(abort.signal.aborted ? "timeout" : "unreachable", err);
    }
    clearTimeout(timer);
    const contentType = res.headers.get("content-type") ?? undefined;
    if (!passesThrough(res.status, contentType)) {
      await res.body?.cancel().catch(() => {});
      throw upstreamUnavailable(res.status === 401 ? "key_refused" : `status_${res.status}`);
    }
    const returned = new Map<string, string>();
    for (const name of RETURNED_RESPONSE_HEADERS) {
      const v = res.headers.get(name);
      if (v !== null) returned.set(name, v);
    }
    const timeoutMs = this.#timeoutMs;
    const reader = res.body?.getReader();
    const stop = async (): Promise<IteratorResult<Uint8Array>> => {
      clearTimeout(timer);
      // The buyer went away, the body failed or ended: stop reading the upstream's (also when no chunk was ever read).
      await reader?.cancel().catch(() => {});
      return { done: true, value: undefined };
    };
    const body: AsyncIterableIterator<Uint8Array> = {
      [Symbol.asyncIterator]() {
        return body;
      },
      async next() {
        if (!reader) return { done: true, value: undefined };
        timer = setTimeout(() => abort.abort(), timeoutMs);
        try {
          const r = await reader.read();
          clearTimeout(timer);
          return r.done ? stop() : { done: false, value: r.value };
        } catch (err) {
          await stop();
          throw upstreamUnavailable(abort.signal.aborted ? "timeout" : "broken_body", err);
        }
      },
      return: stop,
    };
    return { status: res.status, headers: returned, body };
  }
}
