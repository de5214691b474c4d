import WebSocket from "ws";
import { type BackoffOptions, reconnectDelay } from "./backoff.js";
import { CircuitBreaker } from "./breaker.js";
import { StyxError, StyxUnreachableError } from "./errors.js";
import { shouldReconnect } from "./generated/errors.js";
import type { ResumedFrame, ServerFrame, WelcomeFrame } from "./generated/frames.js";

/** A position in a stream: the epoch of its history and the last seq seen. */
export interface StreamPosition {
  readonly epoch: string;
  readonly seq: number;
}

/** An event frame: `{stream, epoch, seq, ts, channel, payload}` (SPEC §9). */
export interface EventFrame {
  readonly stream: string;
  readonly epoch: string;
  readonly seq: number;
  readonly ts: number;
  /** The event type, e.g. `golem:tick`, `styx:pheromone:deposit`. */
  readonly channel: string;
  readonly payload: unknown;
}

/** A stream's answer to the resume sent after a reconnect: `recovered: false` says events were lost, and why. */
export interface RecoveryReport {
  readonly stream: string;
  readonly recovered: boolean;
  /** `epoch_changed`, `beyond_retention`, `ahead_of_stream`, `not_found`, … when not recovered. */
  readonly reason?: string;
  readonly epoch: string;
  readonly seq: number;
}

/** What a `StyxSocket` reports, by event name. */
export interface SocketEvents {
  /** The server's `welcome` (after each connect). */
  open: WelcomeFrame;
  /** Each event frame, once, in seq order per stream. */
  event: EventFrame;
  /** Each resumed stream after a reconnect. */
  recovered: RecoveryReport;
  /** Any control frame (`welcome`, `ack`, `error`, `subscribed`, `resumed`, `pong`, …). */
  control: ServerFrame;
  /** The socket closed; `reconnectInMs` is null when it will not reconnect. */
  close: { code: number; reason: string; reconnectInMs: number | null };
  /** A failed connection attempt or an error frame without an id. */
  error: Error;
}

/** Options of `StyxSocket`. */
export interface SocketOptions {
  /** The server's base URL (`http://…` or `ws://…`). */
  readonly url: string;
  readonly token: string;
  /** Reconnect backoff: 1, 2, 4, 8, 16 … 60 s with ±20 % jitter by default. */
  readonly backoff?: BackoffOptions;
  /** The breaker shared with the HTTP client: failed connects count as failures, a welcome closes it. */
  readonly breaker?: CircuitBreaker;
  /** How long an `ack` is awaited, in ms (default 10,000). */
  readonly ackTimeoutMs?: number;
}

// Live events held back while a resume replays what came before them are released after this long at most.
const CATCH_UP_MS = 2000;

interface CatchUp {
  until: number;
  held: EventFrame[];
  timer?: ReturnType<typeof setTimeout>;
}

type Listener<E extends keyof SocketEvents> = (v: SocketEvents[E]) => void;

/**
 * The socket to `WS /v1/styx/ws`: reconnects with backoff, remembers `{epoch, seq}` of every
 * stream from its event frames and resumes them after a reconnect (reporting `recovered`),
 * re-sends the last subscription, and acknowledges messages by id.
 */
export class StyxSocket {
  readonly breaker: CircuitBreaker;
  readonly #opts: SocketOptions;
  readonly #positions = new Map<string, StreamPosition>();
  readonly #catchUp = new Map<string, CatchUp>();
  readonly #acks = new Map<string | number, { resolve: (f: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  readonly #listeners = new Map<keyof SocketEvents, Set<(v: never) => void>>();
  #ws: WebSocket | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #ready = false;
  #nextId = 1;
  #subscription: Record<string, unknown> | undefined;

  constructor(opts: SocketOptions) {
    this.#opts = opts;
    this.breaker = opts.breaker ?? new CircuitBreaker();
  }

  /** True between a `welcome` and the next close. */
  get connected(): boolean {
    return this.#ready;
  }

  /** The last position seen per stream. */
  positions(): ReadonlyMap<string, StreamPosition> {
    return this.#positions;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof SocketEvents>(event: E, fn: Listener<E>): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    this.#listeners.set(event, set);
    set.add(fn as (v: never) => void);
    return () => set.delete(fn as (v: never) => void);
  }

  /** Opens the socket (and keeps reopening it until `close`); resolves at the first welcome. */
  connect(): Promise<WelcomeFrame> {
    const first = new Promise<WelcomeFrame>((resolve) => {
      const off = this.on("open", (w) => {
        off();
        resolve(w);
      });
    });
    this.#open();
    return first;
  }

  /** Sends a message and waits for its `ack` (an `error` frame with its id rejects with StyxError). */
  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    const ws = this.#ws;
    if (!this.#ready || !ws) return Promise.reject(new StyxUnreachableError("the socket is not connected; it will reconnect"));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        reject(new StyxUnreachableError(`no ack for ${String(msg.type)} within ${this.#opts.ackTimeoutMs ?? 10_000} ms`));
      }, this.#opts.ackTimeoutMs ?? 10_000);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#acks.delete(id);
        fn();
      };
      this.#acks.set(id, { resolve: (f) => done(() => resolve(f)), reject: (e) => done(() => reject(e)) });
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** Relays a golem event (`type` like `golem:tick`) to its owner's surfaces. */
  sendEvent(golemId: string, event: { type: string; [k: string]: unknown }): Promise<Record<string, unknown>> {
    return this.request({ type: "event", golem_id: golemId, event });
  }

  /** Sends a presence beat (`phase`, `vitality`, `pad`, `regime`, `tick`, `domains`, …). */
  heartbeat(golemId: string, beat: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.request({ type: "heartbeat", golem_id: golemId, ...beat });
  }

  /** Follows domain streams and the public stream; re-sent after every reconnect. */
  subscribe(opts: { domains?: string[]; categories?: string[]; public?: boolean } = {}): Promise<Record<string, unknown>> {
    this.#subscription = { type: "subscribe", ...opts };
    return this.request(this.#subscription);
  }

  /** Closes the socket for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const c of this.#catchUp.values()) clearTimeout(c.timer);
    this.#ws?.close(1000, "client closed");
  }

  #emit<E extends keyof SocketEvents>(event: E, v: SocketEvents[E]): void {
    for (const fn of this.#listeners.get(event) ?? []) (fn as Listener<E>)(v);
  }

  #open(): void {
    if (this.#closed) return;
    const url = `${this.#opts.url.replace(/\/+$/, "").replace(/^http/, "ws")}/v1/styx/ws`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.#opts.token}` } });
    this.#ws = ws;
    let welcomed = false;
    ws.on("message", (data) => {
      let v: unknown;
      try {
        v = JSON.parse(data.toString());
      } catch {
        return;
      }
      for (const f of Array.isArray(v) ? v : [v]) {
        if (f?.type === "welcome") welcomed = true;
        this.#frame(f);
      }
    });
    ws.on("error", (err) => this.#emit("error", err));
    ws.on("close", (code, reason) => {
      this.#ready = false;
      for (const a of this.#acks.values()) a.reject(new StyxUnreachableError("the socket closed before the ack"));
      if (!welcomed) this.breaker.failure();
      // A close that judges the credential (4401, 4403, …) would only repeat: the server's close-code table says which.
      const reconnect = !this.#closed && shouldReconnect(code);
      const delay = reconnect ? reconnectDelay(this.#attempt++, this.#opts.backoff) : null;
      this.#emit("close", { code, reason: reason.toString(), reconnectInMs: delay });
      if (delay !== null) this.#timer = setTimeout(() => this.#open(), delay);
    });
  }

  #frame(f: Record<string, unknown>): void {
    if (typeof f.stream === "string" && typeof f.seq === "number" && f.type === undefined) {
      this.#event(f as unknown as EventFrame);
      return;
    }
    if (f.type === "welcome") this.#welcome(f as WelcomeFrame);
    else if (f.type === "resumed") this.#resumed(f as ResumedFrame);
    else if ((f.type === "ack" || f.type === "error") && f.id !== undefined && this.#acks.has(f.id as number)) {
      const a = this.#acks.get(f.id as number);
      if (f.type === "ack") a?.resolve(f);
      else a?.reject(frameError(f));
    } else if (f.type === "error") this.#emit("error", frameError(f));
    this.#emit("control", f as ServerFrame);
  }

  #welcome(w: WelcomeFrame): void {
    this.#attempt = 0;
    this.#ready = true;
    this.breaker.success();
    const streams: Record<string, StreamPosition> = w.streams;
    const resume: Record<string, StreamPosition> = {};
    for (const [s, p] of this.#positions) {
      resume[s] = p;
      const head = streams[s];
      // A stream joined at welcome gets live events after `head` at once; hold them until the replay up to `head` is through.
      if (head && head.epoch === p.epoch && head.seq > p.seq) this.#catchUp.set(s, { until: head.seq, held: [] });
    }
    for (const [s, p] of Object.entries(streams)) if (!this.#positions.has(s)) this.#positions.set(s, { epoch: p.epoch, seq: p.seq });
    if (Object.keys(resume).length > 0) this.#ws?.send(JSON.stringify({ type: "resume", streams: resume }));
    if (this.#subscription) this.#ws?.send(JSON.stringify(this.#subscription));
    this.#emit("open", w);
  }

  #resumed(f: ResumedFrame): void {
    for (const [stream, a] of Object.entries(f.streams)) {
      this.#emit("recovered", { stream, ...a });
      const c = this.#catchUp.get(stream);
      if (!a.recovered) {
        // Nothing will be replayed: continue from the server's current position.
        if (a.epoch) this.#positions.set(stream, { epoch: a.epoch, seq: Math.min(a.seq, c?.until ?? a.seq) });
        this.#release(stream);
      } else if (c) {
        c.timer = setTimeout(() => this.#release(stream), CATCH_UP_MS);
        if ((this.#positions.get(stream)?.seq ?? 0) >= c.until) this.#release(stream);
      }
    }
  }

  #event(e: EventFrame): void {
    const c = this.#catchUp.get(e.stream);
    if (c && e.seq > c.until) {
      c.held.push(e);
      return;
    }
    this.#deliver(e);
    if (c && e.seq >= c.until) this.#release(e.stream);
  }

  #deliver(e: EventFrame): void {
    const p = this.#positions.get(e.stream);
    if (p && p.epoch === e.epoch && e.seq <= p.seq) return;
    this.#positions.set(e.stream, { epoch: e.epoch, seq: e.seq });
    this.#emit("event", e);
  }

  #release(stream: string): void {
    const c = this.#catchUp.get(stream);
    if (!c) return;
    clearTimeout(c.timer);
    this.#catchUp.delete(stream);
    for (const e of c.held) this.#deliver(e);
  }
}

/** The `StyxError` of an error frame (status 0: not HTTP), with its `details` (e.g. `retry_after_ms`, SPEC §12). */
function frameError(f: Record<string, unknown>): StyxError {
  const e = (f.error ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
  return new StyxError(
    0,
    String(e.code ?? f.code ?? "STYX_ERROR"),
    String(e.message ?? f.message ?? ""),
    undefined,
    e.details ?? f.details,
  );
}
