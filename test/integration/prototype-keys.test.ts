import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestResponse, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * Issue 16 item 7: client strings named like members of Object.prototype. Every field that
 * becomes a key somewhere (a count, a map, an answer object) gets each of these names; a name a
 * field's pattern refuses must get a clean 400 (never a 500), and afterwards every public and
 * admin view answers 200 with sane JSON. Before the fix a heartbeat regime `constructor` made the
 * fleet aggregate count into Object's constructor, and the view answered 500.
 */
const NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "__defineGetter__", "valueOf"] as const;
/** The names an identifier, causal variable or pheromone class may be (a letter or digit first). */
const ID_NAMES = ["constructor", "toString", "hasOwnProperty", "valueOf"] as const;
/** The names a domain may be (lowercase, a letter or digit first). */
const DOMAIN = "constructor";
const DIM = 8;

/** A unit-ish test vector. */
const vec = (i: number) => Array.from({ length: DIM }, (_, j) => (j === i % DIM ? 1 : 0.1));

/** Whether `r` is a clean refusal of client input: 400 with one of `codes`. */
function refused(r: TestResponse, codes: readonly string[], what: string): void {
  assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
  assert.ok(codes.includes(r.json?.error?.code), `${what}: ${r.text}`);
}

/** Whether `r` answered 2xx with a JSON body; returns it. */
function ok(r: TestResponse, what: string, status = 200) {
  assert.equal(r.status, status, `${what}: ${r.status} ${r.text}`);
  assert.ok(r.json !== undefined && typeof r.json === "object", `${what}: not JSON: ${r.text.slice(0, 200)}`);
  return r.json;
}

/** An answer object's entries as a Map (a parsed `__proto__` key is an own property, read with Object.entries). */
const entriesOf = (o: object) => new Map(Object.entries(o));

describe("client strings named like Object.prototype members", () => {
  let s: TestServer;
  /** The user whose fields carry the names (its own ids are not names, so the public pipeline does not refuse them as its identifiers). */
  let writer: { id: string; key: string };
  /** Golems of the writer: one per name. */
  const wg = NAMES.map((_, i) => `pk-g${i}`);
  /** Users whose ids are names, each with a golem whose id is a name. */
  const named: { id: string; key: string; golem: string }[] = [];

  before(async () => {
    s = await startTestServer({ env: { STYX_EMBED_DIM: String(DIM), STYX_LETHE_K: "1", STYX_LETHE_DELAY: "0s-0s" } });
    writer = await s.user("pk-writer");
    for (const g of wg) await s.golem(writer.key, { id: g, archetype: "constructor" });
  });
  after(() => s?.close());

  it("takes the names as user, golem and key ids where the id pattern allows, and refuses the others with 400", async () => {
    for (const name of NAMES) {
      const u = await s.request("POST", "/v1/admin/users", { token: s.adminToken, body: { id: name } });
      if (!(ID_NAMES as readonly string[]).includes(name)) {
        refused(u, ["STYX_VALIDATION", "STYX_BAD_JSON"], `user ${name}`);
        continue;
      }
      ok(u, `user ${name}`, 201);
      const k = ok(await s.request("POST", `/v1/admin/users/${name}/keys`, { token: s.adminToken, body: { name } }), `key ${name}`, 201);
      named.push({ id: name, key: k.key, golem: name });
    }
    assert.equal(named.length, ID_NAMES.length);
    // Golem ids are names too (of another user than the one of that name), each the parent of the next: a lineage of names.
    for (const [i, u] of named.entries()) {
      const owner = named[(i + 1) % named.length] as { key: string };
      ok(
        await s.request("POST", "/v1/styx/golems", { token: owner.key, body: { id: u.golem, archetype: NAMES[i] } }),
        `golem ${u.golem}`,
        201,
      );
    }
    const lineageOwner = named[0] as { key: string };
    const chain = ["pk-child-a", "pk-child-b"];
    ok(
      await s.request("POST", "/v1/styx/golems", { token: lineageOwner.key, body: { id: chain[0], parent_golem_id: named.at(-1)?.golem } }),
      "child of a named golem",
      201,
    );
    ok(
      await s.request("POST", "/v1/styx/golems", { token: lineageOwner.key, body: { id: chain[1], parent_golem_id: chain[0] } }),
      "grandchild",
      201,
    );
    for (const name of NAMES.filter((n) => !(ID_NAMES as readonly string[]).includes(n))) {
      refused(await s.request("POST", "/v1/styx/golems", { token: writer.key, body: { id: name } }), ["STYX_VALIDATION"], `golem ${name}`);
    }
  });

  it("counts heartbeat phases and regimes named like prototype members, and refuses such domains with a clean error frame", async () => {
    const w = await TestSocket.connect(s.url, writer.key);
    for (const [i, name] of NAMES.entries()) {
      const good = await w.sock.request({
        type: "heartbeat",
        golem_id: wg[i],
        phase: name,
        regime: name,
        emotion: name,
        domains: [DOMAIN],
        vitality: 0.5,
        tick: i,
      });
      assert.equal(good.type, "ack", JSON.stringify(good));
      if (name !== DOMAIN) {
        const bad = await w.sock.request({ type: "heartbeat", golem_id: wg[i], domains: [name] });
        assert.equal(bad.type, "error", JSON.stringify(bad));
        assert.equal(bad.code, "STYX_VALIDATION");
      }
    }
    for (const u of named) {
      const sock = await TestSocket.connect(s.url, (named[(named.indexOf(u) + 1) % named.length] as { key: string }).key);
      const r = await sock.sock.request({ type: "heartbeat", golem_id: u.golem, phase: u.id, regime: u.id, domains: [DOMAIN] });
      assert.equal(r.type, "ack", JSON.stringify(r));
      await sock.sock.close();
    }
    await w.sock.close();
  });

  it("relays socket events, steers and clade deltas whose types and fields are the names", async () => {
    const w = await TestSocket.connect(s.url, writer.key);
    for (const name of NAMES) {
      const fields = Object.fromEntries(NAMES.map((n) => [n, name]));
      // Raw JSON: `__proto__` is a plain key of the frame, as any client may send it.
      const frame = `{"type":"event","golem_id":"${wg[0]}","id":"e-${name}","event":{"type":"golem:${name.toLowerCase()}",${JSON.stringify(fields).slice(1, -1)}}}`;
      const from = w.sock.frames.length;
      w.sock.send(frame);
      const ack = await w.sock.next((f) => f.id === `e-${name}`, 5000, from);
      assert.equal(ack.type, "ack", JSON.stringify(ack));
      const steer = await w.sock.request({ type: "steer", golem_id: wg[1], intent: name });
      assert.equal(steer.type, "ack", JSON.stringify(steer));
      ok(await s.request("POST", `/v1/styx/golem/${wg[1]}/steer`, { token: writer.key, body: { intent: name } }), `steer ${name}`);
    }
    const delta = `{"type":"clade_delta","golem_id":"${wg[0]}","id":"d1","entries":[{"__proto__":{"polluted":true},"constructor":1,"toString":"x","hasOwnProperty":[],"valueOf":null}]}`;
    const from = w.sock.frames.length;
    w.sock.send(delta);
    assert.equal((await w.sock.next((f) => f.id === "d1", 5000, from)).type, "ack");
    const sub = await w.sock.request({ type: "subscribe", domains: [DOMAIN], categories: ["constructor", "tostring", "valueof"] });
    assert.equal(sub.type, "subscribed", JSON.stringify(sub));
    for (const bad of [
      { type: "subscribe", categories: ["__proto__"] },
      { type: "subscribe", domains: ["__proto__"] },
      { type: "resume", streams: JSON.parse('{"__proto__":{"epoch":"e","seq":0}}') },
      { type: "resume", streams: { constructor: { epoch: "e", seq: 0 } } },
    ]) {
      const r = await w.sock.request(bad);
      assert.equal(r.type, "error", JSON.stringify(r));
      assert.equal(r.code, "STYX_VALIDATION", JSON.stringify(r));
    }
    // A frame's type is looked up among the message types: a name of Object.prototype is an unknown type.
    for (const name of NAMES) {
      const r = await w.sock.request({ type: name });
      assert.equal(r.type, "error", JSON.stringify(r));
      assert.equal(r.code, "STYX_VALIDATION", JSON.stringify(r));
    }
    const resumed = await w.sock.request({ type: "resume", streams: { [`domain:${DOMAIN}`]: { epoch: "e", seq: 0 } } });
    assert.equal(resumed.type, "resumed", JSON.stringify(resumed));
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined, "nothing reached Object.prototype");
    await w.sock.close();
  });

  it("deposits pheromones with the names as domain, regime and class where publishable, refusing the rest with 400", async () => {
    const deposit = (body: Record<string, unknown>) =>
      s.request("POST", "/v1/styx/pheromone/deposit", {
        token: writer.key,
        body: { golem_id: wg[0], layer: "threat", class: "rug", intensity: 0.8, domain: DOMAIN, regime: "bull", ...body },
      });
    for (const name of NAMES) {
      const asDomain = await deposit({ domain: name });
      if (name === DOMAIN) ok(asDomain, "domain constructor", 201);
      else refused(asDomain, ["STYX_VALIDATION"], `domain ${name}`);
      const asRegime = await deposit({ regime: name, layer: "opportunity" });
      if (name.startsWith("__")) refused(asRegime, ["STYX_NOT_PUBLISHABLE"], `regime ${name}`);
      else ok(asRegime, `regime ${name}`, 201);
      const asClass = await deposit({ class: name, layer: "wisdom" });
      if (name.startsWith("__")) refused(asClass, ["STYX_VALIDATION"], `class ${name}`);
      else ok(asClass, `class ${name}`, 201);
    }
    const metadata = Object.fromEntries([...ID_NAMES.map((n) => [n, n]), ["tags", [...NAMES]], ["asset", "constructor"]]);
    ok(await deposit({ metadata }), "metadata keys named like prototype members", 201);
    // Fastify refuses a `__proto__` key in any JSON body (prototype poisoning): a clean 400.
    const poisoned = await s.request("POST", "/v1/styx/pheromone/deposit", {
      token: writer.key,
      raw: `{"golem_id":"${wg[0]}","layer":"threat","class":"rug","intensity":0.5,"domain":"${DOMAIN}","regime":"bull","metadata":{"__proto__":{"x":1}}}`,
      headers: { "content-type": "application/json" },
    });
    refused(poisoned, ["STYX_BAD_JSON"], "metadata __proto__");
    assert.match(poisoned.json.error.message, /'__proto__' or 'constructor.prototype' key/, "told why, not 'not valid JSON'");
    const broken = await s.request("POST", "/v1/styx/pheromone/deposit", {
      token: writer.key,
      raw: `{"golem_id":"${wg[0]}", "__proto__": `,
      headers: { "content-type": "application/json" },
    });
    refused(broken, ["STYX_BAD_JSON"], "truncated JSON");
    assert.doesNotMatch(broken.json.error.message, /__proto__/, "a syntax error is a syntax error");
  });

  it("publishes causal edges with the names as variables and regimes where publishable", async () => {
    const publish = (body: Record<string, unknown>) =>
      s.request("POST", "/v1/styx/causal/publish", {
        token: writer.key,
        body: {
          golem_id: wg[0],
          from_variable: "gas",
          to_variable: "price",
          direction: "positive",
          strength: 0.7,
          lag_ticks: 1,
          evidence_count: 5,
          confidence: 0.9,
          domain: DOMAIN,
          regime: "bull",
          ...body,
        },
      });
    for (const name of NAMES) {
      const asVariable = await publish({ from_variable: name });
      if (name.startsWith("__")) refused(asVariable, ["STYX_VALIDATION"], `variable ${name}`);
      else ok(asVariable, `variable ${name}`, 201);
      const asRegime = await publish({ regime: name, to_variable: name.startsWith("__") ? "x" : name });
      if (name.startsWith("__")) refused(asRegime, ["STYX_NOT_PUBLISHABLE"], `causal regime ${name}`);
      else ok(asRegime, `causal regime ${name}`, 201);
      if (name !== DOMAIN) refused(await publish({ domain: name }), ["STYX_VALIDATION"], `causal domain ${name}`);
    }
  });

  it("writes entries with the names as domain, regime, metadata keys and idempotency keys; categories are a closed list", async () => {
    const write = (body: Record<string, unknown>) =>
      s.request("POST", "/v1/styx/entries", {
        token: writer.key,
        body: { golem_id: wg[0], layer: "lethe", category: "insight", confidence: 0.9, domain: DOMAIN, content: "funding flips", ...body },
      });
    const metadata = Object.fromEntries([...ID_NAMES.map((n) => [n, { [n]: n }]), ["__defineGetter__", 1], ["tags", [...NAMES]]]);
    for (const [i, name] of NAMES.entries()) {
      const first = ok(
        await write({ regime: name, idempotency_key: name, metadata, content: `funding flips ${i}`, embedding: vec(i) }),
        `entry ${name}`,
        201,
      );
      const again = ok(
        await write({ regime: name, idempotency_key: name, metadata, content: `funding flips ${i}` }),
        `replay ${name}`,
        201,
      );
      assert.equal(again.id, first.id, `idempotency key ${name} replays the first write`);
      refused(await write({ category: name }), ["STYX_VALIDATION"], `category ${name}`);
      if (name !== DOMAIN) refused(await write({ domain: name }), ["STYX_VALIDATION"], `entry domain ${name}`);
    }
    const batch = ok(
      await s.request("POST", "/v1/styx/entries/batch", {
        token: writer.key,
        body: {
          entries: NAMES.map((name, i) => ({
            golem_id: wg[0],
            layer: "clade",
            category: "warning",
            confidence: 0.9,
            domain: DOMAIN,
            regime: name,
            content: `batch ${name}`,
            metadata,
            idempotency_key: `b-${name}`,
            embedding: vec(i + 1),
          })),
        },
      }),
      "batch",
      201,
    );
    assert.equal(batch.results.length, NAMES.length);
    await s.styx.tasks.runNow("lethe-publish");
  });

  it("registers clade members in a domain named `constructor` and refuses other names as domains", async () => {
    for (const name of NAMES) {
      const r = await s.request("POST", "/v1/styx/clade/register", { token: writer.key, body: { golem_id: wg[2], domains: [name] } });
      if (name === DOMAIN) ok(r, "clade constructor");
      else refused(r, ["STYX_VALIDATION"], `clade domain ${name}`);
    }
  });

  it("records a bloodstain whose warnings, edges and somatic fragment carry the names", async () => {
    // A golem of its own: a dead golem leaves presence at once, and the views below count the heartbeats of wg.
    const dying = (await s.golem(writer.key, { id: "pk-dies" })).id;
    const bloodstain = (body: Record<string, unknown>) =>
      s.request("POST", "/v1/styx/bloodstain", {
        token: writer.key,
        body: {
          golem_id: dying,
          generation: 0,
          death_cause: "constructor",
          timestamp: new Date().toISOString(),
          warnings: [{ domain: DOMAIN, regime: "bull", class: "rug", severity: 0.9, message: "toString valueOf" }],
          publish_to_lethe: true,
          ...body,
        },
      });
    refused(
      await bloodstain({ warnings: [{ domain: DOMAIN, regime: "__proto__", class: "rug", severity: 0.9, message: "x" }] }),
      ["STYX_NOT_PUBLISHABLE"],
      "warning regime __proto__",
    );
    refused(
      await bloodstain({ warnings: [{ domain: DOMAIN, regime: "bull", class: "__proto__", severity: 0.9, message: "x" }] }),
      ["STYX_VALIDATION"],
      "warning class __proto__",
    );
    const died = await bloodstain({
      warnings: ID_NAMES.map((n) => ({ domain: DOMAIN, regime: n, class: n, severity: 0.9, message: `beware ${n}` })),
      causal_edges: ID_NAMES.map((n) => ({
        from_variable: n,
        to_variable: "price",
        direction: "negative",
        strength: 0.5,
        domain: DOMAIN,
        regime: n,
      })),
      somatic_landscape_fragment: Object.fromEntries(ID_NAMES.map((n) => [n, n])),
      death_testament_excerpt: "hasOwnProperty",
    });
    ok(died, "bloodstain", 201);
    await s.styx.tasks.runNow("lethe-publish");
  });

  it("answers every public and admin view with 200 and sane JSON", async () => {
    await s.styx.tasks.runNow("pulse");
    const owners = [writer, ...named];

    const pulse = ok(await s.request("GET", "/v1/styx/pulse"), "pulse");
    for (const [regime, n] of entriesOf(pulse.regimes)) {
      assert.ok(Number.isInteger(n) && (n as number) > 0, `pulse regime ${regime}: ${n}`);
      assert.match(regime, /^[a-z0-9][a-z0-9_.-]{0,63}$/);
    }
    assert.equal(entriesOf(pulse.regimes).get(DOMAIN), 1, JSON.stringify(pulse.regimes));

    const agg = ok(await s.request("GET", `/v1/styx/fleet/${writer.id}/aggregate`, { token: writer.key }), "aggregate");
    assert.deepEqual(entriesOf(agg.by_phase), new Map(NAMES.map((n) => [n, 1])), JSON.stringify(agg.by_phase));
    assert.deepEqual(entriesOf(agg.by_regime), new Map(NAMES.map((n) => [n, 1])), JSON.stringify(agg.by_regime));
    assert.deepEqual(agg.top_domains, [{ domain: DOMAIN, golems: NAMES.length }]);

    for (const u of owners) {
      const key = u.key;
      ok(await s.request("GET", `/v1/styx/fleet/${u.id}`, { token: key }), `fleet ${u.id}`);
      const a = ok(await s.request("GET", `/v1/styx/fleet/${u.id}/aggregate`, { token: key }), `aggregate ${u.id}`);
      for (const v of [...Object.values(a.by_phase), ...Object.values(a.by_regime)]) assert.ok(Number.isInteger(v), JSON.stringify(a));
      ok(await s.request("GET", `/v1/styx/lineage/${u.id}`, { token: key }), `lineage ${u.id}`);
      ok(await s.request("GET", `/v1/styx/graveyard/${u.id}`, { token: key }), `graveyard ${u.id}`);
      ok(await s.request("GET", `/v1/styx/clade/peers/${u.id}`, { token: key }), `peers ${u.id}`);
      ok(await s.request("GET", `/v1/styx/users/${u.id}`, { token: key }), `user ${u.id}`);
      ok(await s.request("GET", `/v1/styx/users/${u.id}/golems`, { token: key }), `golems of ${u.id}`);
      ok(await s.request("GET", "/v1/styx/me", { token: key }), `me ${u.id}`);
      ok(await s.request("GET", `/v1/admin/users/${u.id}/keys`, { token: s.adminToken }), `keys of ${u.id}`);
    }
    for (const [i, u] of named.entries()) {
      const owner = named[(i + 1) % named.length] as { key: string };
      const snap = ok(await s.request("GET", `/v1/styx/golem/${u.golem}/snapshot`, { token: owner.key }), `snapshot ${u.golem}`);
      assert.equal(snap.presence?.regime, u.id);
      ok(await s.request("GET", `/v1/styx/golems/${u.golem}`, { token: owner.key }), `golem ${u.golem}`);
      ok(await s.request("GET", `/v1/styx/achievements/${u.golem}`, { token: owner.key }), `achievements ${u.golem}`);
    }
    const lineage = ok(await s.request("GET", `/v1/styx/lineage/${named[0]?.id}`, { token: named[0]?.key }), "lineage of names");
    assert.ok(JSON.stringify(lineage).includes("pk-child-b"), JSON.stringify(lineage));
    const grave = ok(await s.request("GET", `/v1/styx/graveyard/${writer.id}`, { token: writer.key }), "graveyard");
    assert.equal(grave.golems[0]?.death_cause, "constructor");

    const sense = ok(await s.request("GET", `/v1/styx/pheromone/sense?domains=${DOMAIN},defi`, { token: writer.key }), "sense");
    const cell = entriesOf(sense.domains).get(DOMAIN) as { live: number };
    assert.ok(cell.live > 0, JSON.stringify(sense));
    assert.deepEqual([...entriesOf(sense.domains).keys()], [DOMAIN, "defi"]);
    for (const name of NAMES) {
      const r = await s.request("GET", `/v1/styx/pheromone/sense?domains=${DOMAIN}&regime=${encodeURIComponent(name)}`, {
        token: writer.key,
      });
      ok(r, `sense regime ${name}`);
    }
    const discover = ok(await s.request("GET", `/v1/styx/causal/discover?domain=${DOMAIN}`, { token: writer.key }), "discover");
    assert.ok(discover.edges.length > 0);
    for (const name of ID_NAMES) {
      ok(await s.request("GET", `/v1/styx/causal/discover?variable=${name}`, { token: writer.key }), `discover variable ${name}`);
      ok(await s.request("GET", `/v1/styx/causal/discover?regime=${name}`, { token: writer.key }), `discover regime ${name}`);
    }
    refused(await s.request("GET", "/v1/styx/causal/discover?variable=__proto__", { token: writer.key }), ["STYX_VALIDATION"], "variable");
    refused(await s.request("GET", "/v1/styx/causal/discover?__proto__=1", { token: writer.key }), ["STYX_VALIDATION"], "param");

    for (const layers of [["vault"], ["clade"], ["lethe"], ["vault", "clade", "lethe"]]) {
      const q = ok(
        await s.request("POST", "/v1/styx/query", {
          token: writer.key,
          body: { query: "funding", embedding: vec(0), layers, domains: [DOMAIN] },
        }),
        `query ${layers}`,
      );
      assert.ok(q.hits.length > 0, `query ${layers}: ${JSON.stringify(q)}`);
    }
    ok(await s.request("GET", `/v1/styx/query?query=funding&domains=${DOMAIN}`, { token: writer.key }), "GET query");
    refused(await s.request("GET", "/v1/styx/query?query=x&domains=__proto__", { token: writer.key }), ["STYX_VALIDATION"], "query domain");
    refused(
      await s.request("GET", "/v1/styx/query?query=x&categories=constructor", { token: writer.key }),
      ["STYX_VALIDATION"],
      "category",
    );

    const page = ok(await s.request("GET", `/v1/styx/snapshot/${wg[0]}?format=json&limit=1000`, { token: writer.key }), "snapshot");
    const withMeta = page.entries.find((e: { metadata: object }) => Object.hasOwn(e.metadata, "hasOwnProperty"));
    assert.ok(withMeta, "metadata keys named like prototype members are kept");
    assert.deepEqual(withMeta.metadata.hasOwnProperty, { hasOwnProperty: "hasOwnProperty" });
    assert.equal(withMeta.metadata.__defineGetter__, 1);
    const ndjson = await s.request("GET", `/v1/styx/snapshot/${wg[0]}`, { token: writer.key });
    assert.equal(ndjson.status, 200);
    for (const line of ndjson.text.trim().split("\n")) JSON.parse(line);

    const dash = ok(await s.request("GET", "/v1/admin/dashboard", { token: s.adminToken }), "dashboard");
    assert.ok(
      dash.field.some((c: { domain: string }) => c.domain === DOMAIN),
      JSON.stringify(dash.field),
    );
    assert.equal(entriesOf(dash.pulse.regimes).get(DOMAIN), 1);
    ok(await s.request("GET", "/v1/admin/audit?limit=1000", { token: s.adminToken }), "audit");
    ok(await s.request("GET", "/v1/admin/audit/verify", { token: s.adminToken }), "audit verify");
    ok(await s.request("GET", "/v1/styx/health"), "health");
    ok(await s.request("GET", "/readyz"), "readyz");
    ok(await s.request("GET", "/docs/json"), "openapi");
    const metrics = await s.request("GET", "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /styx_/);
    for (const page of ["/admin", "/admin/dashboard.js"]) assert.equal((await s.request("GET", page)).status, 200, page);
  });
});
