import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { DATABASE_FILE } from "../../src/app/storage.js";
import { displayForm } from "../../src/core/privacy/normalize.js";
import { FEDERATION_ADMIN, FederationNode, federateKey, federationTenant, linkEnv, until } from "../../src/testing/federation-pair.js";
import {
  type CorpusCase,
  type CorpusIdentities,
  corpusCases,
  encodedForms,
  findLeaks,
  KNOWN_MISSES,
  OutputText,
  structuralForms,
} from "../../src/testing/privacy-corpus.js";
import { corpusMetadata, createCorpusIdentities, inBatches, corpusTag as tag } from "../../src/testing/privacy-identities.js";
import { startTestServer, type TestResponse, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * Issue 20, acceptance 2 (SPEC §17.4 item 4): on D, linked to U with every flow up for `defi`,
 * user A (several golems, keys, wallets, a wallet session) writes vault and clade entries with
 * unique markers and every privacy-corpus case into every public field that federates (lethe
 * content, regime and metadata; pheromone class, regime and metadata; causal variables and
 * regime). Once D's outbox is empty, everything of U — every row of every table of its SQLite
 * file, the file's bytes, every other file of its data dir (blobs), its whole debug log, the
 * frames of an admin socket following federation:defi and of a user socket on domain:defi — is
 * searched: no marker and no identifier of D's tenants (raw, hex, base64) may show, and the
 * corpus leaks are within the privacy corpus test's KNOWN_MISSES. U is a micronode process
 * (its data dir is read after it stops); D runs in this process on the test profile.
 * Letters-only (weak) golem ids are left to the corpus cases: the corpus test lets one through by
 * policy (other-tenant-id-2, a known miss).
 */

const DOMAIN = "defi";

describe("privacy across a federation link: what D's tenants write is found nowhere on U", { timeout: 600_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "styx-fedpriv-"));
  let U: FederationNode;
  let D: TestServer;
  let cases: CorpusCase[] = [];
  let ids: CorpusIdentities;
  const markers: string[] = [];
  /** Everything of U, as texts to search (a row, a file, a log line, a frame). */
  const seen: { surface: string; text: string }[] = [];
  /** U's SQLite file, raw (for the identifiers and markers only: binary pages are noise to the corpus forms). */
  let dbBytes = "";
  const counts = { letheRows: 0, pheromoneRows: 0, causalRows: 0, federationFrames: 0, domainFrames: 0 };
  /** The same rows on D (public facts of defi, its own and U's). */
  const onD = { letheRows: 0, pheromoneRows: 0, causalRows: 0 };

  before(
    async () => {
      U = await FederationNode.create("U", "micro", join(root, "u"), { STYX_LOG_LEVEL: "debug" });
      await U.start();
      const key = await federateKey(U, "d-styx");
      const reader = await federationTenant(U, "ub");
      const watch = (await TestSocket.connect(U.url, FEDERATION_ADMIN)).sock;
      assert.equal((await watch.request({ type: "subscribe", federation: [DOMAIN] })).type, "subscribed");
      const user = (await TestSocket.connect(U.url, reader.key)).sock;
      assert.equal((await user.request({ type: "subscribe", domains: [DOMAIN], public: true })).type, "subscribed");

      D = await startTestServer({
        persistent: true,
        env: { STYX_LETHE_DELAY: "0s-1s", STYX_LETHE_K: "1", ...linkEnv(U, key) },
      });
      const created = await createCorpusIdentities(D);
      ids = created.corpus;
      cases = corpusCases(ids);
      const a = created.a;
      await until(
        "D's link connected",
        async () => (await D.request("GET", "/v1/admin/federation", { token: D.adminToken })).json.upstream?.state === "connected",
      );

      const ok = (what: string, r: TestResponse) => assert.ok(r.status < 500, `${what}: ${r.status} ${r.text.slice(0, 300)}`);
      // Private knowledge: vault and clade entries of every golem of A, each with its own marker.
      for (const golem of ids.writer.golemIds) {
        for (const layer of ["vault", "clade"]) {
          const marker = `${layer}marker${randomBytes(6).toString("hex")}`;
          markers.push(marker);
          const body = {
            golem_id: golem,
            layer,
            domain: DOMAIN,
            category: "insight",
            confidence: 0.9,
            content: `private ${marker} of ${golem}`,
          };
          const r = await D.request("POST", "/v1/styx/entries", { token: a.key, body });
          assert.equal(r.status, 201, r.text);
        }
      }
      // Lethe content and metadata: batches.
      const entries = cases.flatMap((c, i) => [
        { content: `corpus ${tag(i)} ${c.text} noted` },
        { content: `corpus metadata ${tag(i)}`, metadata: corpusMetadata(c) },
      ]);
      for (let i = 0; i < entries.length; i += 200) {
        const batch = entries
          .slice(i, i + 200)
          .map((e) => ({ golem_id: a.writer, layer: "lethe", category: "insight", confidence: 0.8, domain: DOMAIN, ...e }));
        const r = await D.request("POST", "/v1/styx/entries/batch", { token: a.key, body: { entries: batch } });
        assert.equal(r.status, 201, r.text.slice(0, 500));
      }
      // Structural fields: one request per form (a refusal refuses the whole object).
      const probes = cases.flatMap((c, i) => structuralForms(c.text).map(({ value }, k) => ({ c, value, t: `${tag(i)}${"xyz"[k]}` })));
      await inBatches(probes, async ({ c, value, t }) => {
        const as = (path: string, body: Record<string, unknown>) =>
          D.request("POST", path, { token: a.key, body: { golem_id: a.writer, ...body } });
        const entry = { layer: "lethe", category: "insight", confidence: 0.8, domain: DOMAIN, content: `corpus probe ${t}` };
        ok(c.id, await as("/v1/styx/entries", { ...entry, regime: value }));
        const deposit = { layer: "wisdom", intensity: 0.9, domain: DOMAIN };
        ok(c.id, await as("/v1/styx/pheromone/deposit", { ...deposit, class: value, regime: "calm" }));
        ok(c.id, await as("/v1/styx/pheromone/deposit", { ...deposit, class: `probe-${t}`, regime: value }));
        const edge = {
          from_variable: `from-${t}`,
          to_variable: `to-${t}`,
          direction: "positive",
          strength: 0.7,
          lag_ticks: 3,
          evidence_count: 5,
          confidence: 0.8,
          domain: DOMAIN,
          regime: "calm",
        };
        ok(c.id, await as("/v1/styx/causal/publish", { ...edge, from_variable: value }));
        ok(c.id, await as("/v1/styx/causal/publish", { ...edge, to_variable: value }));
        ok(c.id, await as("/v1/styx/causal/publish", { ...edge, regime: value }));
      });
      // Pheromone metadata: allow-listed keys and one that is not.
      await inBatches(
        cases.map((c, i) => ({ c, i })),
        async ({ c, i }) => {
          const body = {
            golem_id: a.writer,
            layer: "opportunity",
            class: `meta-${tag(i)}`,
            intensity: 0.9,
            domain: DOMAIN,
            regime: "calm",
          };
          const r = await D.request("POST", "/v1/styx/pheromone/deposit", { token: a.key, body: { ...body, metadata: corpusMetadata(c) } });
          assert.equal(r.status, 201, r.text);
        },
      );

      // Lethe published on D now, then D's outbox drained into U (each push applied before it is answered).
      await new Promise((r) => setTimeout(r, 1200));
      await D.styx.tasks.runNow("lethe-publish");
      const depth = async () => (await D.request("GET", "/v1/admin/federation", { token: D.adminToken })).json.upstream.outbox_depth;
      await until("D's outbox empty", async () => (await depth()) === 0, 180_000);
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(await depth(), 0);
      const countOnD = async (table: string) => Number((await D.sql(`SELECT count(*) AS n FROM ${table} WHERE domain = '${DOMAIN}'`))[0].n);
      onD.letheRows = await countOnD("lethe_entries");
      onD.pheromoneRows = await countOnD("pheromones");
      onD.causalRows = await countOnD("causal_edges");

      // The sockets: wait until their frames stop arriving.
      for (const [sock, surface] of [
        [watch, "socket federation:defi (admin)"],
        [user, "socket domain:defi (user)"],
      ] as const) {
        let last = -1;
        for (let i = 0; i < 50 && sock.frames.length !== last; i++) {
          last = sock.frames.length;
          await new Promise((r) => setTimeout(r, 200));
        }
        for (const f of sock.frames) seen.push({ surface, text: JSON.stringify(expand(f)) });
        await sock.close();
      }
      counts.federationFrames = watch.frames.filter((f) => f.stream === `federation:${DOMAIN}`).length;
      counts.domainFrames = user.frames.filter((f) => f.stream === `domain:${DOMAIN}`).length;

      // U stopped: its log, its SQLite file (every row of every table, and the raw bytes), its other files.
      const server = U.server;
      await U.stop();
      for (const line of server?.output().split("\n") ?? []) if (line.trim()) seen.push({ surface: "log", text: line });
      const file = join(U.dataDir, DATABASE_FILE);
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        for (const table of tables) {
          for (const row of db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]) {
            seen.push({ surface: `row ${table}`, text: JSON.stringify(expand(row)) });
          }
        }
        counts.letheRows = db.prepare("SELECT count(*) FROM lethe_entries WHERE domain = ?").pluck().get(DOMAIN) as number;
        counts.pheromoneRows = db.prepare("SELECT count(*) FROM pheromones WHERE domain = ?").pluck().get(DOMAIN) as number;
        counts.causalRows = db.prepare("SELECT count(*) FROM causal_edges WHERE domain = ?").pluck().get(DOMAIN) as number;
      } finally {
        db.close();
      }
      for (const f of readdirSync(U.dataDir, { recursive: true, withFileTypes: true })) {
        if (!f.isFile()) continue;
        const path = join(f.parentPath, f.name);
        if (path.startsWith(file)) dbBytes += readFileSync(path, "latin1");
        else seen.push({ surface: `file ${path.slice(U.dataDir.length + 1)}`, text: readFileSync(path, "utf8") });
      }
    },
    { timeout: 580_000 },
  );

  after(async () => {
    await D?.close();
    await U?.destroy();
    rmSync(root, { recursive: true, force: true });
  });

  it("really carried D's writes to U (the test is not vacuous)", () => {
    assert.ok(cases.length >= 150, `${cases.length} cases`);
    // Every public fact of defi on D crossed: U holds as many (it has none of its own).
    const onU = { letheRows: counts.letheRows, pheromoneRows: counts.pheromoneRows, causalRows: counts.causalRows };
    assert.deepEqual(onU, onD);
    assert.ok(onD.letheRows >= 2 * cases.length && onD.pheromoneRows >= cases.length && onD.causalRows >= 100, JSON.stringify(onD));
    assert.ok(counts.federationFrames >= cases.length, `the admin socket got ${counts.federationFrames} federation frames`);
    assert.ok(counts.domainFrames >= cases.length, `the user socket got ${counts.domainFrames} domain frames`);
    assert.ok(
      seen.some((s) => s.surface === "log" && s.text.includes('"level":20')),
      "U's log has debug lines",
    );
  });

  it("shows nowhere on U a vault or clade marker, or an id, key, wallet or session of D's tenants (raw, hex, base64)", () => {
    const tenants = [ids.writer, ...ids.others];
    const identifiers = [
      ...markers,
      ...tenants.flatMap((t) => [t.userId, ...t.golemIds, ...t.keyIds, ...t.keyBodies, ...t.wallets, ...t.sessionIds]),
    ];
    // Raw and hex: in any case. Base64: as written (lower-cased, its case carried half the bits and it
    // cannot be decoded back: the corpus test's known misses base64-*@token, asserted below).
    const anyCase = identifiers.flatMap((id) => [id, encodedForms(id).hex]);
    const asWritten = identifiers.flatMap((id) => [encodedForms(id).base64, encodedForms(id).base64url]);
    const shown: string[] = [];
    for (const { surface, text } of [...seen, { surface: "SQLite file bytes", text: dbBytes }]) {
      const out = new OutputText(text);
      const show = (s: string) => shown.push(`${surface}: ${s} in ${JSON.stringify(out.excerpt(s).slice(0, 200))}`);
      for (const s of anyCase) if (out.shows(s)) show(s);
      for (const s of asWritten) if (text.includes(s)) show(s);
    }
    assert.deepEqual(shown, []);
  });

  it("shows on U no secret of a corpus case but for the privacy corpus test's known misses", () => {
    const found = new Set<string>();
    const outputs = seen.map((x) => ({ ...x, out: new OutputText(x.text) }));
    const detail: string[] = [];
    for (const [i, c] of cases.entries()) {
      const mark = `corpus ${tag(i)} `;
      const forms = structuralForms(c.text).map((f) => ({ form: f.form, value: displayForm(f.value).toLowerCase() }));
      for (const { surface, out } of outputs) {
        // A leak is the case's own: free text carries the case's tag; a structural value equals one of the case's forms.
        const form = forms.find((f) => out.values.has(f.value));
        const key = out.raw.includes(mark) ? `${c.id}@text` : form ? `${c.id}@${form.form}` : undefined;
        if (!key) continue;
        const leaks = findLeaks(out, c);
        if (leaks.length === 0) continue;
        found.add(key);
        if (!KNOWN_MISSES.includes(key))
          detail.push(`${key} on ${surface}: ${JSON.stringify(out.excerpt(leaks[0] as string).slice(0, 200))}`);
      }
    }
    if (process.env.STYX_CORPUS_REPORT) console.log(`known misses seen on U: ${[...found].sort().join(" ")}`);
    assert.deepEqual(detail, []);
    assert.deepEqual(
      [...found].filter((k) => !KNOWN_MISSES.includes(k)),
      [],
    );
  });
});

/** A row or frame with its JSON-text values parsed and its binary values read as text (so nested values are values). */
function expand(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.from(v).toString("latin1");
  if (typeof v === "string" && /^[[{]/.test(v)) {
    try {
      return expand(JSON.parse(v));
    } catch {
      return v;
    }
  }
  if (Array.isArray(v)) return v.map(expand);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expand(x)]));
  return v;
}
