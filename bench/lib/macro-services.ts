/**
 * What bench/macro.ts asks the machine's shared services directly: database-wide commits and
 * Redis calls by command around a phase, samples of the gateways' PostgreSQL connections during
 * one, and one-at-a-time round trips to each service.
 */
import type { Redis } from "ioredis";
import type postgres from "postgres";
import { SERVICES } from "../../src/testing/services.js";
import { ms, pct } from "./common.js";
import { localPortsTo } from "./service-cpu.js";

/**
 * Every 20 ms until `stop()`: what each PostgreSQL connection of `gatewayPids` is doing
 * (pg_stat_activity state and wait event), counted; "idle in transaction / ClientRead" is a
 * transaction waiting for the gateway's next statement.
 */
export function sampleWaits(sql: postgres.Sql, gatewayPids: readonly number[]): { stop(): Promise<Record<string, number>> } {
  const counts: Record<string, number> = {};
  let running = true;
  const loop = (async () => {
    let ports: number[] = [];
    for (let i = 0; running; i++) {
      if (i % 25 === 0) ports = gatewayPids.flatMap((p) => [...localPortsTo(p, 5432)]);
      const rows = await sql<{ s: string }[]>`
        SELECT coalesce(state, '?') || ' / ' || coalesce(wait_event_type || ':' || wait_event, 'running') AS s
        FROM pg_stat_activity WHERE client_port = ANY(${ports}::int[])`;
      for (const r of rows) counts[r.s] = (counts[r.s] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return counts;
    },
  };
}

/** Database-wide PostgreSQL commits and Redis calls by command. */
export interface Counters {
  readonly commits: number;
  readonly byCmd: Record<string, number>;
}

/** Database-wide commits and Redis commands so far (shared with every other client of the services). */
export async function serviceCounters(sql: postgres.Sql, redis: Redis): Promise<Counters> {
  const [row] = await sql<{ c: string }[]>`SELECT xact_commit::text AS c FROM pg_stat_database WHERE datname = current_database()`;
  const byCmd: Record<string, number> = {};
  for (const m of (await redis.info("commandstats")).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) byCmd[m[1] as string] = Number(m[2]);
  return { commits: Number(row?.c), byCmd };
}

/** What `b` counts beyond `a` (commands that did not run left out). */
export function countersDelta(a: Counters, b: Counters): Counters {
  const byCmd: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.byCmd)) if (v - (a.byCmd[k] ?? 0) > 0) byCmd[k] = v - (a.byCmd[k] ?? 0);
  return { commits: b.commits - a.commits, byCmd };
}

/** The NATS server's version and one-at-a-time round trips (ms) to each service from this process. */
export async function serviceFloors(sql: postgres.Sql, redis: Redis, schema: string): Promise<{ natsVersion: string; rows: string[][] }> {
  const { connect } = await import("@nats-io/transport-node");
  const nc = await connect({ servers: SERVICES.natsUrl });
  const n = 500;
  const time = async (f: () => Promise<unknown>) => {
    for (let i = 0; i < 20; i++) await f();
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await f();
      lat.push(performance.now() - t);
    }
    return [ms(pct(lat, 0.5), 3), ms(pct(lat, 0.99), 3)];
  };
  try {
    await sql`CREATE TABLE ${sql(schema)}.bench_rtt (id bigserial PRIMARY KEY, v text)`;
    return {
      natsVersion: nc.info?.version ?? "?",
      rows: [
        ["PostgreSQL `SELECT 1`", ...(await time(() => sql`SELECT 1`))],
        [
          "PostgreSQL `INSERT` of one row, autocommit (a durable commit)",
          ...(await time(() => sql`INSERT INTO ${sql(schema)}.bench_rtt (v) VALUES ('x')`)),
        ],
        ["Redis `PING`", ...(await time(() => redis.ping()))],
        ["NATS round trip (`PING`/`PONG`)", ...(await time(() => nc.rtt()))],
      ],
    };
  } finally {
    await nc.close();
  }
}
