import { dropClusters, macroEnv, newCluster, type S3Endpoint } from "./services.js";
import { type ServerProcess, spawnServer } from "./spawn.js";
import { CHILD_PATH } from "./test-env.js";

/** Admin token of the gateways a test starts. */
export const GATEWAY_ADMIN_TOKEN = "gateway-admin-token-0123456789";

/** A macronode gateway process of a test cluster, with an HTTP helper. */
export interface Gateway {
  readonly url: string;
  readonly server: ServerProcess;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  request(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; json: any; text: string }>;
  /** The value of a metric line (first sample whose line starts with `name`), or undefined. */
  metric(name: string): Promise<number | undefined>;
  /** kill -9. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `styx serve --profile macro` on a random port for `cluster` (silent logs unless `env` says otherwise). */
export async function startGateway(cluster: string, s3: S3Endpoint, env: Record<string, string> = {}): Promise<Gateway> {
  const server = await spawnServer(["--profile", "macro"], {
    env: {
      PATH: CHILD_PATH,
      ...(macroEnv(cluster, s3) as Record<string, string>),
      STYX_ADMIN_TOKEN: GATEWAY_ADMIN_TOKEN,
      STYX_LOG_LEVEL: "info",
      STYX_RATE_LIMIT: "100000/s:100000",
      STYX_IP_RATE_LIMIT: "100000/s:100000",
      ...env,
    },
  });
  const url = server.url;
  return {
    url,
    server,
    async request(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, json, text };
    },
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(name) && !l.startsWith("#"));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    },
    async kill() {
      server.proc.kill("SIGKILL");
      await server.exited;
    },
    async stop() {
      server.proc.kill("SIGTERM");
      await server.exited;
    },
  };
}

/** A cluster name and a cleanup that drops it. */
export function testCluster(): { name: string; drop(): Promise<void> } {
  const name = newCluster();
  return { name, drop: async () => void (await dropClusters((c) => c === name)) };
}
