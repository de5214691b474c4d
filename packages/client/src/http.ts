import { type BreakerOptions, CircuitBreaker } from "./breaker.js";
import { ClientClosedError, isUnavailable, StyxError, StyxUnreachableError } from "./errors.js";
import { ROUTES, type RouteId, type Routes } from "./generated/routes.js";
import { OfflineQueue } from "./queue.js";

/** Arguments of one operation: path parameters, query string and body, typed from the OpenAPI document. */
export interface CallInput<K extends RouteId> {
  readonly params?: Routes[K]["params"];
  readonly query?: Routes[K]["query"];
  readonly body?: Routes[K]["body"];
  readonly headers?: Record<string, string>;
}

/** The body of `POST /v1/styx/entries`. */
export type EntryInput = Routes["POST /v1/styx/entries"]["body"];
/** The answer to `POST /v1/styx/entries`. */
export type EntryWritten = Routes["POST /v1/styx/entries"]["response"];

/** Options of `StyxHttp`. */
export interface HttpOptions {
  /** The server's base URL, e.g. `http://localhost:8080`. */
  readonly url: string;
  /** API key, wallet session token or admin token, sent as `Authorization: Bearer`. */
  readonly token?: string;
  /** The breaker shared with the socket, or options for a new one (3 failures → open, 60 s → half-open). */
  readonly breaker?: CircuitBreaker | BreakerOptions;
  /** Most writes held while Styx is unreachable (default 1,000). */
  readonly maxQueuedWrites?: number;
  /** How often queued writes are retried while Styx is away, in ms (default 1,000). */
  readonly flushIntervalMs?: number;
  /** Per-request timeout in ms (default 30,000). */
  readonly timeoutMs?: number;
  /** The fetch to use (default the global one). */
  readonly fetch?: typeof fetch;
}

const newIdempotencyKey = (): string => `cw-${globalThis.crypto.randomUUID()}`;

/**
 * Typed HTTP access to every route of Styx (`call`), guarded by a circuit breaker. Entry writes
 * (`writeEntry`) carry an idempotency key and wait in an offline queue while Styx is unreachable,
 * flushed in order when it answers again.
 */
export class StyxHttp {
  readonly url: string;
  readonly breaker: CircuitBreaker;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #flushIntervalMs: number;
  readonly #queue: OfflineQueue<EntryInput, EntryWritten>;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing: Promise<void> | undefined;
  /** The next write's place in call order (the offline queue keeps it). */
  #order = 0;
  #closed = false;

  constructor(opts: HttpOptions) {
    this.url = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    this.breaker = opts.breaker instanceof CircuitBreaker ? opts.breaker : new CircuitBreaker(opts.breaker);
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#flushIntervalMs = opts.flushIntervalMs ?? 1000;
    this.#queue = new OfflineQueue(opts.maxQueuedWrites ?? 1000);
  }

  /** Writes waiting in the offline queue. */
  get queuedWrites(): number {
    return this.#queue.size;
  }

  /** Calls one operation by its `METHOD /path` key; throws `StyxError` for error answers. */
  async call<K extends RouteId>(id: K, input: CallInput<K> = {}): Promise<Routes[K]["response"]> {
    if (this.#closed) throw new ClientClosedError("the client is closed");
    const route = ROUTES[id];
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const v = (input.params as Record<string, unknown> | undefined)?.[name];
      if (v === undefined) throw new TypeError(`${id}: path parameter ${name} is missing`);
      return encodeURIComponent(String(v));
    });
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries((input.query ?? {}) as Record<string, unknown>)) if (v !== undefined) qs.set(k, String(v));
    const headers: Record<string, string> = { ...input.headers };
    if (this.#token && route.auth) headers.authorization = `Bearer ${this.#token}`;
    let body: string | Uint8Array | undefined;
    if (route.body === "json" && input.body !== undefined) {
      body = JSON.stringify(input.body);
      headers["content-type"] = "application/json";
    } else if (route.body === "bytes" && input.body !== undefined) {
      body = input.body as Uint8Array;
      headers["content-type"] = "application/octet-stream";
    }
    const url = `${this.url}${path}${qs.size > 0 ? `?${qs}` : ""}`;
    return this.breaker.run(async () => {
      let res: Response;
      try {
        res = await this.#fetch(url, { method: route.method, headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
      } catch (err) {
        throw new StyxUnreachableError(`${route.method} ${path}: Styx is unreachable (${(err as Error).message})`, { cause: err });
      }
      if (!res.ok) throw await errorOf(res);
      if (route.response === "bytes") return new Uint8Array(await res.arrayBuffer()) as Routes[K]["response"];
      const text = await res.text();
      return (route.response === "json" && text ? JSON.parse(text) : text) as Routes[K]["response"];
    }, isUnavailable);
  }

  /**
   * Writes an entry. It gets an idempotency key when it has none, so a retry never stores it
   * twice. While Styx is unreachable (or writes are already waiting, to keep their order) the
   * write is queued and the promise settles when it is delivered; a full queue rejects with
   * `OfflineQueueFullError`.
   */
  async writeEntry(entry: EntryInput): Promise<EntryWritten> {
    const body = { ...entry, idempotency_key: entry.idempotency_key ?? newIdempotencyKey() };
    const order = this.#order++;
    if (this.#queue.size > 0) return this.#enqueue(body, order);
    try {
      return await this.call("POST /v1/styx/entries", { body });
    } catch (err) {
      if (isUnavailable(err)) return this.#enqueue(body, order);
      throw err;
    }
  }

  /** Tries to deliver the queued writes now (also done on a timer and when the socket reconnects). */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#flushing = this.#queue
      .flush((body) => this.call("POST /v1/styx/entries", { body }), isUnavailable)
      .then((left) => {
        this.#flushing = undefined;
        if (left > 0) this.#scheduleFlush();
      });
    return this.#flushing;
  }

  /** Stops retrying; queued writes are rejected with `ClientClosedError`. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#flushTimer);
    this.#queue.clear(new ClientClosedError("the client was closed before Styx came back"));
  }

  #enqueue(body: EntryInput, order: number): Promise<EntryWritten> {
    const p = this.#queue.push(body, order);
    this.#scheduleFlush();
    return p;
  }

  #scheduleFlush(): void {
    if (this.#closed || this.#flushTimer !== undefined || this.#flushing) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush();
    }, this.#flushIntervalMs);
    this.#flushTimer.unref?.();
  }
}

async function errorOf(res: Response): Promise<StyxError> {
  const text = await res.text().catch(() => "");
  try {
    const e = JSON.parse(text).error;
    if (e && typeof e.code === "string") return new StyxError(res.status, e.code, String(e.message ?? ""), e.request_id, e.details);
  } catch {
    // not the JSON error shape: report the status and the text
  }
  return new StyxError(res.status, `HTTP_${res.status}`, text.slice(0, 200) || res.statusText);
}
