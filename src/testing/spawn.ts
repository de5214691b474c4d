import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Config } from "../config/load.js";
import { CHILD_PATH } from "./test-env.js";

/** The compiled CLI entry (tests that spawn processes run what `npm start` runs). */
export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** Runs `styx <args>` to completion with exactly `opts.env` (the child needs no PATH: it is `node` by absolute path). */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: opts.cwd,
    env: { ...opts.env },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The environment a CLI (`backup`, `audit verify`, …) needs to reach the store of the server configured by `config`. */
export function storeEnv(config: Config): Record<string, string> {
  const env: Record<string, string> = {
    PATH: CHILD_PATH,
    STYX_LOG_LEVEL: "warn",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
  };
  if (config.profile === "micro") return { ...env, STYX_DATA_DIR: config.dataDir };
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) env[k] = v;
  };
  set("STYX_PROFILE", "macro");
  set("STYX_CLUSTER", config.cluster);
  set("STYX_SECRET_KEY", config.secretKey);
  set("STYX_DATABASE_URL", config.databaseUrl);
  set("STYX_NATS_URL", config.natsUrl);
  set("STYX_REDIS_URL", config.redisUrl);
  set("STYX_S3_ENDPOINT", config.s3.endpoint);
  set("STYX_S3_BUCKET", config.s3.bucket);
  set("STYX_S3_ACCESS_KEY_ID", config.s3.accessKeyId);
  set("STYX_S3_SECRET_ACCESS_KEY", config.s3.secretAccessKey);
  return env;
}

/**
 * `runCli` without blocking this process: for a CLI that talks to a server living in the test
 * process itself (the in-process S3 server cannot answer while spawnSync waits).
 */
export function runCliAsync(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: { ...opts.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (d) => {
      stdout += d;
    });
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A `styx serve` child process that has logged its URL. */
export interface ServerProcess {
  readonly url: string;
  /** The admin token printed at start (when it was generated), else undefined. */
  readonly printedAdminToken: string | undefined;
  readonly proc: ChildProcess;
  /** Everything written so far to stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** A `styx serve` child started by spawnServer, which keeps all of its output. */
export interface SpawnedServer extends ServerProcess {
  /**
   * Resolves once the output matches `pattern` (a log line the test waits for instead of
   * sleeping: on a loaded machine no fixed delay is long enough); rejects with the output after
   * `timeoutMs` or when the process exits first.
   */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** How long a spawned server may take to listen (or a test to wait for a line of its output). */
const START_DEADLINE_MS = 60_000;

/** Spawns `styx serve <args>` with exactly `env` (plus PATH) and waits until it listens. */
export async function spawnServer(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<SpawnedServer> {
  const proc = spawn(process.execPath, [CLI, "serve", "--host", "127.0.0.1", "--port", "0", ...args], {
    cwd: opts.cwd,
    // Parallel test files load the 2 cores: shed load only on real stalls, as startTestServer does.
    env: { STYX_MAX_EVENT_LOOP_LAG: "5s", ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (d) => {
    out += d;
  });
  proc.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    // A server that did not start in time is killed: a failed test leaves no process behind. The
    // deadline is not a measure of startup: a cold start loads ~4 s of modules on an idle core of
    // this 2-core CI machine and took 11-15 s (Node 20 and 24 alike) while other test files and
    // jobs kept both cores busy, so 15 s failed tests that had nothing wrong.
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`server did not start within ${START_DEADLINE_MS} ms:\n${out}`));
    }, START_DEADLINE_MS);
    const check = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before listening:\n${out}`));
    });
  });
  const token = /Admin token[^\n]*\n\s+(styx_[A-Za-z0-9_-]+)/.exec(out)?.[1];
  const waitForOutput = (pattern: RegExp, timeoutMs = START_DEADLINE_MS) =>
    new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        proc.stdout?.off("data", check);
        proc.stderr?.off("data", check);
        if (err) reject(err);
        else resolve();
      };
      const check = () => {
        if (pattern.test(out)) done();
      };
      const timer = setTimeout(() => done(new Error(`no output matched ${pattern} within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      proc.stdout?.on("data", check);
      proc.stderr?.on("data", check);
      void exited.then((code) => {
        if (!pattern.test(out)) done(new Error(`server exited (${code}) before its output matched ${pattern}:\n${out}`));
      });
      check();
    });
  return { url, printedAdminToken: token, proc, output: () => out, waitForOutput, exited };
}
