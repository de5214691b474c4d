import { spawn } from "node:child_process";
import { createServer } from "node:net";
import WebSocket from "ws";
import { QUOTAS_OUT_OF_THE_WAY } from "./limits.js";
import { CLI, type ServerProcess } from "./spawn.js";

// biome-ignore lint/suspicious/noExplicitAny: the proofs read arbitrary JSON frames and bodies
type Json = any;

/**
 * Small clients for the proof suite (test/chaos): plain HTTP calls and a socket that keeps no
 * frames (unlike TestSocket), so a client that runs for minutes or survives a kill -9 of its
 * server costs the test process nothing and never throws an unhandled error.
 */

/** A free loopback port (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * `styx serve` as a child at log level warn, for the long and noisy runs of the proof suite:
 * spawnServer waits for the URL an info line prints and keeps every line of output, which at
 * info means two lines per request for as long as the test runs. Quotas are out of the way
 * (QUOTAS_OUT_OF_THE_WAY): the proof suite loads one user far past any tier. Here the port is chosen
 * first (or given: `opts.port`, so a process restarted on its data dir keeps its URL), readiness
 * is polled on `/v1/styx/health`, and only the last 64 KiB of output are kept.
 */
export async function spawnQuietServer(env: Record<string, string>, opts: { inspect?: boolean; port?: number } = {}): Promise<QuietServer> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const node = opts.inspect ? ["--inspect=127.0.0.1:0"] : [];
  const proc = spawn(process.execPath, [...node, CLI, "serve", "--host", "127.0.0.1", "--port", String(port)], {
    env: {
      STYX_MAX_EVENT_LOOP_LAG: "5s",
      STYX_LOG_LEVEL: "warn",
      STYX_QUOTAS: QUOTAS_OUT_OF_THE_WAY,
      STYX_UNFINISHED_CONNECTIONS_PER_IP: "100000",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 128 * 1024) out = out.slice(-64 * 1024);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  let ended: number | string | undefined;
  const exited = new Promise<number | string>((resolve) =>
    proc.on("exit", (code, signal) => {
      ended = code ?? signal ?? -1;
      resolve(ended);
    }),
  );
  const deadline = performance.now() + 20_000;
  for (;;) {
    if (ended !== undefined) throw new Error(`server exited (${ended}) before listening:\n${out}`);
    try {
      if ((await fetch(`${url}/v1/styx/health`, { signal: AbortSignal.timeout(2000) })).status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const inspectorUrl = opts.inspect ? /Debugger listening on (ws:\/\/\S+)/.exec(out)?.[1] : undefined;
  if (opts.inspect && !inspectorUrl) throw new Error(`no inspector URL in the output:\n${out}`);
  return { url, printedAdminToken: undefined, proc, output: () => out, exited, inspectorUrl };
}

/** A quiet server; `inspectorUrl` when it was started with its inspector open (loopback, a free port). */
export interface QuietServer extends ServerProcess {
  readonly inspectorUrl: string | undefined;
}

/**
 * The inspector session of a server process, for the soak: a full garbage collection on demand
 * (HeapProfiler.collectGarbage), after which V8's heap-used is the live set, and the process's
 * own memory figures. Without the forced collection heap-used mostly measures how long V8 waited
 * before its last major GC, which on a machine with memory to spare can be minutes.
 */
export class Inspector {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
  #ids = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("error", () => {});
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      const p = m.id !== undefined ? this.#pending.get(m.id) : undefined;
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(new Error(`inspector: ${JSON.stringify(m.error)}`));
      else p.resolve(m.result);
    });
    ws.once("close", () => {
      for (const p of this.#pending.values()) p.reject(new Error("inspector closed"));
      this.#pending.clear();
    });
  }

  static attach(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new Inspector(ws)));
      ws.once("error", reject);
    });
  }

  #send(method: string, params: Record<string, unknown> = {}): Promise<Json> {
    const id = ++this.#ids;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full, compacting collection of the process's main heap. */
  async collectGarbage(): Promise<void> {
    await this.#send("HeapProfiler.collectGarbage");
  }

  /** `process.memoryUsage()` of the process, in bytes. */
  async memoryUsage(): Promise<{ rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }> {
    const r = await this.#send("Runtime.evaluate", { expression: "JSON.stringify(process.memoryUsage())", returnByValue: true });
    return JSON.parse(r.result.value as string);
  }

  close(): void {
    this.#ws.close();
  }
}

/** One HTTP call: `body` objects go as JSON; never throws for a status, only for a failed connection or the timeout. */
export async function call(
  base: string,
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
  timeoutMs = 15_000,
): Promise<{ status: number; text: string; json: Json }> {
  const res = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json: Json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

/** Creates user `id` through the admin API, a read/write key for it and one golem; returns the key and golem id. */
export async function createOwner(base: string, adminToken: string, id: string): Promise<{ key: string; golemId: string }> {
  const user = await call(base, "POST", "/v1/admin/users", adminToken, { id });
  if (user.status !== 201) throw new Error(`user ${id}: ${user.status} ${user.text}`);
  const key = await call(base, "POST", `/v1/admin/users/${id}/keys`, adminToken, { name: "chaos" });
  if (key.status !== 201) throw new Error(`key for ${id}: ${key.status} ${key.text}`);
  const golem = await call(base, "POST", "/v1/styx/golems", key.json.key, {});
  if (golem.status !== 201) throw new Error(`golem for ${id}: ${golem.status} ${golem.text}`);
  return { key: key.json.key as string, golemId: golem.json.id as string };
}

/** A Prometheus sample `name` (no labels) from a `/metrics` text, or undefined. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/**
 * A WebSocket to `/v1/styx/ws` that keeps nothing: frames answering a request (same `id`) settle
 * it, every other frame (batches flattened) goes to `onFrame`. A close rejects what is pending.
 */
export class WireSocket {
  readonly ws: WebSocket;
  /** Resolves with the close code (1006 after a reset). */
  readonly closed: Promise<number>;
  onFrame: ((f: Json) => void) | undefined;
  readonly #pending = new Map<string, { resolve: (f: Json) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  #ids = 0;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on("error", () => {}); // a reset shows as the close that follows
    this.closed = new Promise((resolve) =>
      ws.once("close", (code) => {
        for (const p of this.#pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`socket closed (${code})`));
        }
        this.#pending.clear();
        resolve(code);
      }),
    );
    ws.on("message", (data) => {
      let v: Json;
      try {
        v = JSON.parse(data.toString());
      } catch {
        return;
      }
      for (const f of Array.isArray(v) ? v : [v]) {
        const p = f.id !== undefined && f.type !== undefined ? this.#pending.get(String(f.id)) : undefined;
        if (p) {
          this.#pending.delete(String(f.id));
          clearTimeout(p.timer);
          p.resolve(f);
        } else this.onFrame?.(f);
      }
    });
  }

  /**
   * Opens an authenticated socket and waits for its `welcome`; the key goes in the Authorization
   * header (default), in `?token=`, or in a first `auth` message.
   */
  static connect(
    base: string,
    token: string,
    opts: { via?: "header" | "query" | "message"; timeoutMs?: number } = {},
  ): Promise<{ sock: WireSocket; welcome: Json }> {
    const via = opts.via ?? "header";
    const query = via === "query" ? `?token=${encodeURIComponent(token)}` : "";
    const ws = new WebSocket(`${base.replace(/^http/, "ws")}/v1/styx/ws${query}`, {
      headers: via === "header" ? { authorization: `Bearer ${token}` } : {},
      maxPayload: 2 * 1024 * 1024,
    });
    const sock = new WireSocket(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error("no welcome in time"));
      }, opts.timeoutMs ?? 10_000);
      const welcomed = (f: Json) => {
        clearTimeout(timer);
        sock.onFrame = undefined;
        if (f.type === "welcome") resolve({ sock, welcome: f });
        else {
          ws.terminate();
          reject(new Error(`not welcomed: ${JSON.stringify(f)}`));
        }
      };
      if (via === "message") {
        ws.once("open", () => sock.request({ type: "auth", token }).then(welcomed, () => {}));
      } else {
        sock.onFrame = (f) => {
          if (f.type === "welcome" || f.type === "error") welcomed(f);
        };
      }
      ws.once("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
      });
      void sock.closed.then((code) => {
        clearTimeout(timer);
        reject(new Error(`closed (${code}) before the welcome`));
      });
    });
  }

  /** A socket that is open but never authenticates (the server closes it after its auth timeout). */
  static anonymous(base: string): WireSocket {
    return new WireSocket(new WebSocket(`${base.replace(/^http/, "ws")}/v1/styx/ws`));
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(msg: unknown): void {
    if (this.open) this.ws.send(JSON.stringify(msg));
  }

  /** Sends `msg` with a fresh id; resolves with the frame answering it (ack, error or the reply), rejects on close or timeout. */
  request(msg: Record<string, unknown>, timeoutMs = 15_000): Promise<Json> {
    const id = `q${++this.#ids}`;
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(new Error("socket not open"));
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`no answer to ${String(msg.type)} in ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /** Requests not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** A clean close (1000); resolves when closed. */
  close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
    return this.closed;
  }

  /** An abrupt end: the TCP connection is destroyed without a close frame. */
  terminate(): Promise<number> {
    this.ws.terminate();
    return this.closed;
  }
}
