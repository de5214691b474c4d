import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StyxClient } from "@styx/client";
import { golemStream, userStream } from "../../src/core/fabric/streams.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";

const OCTETS = { "content-type": "application/octet-stream" };

/** Every row of the server's database (but the audit log) that names `needle`, as `table: row`. */
async function rowsNaming(s: TestServer, needle: string): Promise<string[]> {
  const tables: { name: string }[] =
    s.profile === "micro"
      ? await s.sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '%_fts%'")
      : await s.sql("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()");
  const found: string[] = [];
  for (const { name } of tables) {
    if (name === "audit_log") continue;
    for (const row of await s.sql(`SELECT * FROM "${name}"`)) {
      const text = JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? "" : v));
      if (text.includes(needle)) found.push(`${name}: ${text.slice(0, 200)}`);
    }
  }
  return found;
}

describe("erasure and export (SPEC §3)", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ persistent: true, env: { STYX_LETHE_K: "1" } });
  });
  after(() => s.close());

  const write = async (token: string, body: Record<string, unknown>) => {
    const r = await s.request("POST", "/v1/styx/entries", {
      token,
      body: { layer: "vault", category: "insight", content: "a lesson", ...body },
    });
    assert.equal(r.status, 201, r.text);
    return r.json.id as string;
  };
  const finish = async (token: string, path: string) => {
    await s.styx.tasks.runNow("erasure");
    const r = await s.request("GET", path, { token });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.state, "done", r.text);
    return r.json;
  };

  it("refuses a golem credential (403) and another user's golem (404)", async () => {
    const a = await s.user("er-a");
    const b = await s.user("er-b");
    await s.golem(a.key, { id: "er-a-g" });
    const bound = await s.request("POST", `/v1/admin/users/${a.id}/keys`, { token: s.adminToken, body: { name: "g", golem_id: "er-a-g" } });
    const byGolem = await s.request("DELETE", "/v1/styx/golems/er-a-g", { token: bound.json.key });
    assert.equal(byGolem.status, 403);
    assert.equal(byGolem.json.error.code, "STYX_AUTH_FORBIDDEN");
    assert.equal((await s.request("GET", "/v1/styx/export", { token: bound.json.key })).status, 403);
    const other = await s.request("DELETE", "/v1/styx/golems/er-a-g", { token: b.key });
    assert.equal(other.status, 404);
    assert.equal((await s.request("DELETE", "/v1/admin/users/er-a", { token: a.key })).status, 403, "a user key on an admin route");
    assert.equal((await s.request("DELETE", "/v1/admin/users/nobody-here", { token: s.adminToken })).status, 404);
    assert.equal((await s.request("GET", "/v1/styx/golems/er-a-g", { token: a.key })).status, 200, "nothing was erased");
  });

  it("erases a golem: entries, its sole blob, key, stream history, presence; a sibling keeps its own; 404 afterwards", async () => {
    const u = await s.user("er-owner");
    await s.golem(u.key, { id: "er-gone" });
    await s.golem(u.key, { id: "er-kept" });
    const bound = await s.request("POST", `/v1/admin/users/${u.id}/keys`, {
      token: s.adminToken,
      body: { name: "g", golem_id: "er-gone" },
    });
    const sole = await s.request("PUT", "/v1/styx/blobs", { token: u.key, raw: "only the erased golem names me", headers: OCTETS });
    const shared = await s.request("PUT", "/v1/styx/blobs", { token: u.key, raw: "both golems name me", headers: OCTETS });
    const gone = [
      await write(u.key, { golem_id: "er-gone", content: "vault note of er-gone" }),
      await write(u.key, { golem_id: "er-gone", layer: "clade", confidence: 0.9, content: "clade note", content_blob: sole.json.cid }),
      await write(bound.json.key, { golem_id: "er-gone", content: "shared blob", content_blob: shared.json.cid }),
    ];
    const kept = await write(u.key, { golem_id: "er-kept", content: "the sibling's note", content_blob: shared.json.cid });
    const steer = await s.request("POST", "/v1/styx/golem/er-gone/steer", { token: u.key, body: { intent: "hold" } });
    assert.ok(steer.status < 300, steer.text);
    await s.styx.fabric.flush();
    assert.ok((await s.styx.fabric.history.position(golemStream("er-gone"))).seq > 0, "the golem's stream has history");

    const asked = await s.request("DELETE", "/v1/styx/golems/er-gone", { token: u.key });
    assert.equal(asked.status, 202, asked.text);
    assert.equal(asked.json.kind, "golem");
    assert.deepEqual(asked.json.keeps, ["anonymized_lethe_copies", "anonymized_death_record", "audit_records"]);
    const again = await s.request("DELETE", "/v1/styx/golems/er-gone", { token: u.key });
    assert.ok(again.status === 202 || again.status === 404, again.text);
    if (again.status === 202) assert.equal(again.json.id, asked.json.id, "asked twice while running: one job");
    const done = await finish(u.key, `/v1/styx/erasures/${asked.json.id}`);
    assert.equal(done.step, done.steps.length);

    assert.equal((await s.request("GET", "/v1/styx/golems/er-gone", { token: u.key })).status, 404);
    for (const id of gone) assert.equal((await s.request("GET", `/v1/styx/entries/${id}`, { token: u.key })).status, 404);
    assert.equal((await s.request("GET", `/v1/styx/entries/${kept}`, { token: u.key })).status, 200);
    assert.equal((await s.request("GET", "/v1/styx/me", { token: bound.json.key })).status, 401, "its key is revoked");
    assert.equal((await s.request("GET", `/v1/styx/blobs/${sole.json.cid}`, { token: u.key })).status, 404, "its sole blob is gone");
    assert.equal(
      (await s.request("GET", `/v1/styx/blobs/${shared.json.cid}`, { token: u.key })).status,
      200,
      "a blob a sibling names stays",
    );
    assert.equal((await s.styx.fabric.history.position(golemStream("er-gone"))).seq, 0, "its stream history is gone");
    const listed = await s.request("GET", "/v1/styx/entries?golem_id=er-kept", { token: u.key });
    assert.equal(listed.json.entries.length, 1);
    assert.deepEqual(await rowsNaming(s, "er-gone"), []);
    const other = await s.user("er-stranger");
    assert.equal((await s.request("GET", `/v1/styx/erasures/${asked.json.id}`, { token: other.key })).status, 404, "a job is its asker's");
  });

  it("keeps a dead golem's death record, anonymized, in the owner's graveyard", async () => {
    const u = await s.user("er-mourner");
    await s.golem(u.key, { id: "er-dead" });
    const died = await s.request("POST", "/v1/styx/bloodstain", {
      token: u.key,
      body: {
        golem_id: "er-dead",
        generation: 0,
        death_cause: "liquidated",
        death_testament_excerpt: "er-dead says goodbye",
        warnings: [{ domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations" }],
        timestamp: new Date().toISOString(),
      },
    });
    assert.equal(died.status, 201, died.text);
    const asked = await s.request("DELETE", "/v1/styx/golems/er-dead", { token: u.key });
    assert.equal(asked.status, 202, asked.text);
    await finish(u.key, `/v1/styx/erasures/${asked.json.id}`);
    const graves = await s.request("GET", `/v1/styx/graveyard/${u.id}`, { token: u.key });
    assert.equal(graves.status, 200, graves.text);
    const [grave] = graves.json.golems;
    assert.ok(grave, graves.text);
    assert.match(grave.golem_id, /^erased-[0-9a-f]{24}$/);
    assert.equal(grave.death_cause, "liquidated");
    assert.equal(grave.testament_excerpt, null);
    assert.deepEqual(await rowsNaming(s, "er-dead"), []);
  });

  it("exports everything of the owner as NDJSON with a type per line and no secret or hash", async () => {
    const u = await s.user("er-exporter");
    await s.golem(u.key, { id: "er-x-g" });
    for (let i = 0; i < 3; i++) await write(u.key, { golem_id: "er-x-g", content: `export me ${i}` });
    await s.request("PUT", "/v1/styx/blobs", { token: u.key, raw: "exported blob", headers: OCTETS });
    const r = await s.request("GET", "/v1/styx/export", { token: u.key });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get("content-type") ?? "", /application\/x-ndjson/);
    const lines = r.text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const count = (type: string) => lines.filter((l) => l.type === type).length;
    assert.equal(lines[0]?.type, "user");
    assert.equal(count("golem"), 1);
    assert.equal(count("entry"), 3);
    assert.equal(count("api_key"), 1);
    assert.equal(count("blob"), 1);
    assert.ok(!/key_hash|token_hash|styx_[A-Za-z0-9_-]{40}/.test(r.text), "no secret or hash");
    assert.ok(lines.every((l) => typeof l.type === "string"));
  });

  it("erases a user (admin): keys revoked, golems, entries, blobs, streams; the admin sees the job done", async () => {
    const u = await s.user("er-leaver");
    await s.golem(u.key, { id: "er-leaver-g" });
    const blob = await s.request("PUT", "/v1/styx/blobs", { token: u.key, raw: "never referenced by an entry", headers: OCTETS });
    await write(u.key, { golem_id: "er-leaver-g", content: "the leaver's note", content_blob: blob.json.cid });
    await s.request("POST", "/v1/styx/golem/er-leaver-g/steer", { token: u.key, body: { intent: "hold" } });
    // Relay credit (put through the store's port: this Styx is unpriced) and a key's spend limit go too.
    await s.styx.storage.credit?.add(u.id, 5000, 0, Date.now());
    const limit = await s.request("PATCH", `/v1/admin/keys/${u.keyId}`, {
      token: s.adminToken,
      body: { spend_limit: { per_day_usd: "1" } },
    });
    assert.equal(limit.status, 200, limit.text);
    await s.styx.fabric.flush();
    const asked = await s.request("DELETE", `/v1/admin/users/${u.id}`, { token: s.adminToken });
    assert.equal(asked.status, 202, asked.text);
    assert.equal(asked.json.kind, "user");
    await finish(s.adminToken, `/v1/admin/erasures/${asked.json.id}`);
    assert.equal((await s.request("GET", "/v1/styx/me", { token: u.key })).status, 401);
    assert.equal((await s.request("GET", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken })).status, 404);
    assert.equal((await s.styx.fabric.history.position(userStream(u.id))).seq, 0);
    assert.equal((await s.styx.fabric.history.position(golemStream("er-leaver-g"))).seq, 0);
    assert.equal(await s.styx.storage.blobs.stat(u.id, blob.json.cid), undefined);
    assert.deepEqual(await rowsNaming(s, "er-leaver"), []);
    assert.deepEqual(await s.sql(`SELECT key_id FROM key_spend_limits WHERE key_id = '${u.keyId}'`), []);
  });
  it("is reachable from @styx/client: eraseGolem, erasure, exportData", async () => {
    const u = await s.user("er-sdk");
    await s.golem(u.key, { id: "er-sdk-g" });
    const client = new StyxClient({ url: s.url, token: u.key });
    const lines = (await client.exportData()).trimEnd().split("\n");
    assert.ok(lines.some((l) => JSON.parse(l).type === "golem"));
    const job = await client.eraseGolem("er-sdk-g");
    assert.equal(job.kind, "golem");
    await s.styx.tasks.runNow("erasure");
    assert.equal((await client.erasure(job.id)).state, "done");
    const admin = new StyxClient({ url: s.url, token: s.adminToken });
    assert.equal((await admin.adminErasure(job.id)).state, "done");
  });
});

describe("erasure without a store on disk (amnesia on the micro profile)", () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  it("erases a golem and then its user: 404 and 401 afterwards, blobs released", async () => {
    const u = await s.user("am-user");
    await s.golem(u.key, { id: "am-g" });
    const blob = await s.request("PUT", "/v1/styx/blobs", { token: u.key, raw: "in RAM", headers: OCTETS });
    const w = await s.request("POST", "/v1/styx/entries", {
      token: u.key,
      body: { golem_id: "am-g", layer: "vault", category: "insight", content: "in RAM", content_blob: blob.json.cid },
    });
    assert.equal(w.status, 201, w.text);
    const g = await s.request("DELETE", "/v1/styx/golems/am-g", { token: u.key });
    assert.equal(g.status, 202, g.text);
    await s.styx.tasks.runNow("erasure");
    assert.equal((await s.request("GET", `/v1/styx/erasures/${g.json.id}`, { token: u.key })).json.state, "done");
    assert.equal((await s.request("GET", `/v1/styx/entries/${w.json.id}`, { token: u.key })).status, 404);
    assert.equal((await s.request("GET", `/v1/styx/blobs/${blob.json.cid}`, { token: u.key })).status, 404);
    const user = await s.request("DELETE", "/v1/admin/users/am-user", { token: s.adminToken });
    assert.equal(user.status, 202, user.text);
    await s.styx.tasks.runNow("erasure");
    assert.equal((await s.request("GET", `/v1/admin/erasures/${user.json.id}`, { token: s.adminToken })).json.state, "done");
    assert.equal((await s.request("GET", "/v1/styx/me", { token: u.key })).status, 401);
  });
});
