/**
 * V8's sampling CPU profiler in another process (a `styx serve` child started with
 * `--inspect=127.0.0.1:0`), driven over the inspector's WebSocket (the Chrome DevTools
 * Protocol): the profile `node --cpu-prof` would take, but started and stopped around each
 * measured phase instead of the process's whole life. Summed by bench/lib/cpu-profile.ts.
 */
import WebSocket from "ws";
import type { CpuProfile } from "./cpu-profile.js";

/** The node flag that makes a child listen for the profiler on a port of its choosing (printed on stderr). */
export const INSPECT_ARG = "--inspect=127.0.0.1:0";

/** A connected profiler of one process. */
export interface RemoteProfiler {
  /** Starts sampling every `intervalUs` µs (V8's default for --cpu-prof: 1000). */
  start(intervalUs?: number): Promise<void>;
  /** Stops sampling and returns the profile since `start`. */
  stop(): Promise<CpuProfile>;
  /** Disconnects; call it before stopping the process (an inspected process waits at exit for its debugger). */
  close(): void;
}

/** The inspector's WebSocket URL from a child's output ("Debugger listening on ws://…"), waiting up to 10 s for it. */
async function inspectorUrl(output: () => string): Promise<string> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    const m = /Debugger listening on (ws:\/\/\S+)/.exec(output());
    if (m?.[1]) return m[1];
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no "Debugger listening on" in the process's output:\n${output().slice(0, 2000)}`);
}

/** Connects to the inspector of the process whose stdout+stderr `output()` returns (started with INSPECT_ARG). */
export async function attachProfiler(output: () => string): Promise<RemoteProfiler> {
  const ws = new WebSocket(await inspectorUrl(output), { perMessageDeflate: false, maxPayload: 1 << 30 });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  ws.on("message", (data) => {
    const m = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const p = m.id === undefined ? undefined : pending.get(m.id);
    if (!p || m.id === undefined) return; // an event (none is enabled but the profiler's own)
    pending.delete(m.id);
    if (m.error) p.reject(new Error(m.error.message));
    else p.resolve(m.result);
  });
  ws.on("close", () => {
    for (const p of pending.values()) p.reject(new Error("inspector connection closed"));
    pending.clear();
  });
  const post = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await post("Profiler.enable");
  return {
    async start(intervalUs = 1000) {
      await post("Profiler.setSamplingInterval", { interval: intervalUs });
      await post("Profiler.start");
    },
    async stop() {
      return (await post<{ profile: CpuProfile }>("Profiler.stop")).profile;
    },
    close() {
      ws.close();
    },
  };
}
