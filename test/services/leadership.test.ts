import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { openPostgres, type PgSql } from "../../src/adapters/postgres/database.js";
import { dropClusters, newCluster, SERVICES } from "../../src/testing/services.js";

interface Run {
  pid: number;
  started_at: Date;
  ended_at: Date | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function worker(cluster: string): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "test/services/fixtures/leader-worker.mts", SERVICES.databaseUrl, cluster], {
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** Fails if any two recorded runs overlap in time (PostgreSQL's clock for all of them). */
function assertNoOverlap(runs: readonly Run[]): void {
  const sorted = [...runs].sort((a, b) => a.started_at.getTime() - b.started_at.getTime());
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Run;
    const cur = sorted[i] as Run;
    if (prev.ended_at === null) continue; // killed mid-run: the check below covers takeover timing
    assert.ok(
      cur.started_at.getTime() >= prev.ended_at.getTime(),
      `run of ${cur.pid} at ${cur.started_at.toISOString()} overlaps run of ${prev.pid} ending ${prev.ended_at.toISOString()}`,
    );
  }
}

describe("Background tasks under a PostgreSQL leader lease", () => {
  const cluster = newCluster();
  let sql: PgSql;
  const workers: ChildProcess[] = [];

  before(async () => {
    sql = openPostgres(SERVICES.databaseUrl, { schema: cluster, max: 2 });
    await sql`CREATE SCHEMA ${sql(cluster)}`;
    await sql`CREATE TABLE task_runs (id serial PRIMARY KEY, pid integer NOT NULL, started_at timestamptz NOT NULL, ended_at timestamptz)`;
  });

  after(async () => {
    for (const w of workers) w.kill("SIGKILL");
    await sql.end();
    await dropClusters((c) => c === cluster);
  });

  it("runs on exactly one of three processes at a time, and another takes over after kill -9 of the leader", async () => {
    for (let i = 0; i < 3; i++) workers.push(worker(cluster));
    // Until 20 runs are in (the workers start at their own pace on a busy machine).
    let first: Run[] = [];
    for (const until = Date.now() + 30_000; first.length < 20 && Date.now() < until; await sleep(200)) {
      first = await sql<Run[]>`SELECT pid, started_at, ended_at FROM task_runs ORDER BY id`;
    }
    assert.ok(first.length >= 20, `only ${first.length} runs within 30 s at a 100 ms period`);
    await sleep(1000); // every worker is up by now: the others had their chance to run too
    first = await sql<Run[]>`SELECT pid, started_at, ended_at FROM task_runs ORDER BY id`;
    const leaders = new Set(first.map((r) => r.pid));
    assert.equal(leaders.size, 1, `runs came from ${leaders.size} processes: ${[...leaders].join(", ")}`);
    assertNoOverlap(first);

    const leader = [...leaders][0] as number;
    const killedAt = Date.now();
    process.kill(leader, "SIGKILL");
    let takeover: Run | undefined;
    while (!takeover && Date.now() - killedAt < 30_000) {
      await sleep(100);
      [takeover] = await sql<Run[]>`SELECT pid, started_at, ended_at FROM task_runs WHERE pid <> ${leader} ORDER BY id LIMIT 1`;
    }
    assert.ok(takeover, "no process took the tasks over within 30 s of kill -9 of the leader");
    const tookMs = takeover.started_at.getTime() - killedAt;
    assert.ok(tookMs < 30_000, `takeover took ${tookMs} ms`);
    await sleep(1500);
    const all = await sql<Run[]>`SELECT pid, started_at, ended_at FROM task_runs ORDER BY id`;
    const afterKill = new Set(all.filter((r) => r.pid !== leader).map((r) => r.pid));
    assert.equal(afterKill.size, 1, `after the kill, runs came from ${afterKill.size} processes`);
    assertNoOverlap(all);
    console.log(`# takeover ${tookMs} ms after kill -9; ${all.length} runs, none overlapping`);
  });
});
