import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { connect } from "node:net";

/** A local service the fault tests stop and start (the machine's own, at its standard port). */
export type ServiceName = "postgres" | "nats" | "redis";

const PORTS: Record<ServiceName, number> = { postgres: 5432, nats: 4222, redis: 6379 };

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port, timeout: 500 });
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

async function waitFor(port: number, up: boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await listening(port)) !== up) {
    if (Date.now() > until) throw new Error(`port ${port} still ${up ? "closed" : "open"} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
}

/**
 * Stops a service gracefully (PostgreSQL fast shutdown, Redis SHUTDOWN NOSAVE — it keeps
 * nothing on disk here —, NATS SIGTERM, which flushes JetStream) and waits until its port is
 * closed. The start commands are the machine's own (see the env notes).
 */
export async function stopService(name: ServiceName): Promise<void> {
  if (name === "postgres") run("pg_ctlcluster", ["--skip-systemctl-redirect", pgVersion(), "main", "stop", "-m", "fast"]);
  if (name === "redis") run("redis-cli", ["-p", "6379", "shutdown", "nosave"]);
  if (name === "nats") run("start-stop-daemon", ["--stop", "--oknodo", "--retry", "TERM/15/KILL/5", "--exec", "/usr/sbin/nats-server"]);
  await waitFor(PORTS[name], false, 30_000);
}

/** Starts a service the way the machine starts it and waits until its port answers. */
export async function startService(name: ServiceName): Promise<void> {
  if (name === "postgres") run("pg_ctlcluster", ["--skip-systemctl-redirect", pgVersion(), "main", "start"]);
  if (name === "redis") {
    run("redis-server", [
      "--daemonize",
      "yes",
      "--bind",
      "127.0.0.1",
      "-::1",
      "--port",
      "6379",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      "/var/lib/redis",
      "--logfile",
      "/var/log/redis/ci.log",
    ]);
  }
  if (name === "nats") {
    run("start-stop-daemon", [
      "--start",
      "--oknodo",
      "--background",
      "--exec",
      "/usr/sbin/nats-server",
      "--",
      "-a",
      "127.0.0.1",
      "-p",
      "4222",
      "-js",
      "-sd",
      "/var/lib/nats-server",
      "-l",
      "/var/log/nats-server.log",
    ]);
  }
  await waitFor(PORTS[name], true, 60_000);
}

function pgVersion(): string {
  const [v] = readdirSync("/etc/postgresql");
  if (!v) throw new Error("no PostgreSQL cluster under /etc/postgresql");
  return v;
}
