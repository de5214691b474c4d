import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SECRET_KEY_FILE } from "../../src/app/secret-key.js";
import { golemSourceHash, newSecretKeyText, SecretKey, userSourceHash } from "../../src/core/platform/secret-key.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

/** One row of the dump: its table and every value as text. */
interface DumpedRow {
  readonly table: string;
  readonly text: string;
}

/** Every row of every table of the server's own database (the SQLite file or the cluster's PostgreSQL schema). */
async function dumpStore(s: TestServer): Promise<DumpedRow[]> {
  const tables: string[] =
    s.profile === "macro"
      ? (await s.sql("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()")).map((r) => r.name)
      : (await s.sql("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r) => r.name);
  const rows: DumpedRow[] = [];
  for (const table of tables) {
    for (const row of await s.sql(`SELECT * FROM "${table}"`)) {
      const text = Object.values(row as Record<string, unknown>)
        .map((v) => (v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : typeof v === "object" ? JSON.stringify(v) : String(v)))
        .join("\u0000");
      rows.push({ table, text });
    }
  }
  return rows;
}

/** The hashes the public layers carry (lethe sources, depositors, causal publishers and voters), read from the rows that hold them. */
async function publicHashes(s: TestServer): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of await s.sql("SELECT sources FROM lethe_entries")) {
    for (const h of JSON.parse(r.sources) as string[]) out.add(h);
  }
  for (const r of await s.sql("SELECT source_hash FROM pheromone_sources")) out.add(r.source_hash);
  for (const r of await s.sql("SELECT source_hash FROM pheromones")) out.add(r.source_hash);
  for (const r of await s.sql("SELECT publisher_hash FROM causal_edges")) out.add(r.publisher_hash);
  for (const r of await s.sql("SELECT publisher_hash FROM causal_votes")) out.add(r.publisher_hash);
  return out;
}

describe("no row links a source hash to a golem or user (SPEC §3, §4.2 step 6)", () => {
  let s: TestServer;
  const tag = Date.now().toString(36);
  const users = [`alice-${tag}`, `bob-${tag}`, `carol-${tag}`];
  const golems: string[] = [];
  let dump: DumpedRow[];
  let hashes: Set<string>;

  before(async () => {
    s = await startTestServer({ persistent: true, env: { STYX_LETHE_DELAY: "0s-0s" } });
    const keys: string[] = [];
    for (const id of users) {
      const u = await s.user(id);
      keys.push(u.key);
      for (const n of [1, 2]) golems.push((await s.golem(u.key, { id: `${id}-g${n}` })).id);
    }
    const keyOf = (golem: string) => keys[users.findIndex((u) => golem.startsWith(`${u}-`))] as string;
    const post = async (path: string, golem: string, body: Record<string, unknown>) => {
      const r = await s.request("POST", path, { token: keyOf(golem), body: { golem_id: golem, ...body } });
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.text}`);
      return r.json;
    };
    // Lethe: the same lesson from every user (a confirmation adds a source), and one of each.
    for (const g of golems) {
      for (const content of ["Funding flips negative before cascades", `Spreads widen at the open (${g.slice(-2)})`]) {
        await post("/v1/styx/entries", g, { layer: "lethe", domain: "defi", category: "insight", confidence: 0.8, content });
      }
    }
    // Pheromones: one deposit, reinforced by golems of every user.
    for (const g of golems) {
      await post("/v1/styx/pheromone/deposit", g, { layer: "threat", class: "cascade", intensity: 0.6, domain: "defi", regime: "bear" });
    }
    // Causal: an edge published by one golem and validated by the others.
    const edge = {
      from_variable: "funding_rate",
      to_variable: "liquidations",
      direction: "negative",
      strength: 0.7,
      lag_ticks: 2,
      evidence_count: 9,
      confidence: 0.8,
      domain: "perps",
      regime: "bear",
    };
    for (const g of golems) await post("/v1/styx/causal/publish", g, edge);
    // A bloodstain that opts into lethe: its warnings become entries, pheromones and lethe copies.
    await post("/v1/styx/bloodstain", golems[1] as string, {
      generation: 0,
      death_cause: "liquidated",
      warnings: [{ domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations below 0.8 health" }],
      causal_edges: [
        { from_variable: "oi", to_variable: "liquidations", direction: "positive", strength: 0.6, domain: "perps", regime: "bear" },
      ],
      timestamp: new Date().toISOString(),
      ticks_lived: 4200,
      publish_to_lethe: true,
    });
    await s.styx.tasks.runNow("lethe-publish");
    dump = await dumpStore(s);
    hashes = await publicHashes(s);
  });
  after(() => s?.close());

  it("writes the public layers it is meant to (lethe, pheromones, causal edges), each with keyed source hashes", async () => {
    const dumped = new Set(dump.map((r) => r.table));
    for (const t of [
      "users",
      "golems",
      "entries",
      "lethe_entries",
      "pheromones",
      "causal_edges",
      "deaths",
      "audit_log",
      "source_directory",
    ])
      assert.ok(dumped.has(t), `the dump reads ${t}`);
    assert.ok(Number((await s.sql("SELECT count(*) AS n FROM lethe_entries"))[0].n) >= 2, "lethe entries published");
    const key = s.styx.secretKey.key;
    // Pheromones and causal edges count golems; lethe counts users (k-anonymity and quorum are per user).
    const known = new Set([...golems.map((g) => golemSourceHash(key, g)), ...users.map((u) => userSourceHash(key, u))]);
    assert.equal(hashes.size, golems.length + users.length, "one source hash per golem, and one per user on lethe");
    for (const h of hashes) assert.ok(known.has(h), `${h} is the keyed hash of one of the golems or users`);
  });

  it("has no row holding both a public source hash and a golem or user id", () => {
    const ids = [...users, ...golems];
    const linking = dump.filter((r) => [...hashes].some((h) => r.text.includes(h)) && ids.some((id) => r.text.includes(id)));
    assert.deepEqual(
      linking.map((r) => r.table),
      [],
      "rows that link a source hash to its golem or user",
    );
    assert.ok(
      dump.some((r) => [...hashes].some((h) => r.text.includes(h))),
      "the hashes are in the dump (the check above is not vacuous)",
    );
  });

  it("links nothing when the hashes are recomputed under a wrong key", () => {
    const wrong = SecretKey.fromBase64(newSecretKeyText());
    const guesses = [...golems.map((g) => golemSourceHash(wrong, g)), ...users.map((u) => userSourceHash(wrong, u))];
    const everything = dump.map((r) => r.text).join("\n");
    assert.deepEqual(
      guesses.filter((h) => everything.includes(h)),
      [],
    );
  });

  it("keeps STYX_SECRET_KEY and the old salt out of the database", async () => {
    const everything = dump.map((r) => r.text).join("\n");
    const key = Buffer.from(s.styx.secretKey.key.bytes);
    for (const form of [key.toString("base64"), key.toString("base64url"), key.toString("hex")]) {
      assert.ok(!everything.includes(form), "the key is in no row");
    }
    assert.ok(!everything.includes("lethe-salt"), "no lethe-salt secret");
    if (s.profile === "micro") {
      // Byte for byte, every file of the data dir but the key's own (database, WAL, blobs, secrets).
      const dir = s.dataDir as string;
      const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name !== SECRET_KEY_FILE);
      for (const f of files) {
        const bytes = readFileSync(join(f.parentPath, f.name));
        assert.equal(bytes.indexOf(key), -1, `${f.name} holds the raw key`);
        assert.equal(bytes.indexOf(key.toString("base64")), -1, `${f.name} holds the key's base64`);
      }
    }
  });

  it("keeps the directory the achievements need only sealed: golems still get credited", async () => {
    const rows = await s.sql("SELECT source_hash, sealed_golem FROM source_directory");
    assert.ok(rows.length >= 1);
    for (const r of rows) assert.ok(!golems.some((g) => r.sealed_golem.includes(g)));
    // The first depositor was confirmed by five other golems: swarm; the first publisher validated by five: prophet.
    const first = golems[0] as string;
    const ach = await s.request("GET", `/v1/styx/achievements/${first}`, { token: (await s.user()).key });
    assert.equal(ach.status, 404, "another user does not see them");
    const own = await s.sql(`SELECT code FROM achievements WHERE golem_id = '${first}' ORDER BY code`);
    assert.deepEqual(
      own.map((r) => r.code).filter((c: string) => c === "swarm" || c === "prophet"),
      ["prophet", "swarm"],
    );
  });
});
