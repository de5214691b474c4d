/**
 * CPU time of a macronode's processes on this machine, from /proc: the gateway processes, the
 * PostgreSQL backends serving them (found by the client ports of the gateways' own TCP
 * connections to 5432), PostgreSQL's shared processes (postmaster, walwriter, checkpointer, …),
 * nats-server and redis-server. Service processes are shared with any other client of the
 * machine's services, so their share is an upper bound for one cluster.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { procCpuMs } from "./fabric.js";

/** The groups a sample is split into. */
export const CPU_GROUPS = ["gateways", "pgBackends", "pgShared", "nats", "redis"] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

/** CPU ms so far per process, by group. */
export type CpuSample = Record<CpuGroup, Map<number, number>>;

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};

const cpuOf = (pid: number): number | undefined => {
  try {
    return procCpuMs(pid);
  } catch {
    return undefined; // gone
  }
};

/** Local ports of `pid`'s TCP connections whose remote port is `remotePort`. */
export function localPortsTo(pid: number, remotePort: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of (read(table) ?? "").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, remote, inode] = [f[1], f[2], f[9]];
      if (!local || !remote || !inode || !inodes.has(inode)) continue;
      if (Number.parseInt(remote.slice(remote.lastIndexOf(":") + 1), 16) !== remotePort) continue;
      ports.add(Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16));
    }
  }
  return ports;
}

/** Every process of the machine named `comm`, with its command line. */
function processesNamed(names: readonly string[]): { pid: number; comm: string; cmdline: string }[] {
  const out: { pid: number; comm: string; cmdline: string }[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const comm = read(`/proc/${d}/comm`)?.trim();
    if (!comm || !names.includes(comm)) continue;
    out.push({ pid: Number(d), comm, cmdline: (read(`/proc/${d}/cmdline`) ?? "").replaceAll("\0", " ") });
  }
  return out;
}

/** CPU so far of `gatewayPids` and of the service processes, grouped. */
export function sampleCpu(gatewayPids: readonly number[], pgPort = 5432): CpuSample {
  const s: CpuSample = { gateways: new Map(), pgBackends: new Map(), pgShared: new Map(), nats: new Map(), redis: new Map() };
  const mine = new Set<number>();
  for (const pid of gatewayPids) {
    const c = cpuOf(pid);
    if (c !== undefined) s.gateways.set(pid, c);
    for (const p of localPortsTo(pid, pgPort)) mine.add(p);
  }
  for (const p of processesNamed(["postgres", "nats-server", "redis-server"])) {
    const c = cpuOf(p.pid);
    if (c === undefined) continue;
    if (p.comm === "nats-server") s.nats.set(p.pid, c);
    else if (p.comm === "redis-server") s.redis.set(p.pid, c);
    else {
      // A backend's title ends "… <user> <db> 127.0.0.1(<client port>) <state>".
      const port = /\((\d+)\)/.exec(p.cmdline)?.[1];
      if (port === undefined) s.pgShared.set(p.pid, c);
      else if (mine.has(Number(port))) s.pgBackends.set(p.pid, c);
    }
  }
  return s;
}

/** CPU ms spent per group between two samples (a process first seen in `after` counts from its start). */
export function cpuDelta(before: CpuSample, after: CpuSample): Record<CpuGroup, number> {
  const out = {} as Record<CpuGroup, number>;
  for (const g of CPU_GROUPS) {
    let sum = 0;
    for (const [pid, ms] of after[g]) sum += ms - (before[g].get(pid) ?? 0);
    out[g] = sum;
  }
  return out;
}
