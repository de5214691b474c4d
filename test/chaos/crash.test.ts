import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { DATABASE_FILE } from "../../src/app/storage.js";
import { call, createOwner, spawnQuietServer, WireSocket } from "../../src/testing/chaos-kit.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import type { ServerProcess } from "../../src/testing/spawn.js";

/**
 * Proof: kill -9 of a micronode during a write load loses no acknowledged write.
 *
 * A real `styx serve` child runs over one data dir. Each round drives entry writes (single and
 * batch, over HTTP) and golem events (over sockets, each acked with its seq) concurrently,
 * records everything the server acknowledged, and SIGKILLs the process at a random moment while
 * the load runs. The server is restarted on the same data dir and every acknowledgement so far
 * is checked: each acked entry id is in the golem's snapshot with the content written, and each
 * acked event is in the user stream's history (a resume from seq 0 with the epoch of the first
 * run) at exactly the seq it was acked with, the history having no holes. Every acked write of
 * layer lethe queued its anonymized copy (one user: below STYX_LETHE_K, so it waits, unpublished):
 * after each kill the file holds at least as many queued copies, each with its text. Requests in
 * flight at the kill may fail or succeed unseen; they were not acked and do not count.
 */

const ROUNDS = 3;
const ADMIN = "chaos-crash-admin-token-0123456789abcdef";
const HTTP_WRITERS = 6;
const BATCH = 16;
const SOCKETS = 3;
/** Events a socket keeps in flight (unacked). */
const WINDOW = 32;
/** Acks of each kind a round waits for before the kill can come (the load must be running). */
const MIN_ACKS = 100;

interface Acked {
  /** Entry id → content. */
  readonly entries: Map<string, string>;
  /** Event seq → its marker. */
  readonly events: Map<number, string>;
  /** Ids of acked entries whose answer queued a lethe copy (waiting for k writers: it stays queued). */
  readonly lethe: Set<string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("kill -9 under a write load", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "styx-chaos-crash-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = {
    STYX_DATA_DIR: dataDir,
    STYX_ADMIN_TOKEN: ADMIN,
    STYX_RATE_LIMIT: "1000000/s:1000000",
    STYX_IP_RATE_LIMIT: "1000000/s:1000000",
  };

  it("finds every acknowledged entry and event after each restart", { timeout: 240_000 }, async () => {
    const acked: Acked = { entries: new Map(), events: new Map(), lethe: new Set() };
    let unackedFailures = 0;
    let kills = 0;
    let server = await spawnQuietServer(env);
    let owner: { key: string; golemId: string };
    let epoch: string;
    const stream = "user:chaos";
    try {
      owner = await createOwner(server.url, ADMIN, "chaos");
      const first = await WireSocket.connect(server.url, owner.key);
      epoch = first.welcome.streams[stream].epoch as string;
      assert.ok(epoch, `the welcome names the user stream's epoch: ${JSON.stringify(first.welcome)}`);
      await first.sock.close();

      for (let round = 0; round < ROUNDS; round++) {
        if (round > 0) {
          server = await spawnQuietServer(env);
          await verify(server, owner, stream, epoch, acked);
        }
        const before = { entries: acked.entries.size, events: acked.events.size };
        const load = startLoad(server.url, owner, round, acked);
        const started = performance.now();
        while (
          (acked.entries.size - before.entries < MIN_ACKS || acked.events.size - before.events < MIN_ACKS) &&
          performance.now() - started < 30_000
        ) {
          await sleep(20);
        }
        assert.ok(
          acked.entries.size - before.entries >= MIN_ACKS && acked.events.size - before.events >= MIN_ACKS,
          `round ${round}: the load runs (${acked.entries.size - before.entries} entries, ${acked.events.size - before.events} events acked in 30 s)\n${server.output().slice(-2000)}`,
        );
        const delay = Math.round(Math.random() * 2000);
        await sleep(delay);
        server.proc.kill("SIGKILL");
        assert.equal(await server.exited, "SIGKILL", "the server died of the kill");
        kills++;
        checkLetheQueue(dataDir, acked);
        unackedFailures += await load.stop();
        console.log(
          `# round ${round}: killed ${delay} ms after the load reached ${MIN_ACKS} acks; ` +
            `${acked.entries.size - before.entries} entries and ${acked.events.size - before.events} events acked this round`,
        );
      }

      server = await spawnQuietServer(env);
      const found = await verify(server, owner, stream, epoch, acked);
      reportFigures("crash (kill -9 under writes)", {
        kills,
        "writes acknowledged": acked.entries.size,
        "writes found": found.entries,
        "events acknowledged": acked.events.size,
        "events found": found.events,
        "in-flight requests failed at the kills": unackedFailures,
      });
      server.proc.kill("SIGTERM");
      assert.equal(await server.exited, 0, "a clean stop after the last restart");
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) {
        server.proc.kill("SIGKILL");
        await server.exited;
      }
    }
  });
});

/** Starts the concurrent load; `stop()` (after the kill) waits for every writer to end and returns the requests that failed. */
function startLoad(base: string, owner: { key: string; golemId: string }, round: number, acked: Acked): { stop(): Promise<number> } {
  let stopped = false;
  let failed = 0;
  const entry = (tag: string) => ({
    golem_id: owner.golemId,
    layer: tag.endsWith("0") ? "clade" : tag.endsWith("1") ? "lethe" : "vault",
    category: "insight",
    confidence: 0.7,
    domain: "perps",
    content: `chaos entry ${tag} ${Math.random().toString(36).slice(2)}`,
  });
  const ack = (id: string, body: { layer: string; content: string }, answer: { lethe?: string; lethe_at?: string }) => {
    acked.entries.set(id, body.content);
    if (body.layer === "lethe" && (answer.lethe === "waiting" || answer.lethe_at !== undefined)) acked.lethe.add(id);
  };

  const single = async (w: number) => {
    for (let i = 0; !stopped; i++) {
      const body = entry(`r${round}w${w}n${i}`);
      try {
        const r = await call(base, "POST", "/v1/styx/entries", owner.key, body);
        if (r.status === 201) ack(r.json.id, body, r.json);
        else failed++;
      } catch {
        failed++;
        return; // the server is gone
      }
    }
  };
  const batch = async () => {
    for (let i = 0; !stopped; i++) {
      const entries = Array.from({ length: BATCH }, (_, j) => entry(`r${round}b${i}e${j}`));
      try {
        const r = await call(base, "POST", "/v1/styx/entries/batch", owner.key, { entries });
        if (r.status === 201 || r.status === 200) {
          r.json.results.forEach((res: { id: string; lethe?: string; lethe_at?: string }, j: number) => {
            ack(res.id, entries[j] as { layer: string; content: string }, res);
          });
        } else failed++;
      } catch {
        failed++;
        return;
      }
    }
  };
  const relay = async (s: number) => {
    let sock: WireSocket;
    try {
      sock = (await WireSocket.connect(base, owner.key)).sock;
    } catch {
      return;
    }
    let n = 0;
    // Keeps WINDOW events in flight until the socket dies with the server.
    await new Promise<void>((done) => {
      let inFlight = 0;
      const pump = () => {
        while (!stopped && sock.open && inFlight < WINDOW) {
          const marker = `r${round}s${s}n${n++}`;
          inFlight++;
          sock.request({ type: "event", golem_id: owner.golemId, event: { type: "golem:chaos", marker } }, 30_000).then(
            (f) => {
              inFlight--;
              if (f.type === "ack") acked.events.set(f.seq as number, marker);
              else failed++;
              pump();
            },
            () => {
              inFlight--;
              failed++;
              if (inFlight === 0) done();
            },
          );
        }
        if (inFlight === 0) done();
      };
      pump();
    });
    await sock.close();
  };

  const all = Promise.all([
    ...Array.from({ length: HTTP_WRITERS }, (_, w) => single(w)),
    batch(),
    ...Array.from({ length: SOCKETS }, (_, s) => relay(s)),
  ]);
  return {
    async stop() {
      stopped = true;
      await all;
      return failed;
    },
  };
}

/**
 * After a kill, before the restart: the file holds a queued lethe copy, with its text, for every
 * acked lethe write (none publishes: one user is below STYX_LETHE_K). Unacked writes may add more.
 */
function checkLetheQueue(dataDir: string, acked: Acked): void {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const queued = db.prepare("SELECT count(*) FROM lethe_queue").pluck(true).get() as number;
    const published = db.prepare("SELECT count(*) FROM lethe_entries").pluck(true).get() as number;
    const textless = db.prepare("SELECT count(*) FROM lethe_queue WHERE coalesce(content, json_extract(payload, '$.content')) IS NULL");
    assert.ok(acked.lethe.size > 0, "the load made lethe writes");
    assert.equal(published, 0, "below k, nothing was published");
    assert.ok(queued >= acked.lethe.size, `${queued} queued lethe copies for ${acked.lethe.size} acked lethe writes`);
    assert.equal(textless.pluck(true).get(), 0, "every queued copy has its text");
  } finally {
    db.close();
  }
}

/** Checks every acknowledgement against the restarted server; returns how many of each were found. */
async function verify(
  server: ServerProcess,
  owner: { key: string; golemId: string },
  stream: string,
  epoch: string,
  acked: Acked,
): Promise<{ entries: number; events: number }> {
  const snap = await call(server.url, "GET", `/v1/styx/snapshot/${owner.golemId}`, owner.key, undefined, 60_000);
  assert.equal(snap.status, 200, snap.text.slice(0, 500));
  const stored = new Map<string, string>();
  for (const line of snap.text.split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line) as { id: string; content: string };
    assert.ok(!stored.has(e.id), `entry ${e.id} appears once in the snapshot`);
    stored.set(e.id, e.content);
  }
  const missingEntries = [...acked.entries].filter(([id, content]) => stored.get(id) !== content);
  assert.equal(
    missingEntries.length,
    0,
    `${missingEntries.length} of ${acked.entries.size} acked entries missing or changed, e.g. ${JSON.stringify(missingEntries.slice(0, 3))}`,
  );

  const { sock } = await WireSocket.connect(server.url, owner.key);
  const history = new Map<number, string>();
  sock.onFrame = (f) => {
    if (f.stream === stream && f.seq !== undefined) history.set(f.seq as number, f.payload?.marker as string);
  };
  const resumed = await sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 0 } } }, 30_000);
  const r = resumed.streams?.[stream];
  assert.equal(r?.recovered, true, `the history replays from seq 0 with the first run's epoch: ${JSON.stringify(resumed)}`);
  const last = r.seq as number;
  const t0 = performance.now();
  while (history.size < last && performance.now() - t0 < 60_000) await sleep(20);
  await sock.close();
  assert.equal(history.size, last, `the replay delivered seqs 1..${last} (${history.size} arrived)`);
  for (let seq = 1; seq <= last; seq++) assert.ok(history.has(seq), `no hole in the history at seq ${seq}`);
  const missingEvents = [...acked.events].filter(([seq, marker]) => history.get(seq) !== marker);
  assert.equal(
    missingEvents.length,
    0,
    `${missingEvents.length} of ${acked.events.size} acked events missing or replaced, e.g. ${JSON.stringify(
      missingEvents.slice(0, 3).map(([seq, m]) => ({ seq, acked: m, stored: history.get(seq) })),
    )}`,
  );
  return {
    entries: [...acked.entries.keys()].filter((id) => stored.has(id)).length,
    events: [...acked.events.keys()].filter((seq) => history.has(seq)).length,
  };
}
