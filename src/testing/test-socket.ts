import WebSocket from "ws";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON frames
type Frame = any;

/** A WebSocket client for tests: keeps every frame (batches flattened), waits for frames and the close. */
export class TestSocket {
  readonly ws: WebSocket;
  /** Every frame received, parsed, in arrival order (a batch frame adds each of its events). */
  readonly frames: Frame[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /**
   * Pings received from the server, counted from the socket's creation: a ping that came in the
   * same packet as the upgrade's answer is emitted before `open`'s promise continues.
   */
  pings = 0;
  readonly #waiters = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    this.closed = new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on("ping", () => this.pings++);
    ws.on("message", (data) => {
      const v = JSON.parse(data.toString());
      if (Array.isArray(v)) this.frames.push(...v);
      else this.frames.push(v);
      for (const w of this.#waiters) w();
    });
    ws.once("close", () => {
      for (const w of this.#waiters) w();
    });
  }

  /**
   * Connects to `/v1/styx/ws` of `baseUrl` (http URL); `token` goes in the Authorization header
   * unless `query`; `headers` are added to the upgrade request (e.g. X-Forwarded-For).
   */
  static open(
    baseUrl: string,
    opts: { token?: string; query?: boolean; autoPong?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestSocket> {
    const ws = TestSocket.#client(baseUrl, opts);
    const sock = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(sock));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
  }

  /** Sends an upgrade that must be refused; resolves with the HTTP answer (rejects when the socket opens). */
  static refusal(
    baseUrl: string,
    opts: { token?: string; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: Frame }> {
    const ws = TestSocket.#client(baseUrl, opts);
    return new Promise((resolve, reject) => {
      ws.once("open", () => {
        ws.terminate();
        reject(new Error("the upgrade was admitted"));
      });
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: body ? JSON.parse(body) : undefined }));
        res.on("error", reject);
      });
    });
  }

  static #client(
    baseUrl: string,
    opts: { token?: string; query?: boolean; autoPong?: boolean; headers?: Record<string, string> },
  ): WebSocket {
    const url = `${baseUrl.replace(/^http/, "ws")}/v1/styx/ws${opts.token && opts.query ? `?token=${encodeURIComponent(opts.token)}` : ""}`;
    const headers: Record<string, string> = {
      ...opts.headers,
      ...(opts.token && !opts.query ? { authorization: `Bearer ${opts.token}` } : {}),
    };
    return new WebSocket(url, { headers, autoPong: opts.autoPong ?? true, maxPayload: 2 * 1024 * 1024 });
  }

  /** Opens an authenticated socket and waits for its `welcome`. */
  static async connect(baseUrl: string, token: string): Promise<{ sock: TestSocket; welcome: Frame }> {
    const sock = await TestSocket.open(baseUrl, { token });
    const welcome = await sock.next((f) => f.type === "welcome");
    return { sock, welcome };
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** Event frames received so far (those with a `stream`), optionally of one stream. */
  events(stream?: string): Frame[] {
    return this.frames.filter((f) => f.stream !== undefined && f.seq !== undefined && (stream === undefined || f.stream === stream));
  }

  /** The first frame (from `from`) matching `pred`, waiting up to `timeoutMs`. */
  next(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    return this.until(() => this.frames.slice(from).find(pred), timeoutMs);
  }

  /** Waits until `check` returns a value other than undefined/false. */
  until<T>(check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      const tryNow = () => {
        const v = check();
        if (v !== undefined && v !== false) {
          cleanup();
          resolve(v);
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          cleanup();
          reject(new Error(`socket closed while waiting (${this.frames.length} frames; last ${JSON.stringify(this.frames.at(-1))})`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms (${this.frames.length} frames; last ${JSON.stringify(this.frames.at(-1))})`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(tryNow);
      };
      this.#waiters.add(tryNow);
      tryNow();
    });
  }

  /** Sends `msg` with a fresh `id` and waits for the frame answering it (ack, error, or the named reply type). */
  async request(msg: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = `r${++TestSocket.#ids}`;
    const from = this.frames.length;
    this.send({ ...msg, id });
    return this.next((f) => f.id === id && f.type !== undefined, timeoutMs, from);
  }

  static #ids = 0;

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}
