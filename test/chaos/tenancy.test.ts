import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { RouteInfo } from "../../src/server/app.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import {
  asQueryText,
  fillPath,
  type JsonSchema,
  type Operation,
  type Override,
  operationsOf,
  querySchema,
  queryString,
  routeUrl,
  sampleValid,
  Unexercisable,
} from "../../src/testing/openapi-cases.js";
import { signedChallenge, walletSession } from "../../src/testing/signatures.js";
import { startTestServer, type TestResponse, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * Proof: no route leaks another user's data (SPEC §3: a caller sees its own vault and clade, the
 * public lethe, and nothing else; another user's data answers 404 and is audited).
 *
 * Three tenants (two on API keys, one on a wallet session) each hold data of every kind, every
 * private piece carrying the tenant's marker. The matrix is every operation of the server's
 * OpenAPI document × every ordered (attacker, victim) pair: path parameters and body ids are
 * filled with the victim's resources (PATH_FILL, BODY_GOLEM_FIELDS), text and list fields with
 * the victim's words (so a broken filter would surface the victim's entries), the rest with a
 * minimal valid value from the schema. A route the document adds joins the matrix by itself; one
 * that cannot be filled fails the proof.
 *
 * What may legitimately cross (SPEC §4–§9): anonymized lethe entries, pheromones, causal edges,
 * the pulse, and domain/public stream events. Those carry only the tenants' shared words; the
 * proof checks that each kind does cross, and that nothing private rides along.
 */

const DIM = 384;

/** How each path parameter name of the document is filled with a victim's resource. */
const PATH_FILL: Record<string, { readonly values: (t: Tenant) => readonly string[]; readonly audited: boolean }> = {
  user_id: { values: (t) => [t.userId], audited: true },
  golem_id: { values: (t) => t.golems, audited: true },
  // Admin-only today (a user key gets 403 first); a user route with it must still answer 404.
  key_id: { values: (t) => [t.keyId], audited: false },
  // A wallet session kept apart from the credential the tenant calls with: the owner's control ends it.
  session_id: { values: (t) => [t.spare.id], audited: true },
  // An entry (get, delete, validate): g0's vault entry, private to g0 — another user's, or a sibling
  // golem's for a golem credential, answers 404 as if absent, audited by tenancy. The controls use
  // a fresh entry each (`controlEntry`): a delete would take a shared one from later checks.
  id: { values: (t) => [t.entryIds[0] as string], audited: true },
  // Blob ownership: a cid the caller never stored answers 404 (not a tenancy rule, not audited).
  cid: { values: (t) => [t.cid], audited: false },
  // An erasure job (of a golem set apart for it): another user's answers 404 like a missing one (not a tenancy rule, not audited).
  job_id: { values: (t) => [t.jobId], audited: false },
  // A payment receipt (the proof's Styx is unpriced: one row put in the ledger through its port per tenant,
  // paid through its golem g0); another user's, or for a golem credential a sibling golem's, answers 404
  // like a missing one (not a tenancy rule, not audited).
  payment_id: { values: (t) => [t.paymentId], audited: false },
};

/** Body fields that name a golem: filled with each of the victim's golems (tenancy answers 404, audited). */
const BODY_GOLEM_FIELDS = new Set(["golem_id", "parent_golem_id"]);

interface Tenant {
  readonly name: string;
  readonly userId: string;
  /** The credential it calls with: an API key, or (the third) a wallet session token. */
  cred: string;
  apiKey: string;
  keyId: string;
  session?: string;
  /** A wallet session the tenant does not call with (its id fills `:session_id`). */
  spare: { token: string; id: string };
  readonly account: ReturnType<typeof privateKeyToAccount>;
  readonly golems: string[];
  /** A fresh entry the owner's controls name as `:id` (set before each such control). */
  controlEntry?: string;
  /** A fresh blob no entry names, which the owner's controls name as `:cid` (a named one is 409 to DELETE). */
  controlCid?: string;
  /** In every private piece of data. */
  readonly marker: string;
  /** The tenant's words in what SPEC shares: domain, pheromone class, causal variables, lethe text. */
  readonly shared: string;
  readonly regime: string;
  readonly vector: number[];
  cid: string;
  /** An erasure job the tenant asked for (`:job_id`). */
  jobId: string;
  /** A receipt of the tenant's in the ledger (`:payment_id`). */
  paymentId: string;
  /** Ids of its vault and clade entries. */
  readonly entryIds: string[];
  epoch: string;
  watch: TestSocket;
}

/** Everything of a tenant no other tenant may ever see. */
function privateStrings(t: Tenant): string[] {
  return [
    t.marker,
    t.userId,
    ...t.golems,
    t.apiKey,
    t.keyId,
    ...(t.session ? [t.session] : []),
    t.spare.token,
    t.spare.id,
    t.account.address,
    t.account.address.toLowerCase(),
    t.cid,
    t.cid.slice(3),
    ...t.entryIds,
  ];
}

/** Hex digits written as letters (0-9 → g-p). */
function letters(h: string): string {
  return h.replace(/[0-9]/g, (d) => "ghijklmnop"[Number(d)] as string);
}

function hex(n: number): string {
  return randomBytes(n).toString("hex");
}

/**
 * Routes of a session protocol (MCP): a lone request carries no session, so it is refused (4xx)
 * before any tool runs; its answer still passes the leak checks here. Sessions bound to their
 * credential and every tool's tenancy are proved with the SDK's client in test/integration/mcp.test.ts.
 */
const SESSION_ROUTES = new Set(["/mcp"]);

/**
 * Routes of a feature this proof's Styx runs without (it is unpriced): each answers its own
 * refusal to every credential, checked as such; there is nothing of a tenant behind them to
 * control. Their priced behaviour is proved in test/integration/payments.test.ts.
 */
const OFF_ROUTES = new Map([["POST /v1/styx/credit/topup", "STYX_PRICING_DISABLED"]]);

describe("tenancy matrix generated from the OpenAPI document", () => {
  let s: TestServer;
  let ops: Operation[];
  let auth: Map<string, RouteInfo>;
  const tenants: Tenant[] = [];
  const figures = { routes: 0, tenants: 0, pairs: 0, http: 0, controls: 0, socket: 0, denials: 0, leaks: 0, crossings: 0 };
  const leaks: string[] = [];

  const denials = async () => (await s.styx.audit.list(0, 1_000_000)).filter((a) => a.action === "tenancy.denied").length;

  before(async () => {
    // k-anonymity off: every tenant's lethe copy publishes at once, so each is read back for leaks.
    s = await startTestServer({ env: { STYX_LETHE_DELAY: "0s-0s", STYX_LETHE_K: "1" } });
    for (const name of ["alice", "bob", "carol"]) {
      const vector = Array.from({ length: DIM }, (_, i) => (i % 3 === tenants.length ? 1 : 0.01));
      tenants.push({
        name,
        userId: `t${name}-${hex(5)}`,
        cred: "",
        apiKey: "",
        keyId: "",
        spare: { token: "", id: "" },
        account: privateKeyToAccount(generatePrivateKey()),
        golems: [],
        marker: `P${name}${hex(5)}Q`,
        // Public fields must pass the closed grammar: letters only, so a random run of 4+ digits (an "amount") never refuses them.
        shared: `s${name}${letters(hex(5))}`,
        regime: `r${name}${letters(hex(3))}`,
        vector,
        cid: "",
        jobId: "",
        paymentId: "",
        entryIds: [],
        epoch: "",
        watch: undefined as unknown as TestSocket,
      });
    }
    for (const t of tenants) await identities(t);
    for (const t of tenants) {
      const { sock, welcome } = await TestSocket.connect(s.url, t.cred);
      t.watch = sock;
      t.epoch = welcome.streams[`user:${t.userId}`].epoch;
      const sub = await sock.request({ type: "subscribe", domains: tenants.map((x) => x.shared) });
      assert.equal(sub.type, "subscribed", JSON.stringify(sub));
    }
    for (const t of tenants) await data(t);
    await s.styx.tasks.runNow("lethe-publish");
    await s.styx.tasks.runNow("pulse");
    for (const t of tenants) {
      assert.equal((await t.watch.request({ type: "ping" })).type, "pong");
      // The owner sees its own data: the markers are where the proof looks for them.
      const q = await s.request("POST", "/v1/styx/query", { token: t.cred, body: { query: t.shared, limit: 100 } });
      assert.equal(q.status, 200, q.text);
      const layers = new Set(q.json.hits.map((h: { layer: string }) => h.layer));
      // A clade entry is also in the vault, and the copies collapse to the vault hit.
      assert.ok(layers.has("vault") && layers.has("lethe"), `${t.name} sees ${[...layers]}`);
      assert.ok(
        q.text.includes(`${t.shared} clade warning`) && q.text.includes(`${t.shared} last words`),
        `${t.name} sees its clade entries`,
      );
      assert.ok(q.text.includes(t.marker), `${t.name}'s own query shows its marker`);
      assert.ok(
        t.watch.frames.some((f) => f.channel === "golem:tick" && JSON.stringify(f).includes(t.marker)),
        `${t.name}'s socket got its own event`,
      );
    }
    const doc = await s.request("GET", "/docs/json");
    assert.equal(doc.status, 200);
    ops = operationsOf(doc.json);
    auth = new Map(s.styx.app.styxRoutes.map((r) => [`${r.method} ${r.url}`, r]));
  });

  after(async () => {
    for (const t of tenants) await t.watch?.close();
    await s?.close();
  });

  /** A user with a wallet and a key, golems g0 → g1 (child) and g2; the third signs in with its wallet. */
  async function identities(t: Tenant): Promise<void> {
    const u = await s.request("POST", "/v1/admin/users", {
      token: s.adminToken,
      body: { id: t.userId, wallet_address: t.account.address },
    });
    assert.equal(u.status, 201, u.text);
    const k = await s.request("POST", `/v1/admin/users/${t.userId}/keys`, { token: s.adminToken, body: { name: `${t.marker} key` } });
    assert.equal(k.status, 201, k.text);
    t.apiKey = k.json.key;
    t.keyId = k.json.id;
    t.cred = t.apiKey;
    if (t.name === "carol") {
      t.session = (await walletSession(s, t.account)).token;
      t.cred = t.session;
    }
    t.spare = await walletSession(s, t.account);
    const g0 = await s.golem(t.cred, { id: `${t.userId}-g0`, archetype: `${t.marker} arch` });
    const g1 = await s.golem(t.cred, { id: `${t.userId}-g1`, parent_golem_id: g0.id });
    const g2 = await s.golem(t.cred, { id: `${t.userId}-g2` });
    t.golems.push(g0.id, g1.id, g2.id);
    const doomed = await s.golem(t.cred, {});
    const job = await s.request("DELETE", `/v1/styx/golems/${doomed.id}`, { token: t.cred });
    assert.equal(job.status, 202, job.text);
    t.jobId = job.json.id;
  }

  /** A receipt of `t` paid through `golemId`, put in the ledger through its port (the proof's Styx is unpriced). */
  async function putReceipt(t: Tenant, golemId: string, keyId: string | null = t.keyId): Promise<string> {
    const ledger = s.styx.storage.payments;
    assert.ok(ledger, "the proof's Styx keeps a payments ledger");
    const id = `pay_${t.name}${hex(6)}`;
    const reserved = await ledger.reserve({
      id,
      network: "eip155:84532",
      asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
      payer: t.account.address.toLowerCase(),
      nonce: `0x${hex(32)}`,
      amount: 2000,
      operation: "query",
      purpose: "request",
      userId: t.userId,
      keyId,
      golemId,
      payload: "{}",
      requirements: "{}",
      validBefore: Math.floor(Date.now() / 1000) + 300,
      createdAt: Date.now(),
    });
    assert.ok(reserved);
    await ledger.finish(id, "accepted", Date.now());
    return id;
  }

  /** Data of every kind, private pieces marked, shared pieces in the tenant's own words. */
  async function data(t: Tenant): Promise<void> {
    const [g0, g1, g2] = t.golems as [string, string, string];
    t.paymentId = await putReceipt(t, g0);
    const ok = async (method: string, path: string, body: unknown, status = [200, 201]) => {
      const r = await s.request(method, path, { token: t.cred, body });
      assert.ok(status.includes(r.status), `${method} ${path} → ${r.status} ${r.text}`);
      return r.json;
    };
    const blob = await s.request("PUT", "/v1/styx/blobs", {
      token: t.cred,
      raw: `blob of ${t.marker} ${t.shared}`,
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(blob.status, 201, blob.text);
    t.cid = blob.json.cid;
    // One vector (near-duplicates collapse in a ranked answer): a vector probe would find the vault entry.
    const entry = { golem_id: g0, category: "insight", confidence: 0.9, domain: t.shared, regime: t.regime };
    const vault = await ok("POST", "/v1/styx/entries", {
      ...entry,
      embedding: t.vector,
      layer: "vault",
      content: `${t.shared} vault note ${t.marker}`,
      metadata: { note: t.marker },
    });
    const clade = await ok("POST", "/v1/styx/entries", {
      ...entry,
      layer: "clade",
      category: "warning",
      content: `${t.shared} clade warning ${t.marker}`,
    });
    const withBlob = await ok("POST", "/v1/styx/entries", {
      golem_id: g1,
      layer: "clade",
      category: "warning",
      confidence: 0.9,
      content: `${t.shared} blob summary ${t.marker}`,
      content_blob: t.cid,
    });
    t.entryIds.push(vault.id, clade.id, withBlob.id);
    // Public by design, once anonymized: the text names its writer, owner, wallet, key and mail.
    const lethe = await ok("POST", "/v1/styx/entries", {
      ...entry,
      layer: "lethe",
      content: `${t.shared} lethe public note by ${g0} of ${t.userId} wallet ${t.account.address} key ${t.apiKey} mail ops@${t.name}.example`,
      metadata: { tags: [t.shared, t.userId], secret: t.marker },
    });
    assert.ok(lethe.lethe_at, "the lethe copy is queued");
    t.entryIds.push(lethe.id);
    await ok("POST", "/v1/styx/pheromone/deposit", {
      golem_id: g0,
      layer: "opportunity",
      class: `${t.shared}.cls`,
      intensity: 0.9,
      domain: t.shared,
      regime: t.regime,
      metadata: { note: t.shared },
    });
    await ok("POST", "/v1/styx/causal/publish", {
      golem_id: g0,
      from_variable: `${t.shared}.a`,
      to_variable: `${t.shared}.b`,
      direction: "positive",
      strength: 0.7,
      lag_ticks: 2,
      evidence_count: 5,
      confidence: 0.8,
      domain: t.shared,
      regime: t.regime,
    });
    await ok("POST", "/v1/styx/clade/register", { golem_id: g0, domains: [t.shared] });
    await ok("POST", "/v1/styx/clade/register", { golem_id: g1, domains: [t.shared] });
    await ok("POST", `/v1/styx/golem/${g0}/steer`, { intent: `${t.marker} steer by http` });
    const sock = t.watch;
    const ack = async (msg: Record<string, unknown>) => {
      const r = await sock.request(msg);
      assert.equal(r.type, "ack", JSON.stringify(r));
    };
    await ack({
      type: "heartbeat",
      golem_id: g0,
      phase: t.marker,
      emotion: t.marker,
      regime: t.regime,
      tick: 12,
      vitality: 0.7,
      domains: [t.shared],
      pad: { pleasure: 0.1, arousal: 0.2, dominance: 0.3 },
      nav: 1234.5,
    });
    await ack({ type: "event", golem_id: g0, event: { type: "golem:tick", note: `${t.marker} tick` } });
    await ack({ type: "steer", golem_id: g1, intent: `${t.marker} steer by socket` });
    await ack({ type: "clade_delta", golem_id: g0, entries: [{ note: `${t.marker} delta` }] });
    const death = await ok("POST", "/v1/styx/bloodstain", {
      golem_id: g2,
      generation: 0,
      death_cause: `${t.marker} cause`,
      warnings: [
        { domain: t.shared, regime: t.regime, class: `${t.shared}.death`, severity: 0.8, message: `${t.shared} last words ${t.marker}` },
      ],
      causal_edges: [
        {
          from_variable: `${t.shared}.c`,
          to_variable: `${t.shared}.d`,
          direction: "negative",
          strength: 0.6,
          domain: t.shared,
          regime: t.regime,
        },
      ],
      somatic_landscape_fragment: { note: t.marker },
      death_testament_excerpt: `${t.marker} testament`,
      timestamp: new Date().toISOString(),
      ticks_lived: 42,
    });
    t.entryIds.push(...death.entry_ids);
  }

  /** The route's auth mode (public | user | admin) as the server registered it. */
  /** How a route authenticates; `federate`: a linked Styx's federate key only (SPEC §17), so every tenant's key gets 403. */
  function modeOf(op: Operation): "public" | "user" | "admin" | "federate" {
    const r = auth.get(`${op.method} ${routeUrl(op)}`);
    if (!r) throw new Unexercisable(`${op.key} is in the document but not among the server's routes`);
    if (r.config.scope === "federate") return "federate";
    return r.config.auth ?? "user";
  }

  /** Text, list and vector fields of a probe: the victim's own words, so a broken filter shows the victim's entries. */
  const probe =
    (victim: Tenant, golem: string | undefined, self: Tenant): Override =>
    (name: string, schema: JsonSchema, _pointer: string, required: boolean) => {
      const isArray = schema.type === "array";
      if (BODY_GOLEM_FIELDS.has(name)) return golem ?? (required ? self.golems[0] : undefined);
      switch (name) {
        case "wallet_address":
          return required ? victim.account.address : undefined;
        case "query":
          return victim.shared;
        case "domains":
          return isArray ? [victim.shared] : victim.shared;
        case "domain":
          return victim.shared;
        case "variable":
        case "from_variable":
          return `${victim.shared}.a`;
        case "to_variable":
          return `${victim.shared}.b`;
        // Public fields must pass the closed grammar (SPEC §4.2 step 4), or a control is refused as not publishable.
        case "class":
          return `${victim.shared}.cls`;
        case "regime":
          return victim.regime;
        case "embedding":
          return isArray ? victim.vector : victim.vector.join(",");
        case "content":
          return `${self.shared} probe`;
        default:
          return undefined;
      }
    };

  interface Variant {
    readonly path: string;
    readonly body?: unknown;
    readonly raw?: string;
    /** The victim's resources the request names, and whether tenancy audits the refusal. */
    readonly named: boolean;
    readonly audited: boolean;
    readonly mixed?: string;
    /** The golem the request names (path or body), if any. */
    readonly golem?: string | undefined;
  }

  /** Every request of the matrix for one operation, attacker and victim (`victim` = attacker: the owner's control). */
  function variants(op: Operation, attacker: Tenant, victim: Tenant, controlGolem?: string): Variant[] {
    const control = attacker === victim;
    let golemSlot = false;
    let audited = false;
    const paths: { values: Record<string, string>; golem?: string }[] = [{ values: {} }];
    for (const p of op.pathParams) {
      const fill = PATH_FILL[p.name];
      if (!fill) throw new Unexercisable(`${op.key}: no way to fill path parameter '${p.name}' (add it to PATH_FILL)`);
      audited ||= fill.audited;
      const values =
        control && p.name === "golem_id"
          ? // A DELETE naming a golem erases it: the control's own fresh golem, never one later checks name.
            [op.method === "DELETE" ? (controlGolem as string) : (victim.golems[0] as string)]
          : control && p.name === "id"
            ? [victim.controlEntry as string]
            : control && p.name === "cid" && victim.controlCid !== undefined
              ? [victim.controlCid]
              : fill.values(victim);
      const next: typeof paths = [];
      for (const base of paths) {
        for (const v of values) {
          // An entry stands for the golem that wrote it, a receipt for the golem that paid (g0): a golem
          // credential's sibling's answers as absent.
          const golem =
            p.name === "golem_id" || (p.name === "id" && !control)
              ? v
              : p.name === "payment_id" && !control
                ? (victim.golems[0] as string)
                : base.golem;
          next.push({ values: { ...base.values, [p.name]: v }, ...(golem ? { golem } : {}) });
        }
      }
      paths.splice(0, paths.length, ...next);
    }
    // Does the body name a golem? Then each of the victim's golems gets a request.
    if (op.body?.contentType === "application/json") {
      sampleValid(op.body.schema, {
        override: (name) => {
          if (BODY_GOLEM_FIELDS.has(name)) golemSlot = true;
          return undefined;
        },
      });
    }
    const golems = golemSlot ? (control ? [controlGolem as string] : victim.golems) : [undefined];
    const out: Variant[] = [];
    for (const p of paths) {
      for (const g of golems) {
        const golem = g ?? p.golem;
        const override = probe(victim, golem, attacker);
        const qs = querySchema(op);
        const query = qs ? (sampleValid(qs, { override }) as Record<string, unknown>) : {};
        const path = fillPath(op, p.values) + queryString(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, asQueryText(v)])));
        const named = !control && (op.pathParams.length > 0 || g !== undefined);
        const a = audited || g !== undefined;
        if (!op.body) out.push({ path, named, audited: a, golem });
        else if (op.body.contentType === "application/octet-stream")
          out.push({ path, raw: `bytes of ${attacker.shared}`, named, audited: a, golem });
        else if (op.body.contentType === "application/json") {
          const body = sampleValid(op.body.schema, { override }) as Record<string, unknown>;
          out.push({ path, body, named, audited: a, golem });
          // A batch naming the attacker's own golem and then the victim's: refused whole, nothing written.
          if (!control && g !== undefined) {
            for (const [k, v] of Object.entries(body)) {
              const item = Array.isArray(v) ? (v[0] as Record<string, unknown> | undefined) : undefined;
              if (!item || typeof item !== "object" || !Object.keys(item).some((f) => BODY_GOLEM_FIELDS.has(f))) continue;
              const mixed = `${attacker.shared} mixed ${hex(3)}`;
              const own = sampleValid(op.body.schema, {
                override: (n, sch, ptr, req) => (n === "content" ? mixed : probe(victim, attacker.golems[0], attacker)(n, sch, ptr, req)),
              }) as Record<string, unknown>;
              out.push({ path, body: { ...body, [k]: [...(own[k] as unknown[]), ...(v as unknown[])] }, named, audited: a, mixed, golem });
            }
          }
        } else throw new Unexercisable(`${op.key}: request content type ${op.body.contentType}`);
      }
    }
    return out;
  }

  /** A fresh clade entry of `golem`, written with `token`: what a control names as `:id`. */
  async function controlEntry(token: string, golem: string): Promise<string> {
    const r = await s.request("POST", "/v1/styx/entries", {
      token,
      body: { golem_id: golem, layer: "clade", category: "insight", confidence: 0.9, content: "control entry" },
    });
    assert.equal(r.status, 201, r.text);
    return r.json.id;
  }

  /** A fresh blob of `token`'s user that no entry names: what an owner's control names as `:cid`. */
  async function controlBlob(token: string): Promise<string> {
    const r = await s.request("PUT", "/v1/styx/blobs", {
      token,
      raw: `control blob ${hex(4)}`,
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(r.status, 201, r.text);
    return r.json.cid;
  }

  async function send(op: Operation, token: string, v: Variant): Promise<TestResponse> {
    return s.request(op.method, v.path, {
      token,
      ...(v.raw !== undefined ? { raw: v.raw, headers: { "content-type": "application/octet-stream" } } : {}),
      ...(v.body !== undefined ? { body: v.body } : {}),
    });
  }

  /** Counts (and records) every private string of a tenant other than `reader` in what `reader` got. */
  function checkLeaks(what: string, reader: Tenant, text: string, request: string): void {
    // Case-insensitive: wallets travel in checksum case and come back lowercased.
    const req = request.toLowerCase();
    for (const other of tenants) {
      if (other === reader) continue;
      const secrets = privateStrings(other).map((p) => p.toLowerCase());
      let hay = text.toLowerCase();
      for (const p of secrets.filter((x) => req.includes(x)).sort((a, b) => b.length - a.length)) hay = hay.split(p).join("");
      for (const p of secrets) {
        if (hay.includes(p)) {
          figures.leaks++;
          if (leaks.length < 20) leaks.push(`${what}: ${reader.name} saw ${other.name}'s '${p}' in ${text.slice(0, 400)}`);
        }
      }
    }
  }

  const seen = new Map<string, Set<string>>();
  /** What SPEC shares and the attacker did see of the victim (each kind must cross, anonymized). */
  function crossings(victim: Tenant, body: string): void {
    const kinds = seen.get(victim.name) ?? new Set<string>();
    if (body.includes(`${victim.shared} lethe public note`)) kinds.add("lethe");
    if (body.includes(`${victim.shared}.cls`)) kinds.add("pheromone");
    if (body.includes(`${victim.shared}.a`) && body.includes(`${victim.shared}.b`)) kinds.add("causal");
    if (body.includes('"top_domains"') && body.includes(`"domain":"${victim.shared}"`)) kinds.add("pulse");
    seen.set(victim.name, kinds);
  }

  it("answers every operation × (attacker, victim) with the tenancy answer and shows nothing private", async () => {
    assert.ok(ops.length >= 40, `only ${ops.length} operations in the document`);
    const documented = new Set(ops.map((op) => `${op.method} ${routeUrl(op)}`));
    const hidden = [...auth.keys()].filter((k) => !documented.has(k));
    assert.deepEqual(hidden, [], "routes missing from the OpenAPI document escape the matrix");
    const deniedBefore = await denials();
    let expectedDenials = 0;
    const mixedProbes: { owner: Tenant; token: string }[] = [];
    for (const op of ops) {
      const mode = modeOf(op);
      for (const attacker of tenants) {
        for (const victim of tenants) {
          if (victim === attacker) continue;
          for (const v of variants(op, attacker, victim)) {
            const r = await send(op, attacker.cred, v);
            figures.http++;
            const what = `${op.key} as ${attacker.name} on ${victim.name}'s ${v.path}`;
            if (mode === "admin" || mode === "federate") {
              assert.equal(r.status, 403, `${what} → ${r.status} ${r.text}`);
              assert.equal(r.json?.error?.code, "STYX_AUTH_FORBIDDEN", what);
            } else if (mode === "public") {
              assert.ok(r.status < 500, `${what} → ${r.status} ${r.text}`);
            } else if (SESSION_ROUTES.has(routeUrl(op))) {
              assert.ok(
                r.status >= 400 && r.status < 500,
                `${what}: no session, refused before any tool runs → ${r.status} ${r.text.slice(0, 300)}`,
              );
            } else if (OFF_ROUTES.has(op.key)) {
              assert.equal(r.status, 404, `${what}: a feature this Styx runs without → ${r.status} ${r.text.slice(0, 300)}`);
              assert.equal(r.json?.error?.code, OFF_ROUTES.get(op.key), what);
            } else if (v.named) {
              assert.equal(r.status, 404, `${what} must answer the tenancy 404 → ${r.status} ${r.text.slice(0, 300)}`);
              assert.equal(r.json?.error?.code, "STYX_NOT_FOUND", what);
              if (v.audited) expectedDenials++;
            } else {
              assert.ok(r.status >= 200 && r.status < 300, `${what} → ${r.status} ${r.text.slice(0, 300)}`);
            }
            if (v.mixed) mixedProbes.push({ owner: attacker, token: v.mixed });
            const headers = [...r.headers].filter(([k]) => k !== "date" && k !== "x-request-id").map(([k, val]) => `${k}: ${val}`);
            checkLeaks(what, attacker, `${headers.join("\n")}\n${r.text}`, `${v.path} ${JSON.stringify(v.body ?? v.raw ?? "")}`);
            crossings(victim, r.text);
          }
        }
      }
    }
    figures.routes = ops.length;
    figures.tenants = tenants.length;
    figures.pairs = tenants.length * (tenants.length - 1);
    const denied = (await denials()) - deniedBefore;
    assert.equal(denied, expectedDenials, "every tenancy refusal is audited once");
    figures.denials += denied;

    // The owner's control: the same operations with its own ids succeed, so the 404s above are tenancy, not bad input.
    for (const op of ops) {
      // A session protocol's control needs its session (test/integration/mcp.test.ts runs it).
      if (modeOf(op) !== "user" || SESSION_ROUTES.has(routeUrl(op)) || OFF_ROUTES.has(op.key)) continue;
      for (const owner of tenants) {
        const fresh = (await s.golem(owner.cred, {})).id;
        // Another golem's clade entry: readable, deletable, and `fresh` may validate it.
        if (routeUrl(op).includes(":id")) owner.controlEntry = await controlEntry(owner.cred, (await s.golem(owner.cred, {})).id);
        owner.controlCid = routeUrl(op).includes(":cid") ? await controlBlob(owner.cred) : undefined;
        for (const v of variants(op, owner, owner, fresh)) {
          const r = await send(op, owner.cred, v);
          figures.controls++;
          assert.ok(
            r.status >= 200 && r.status < 300,
            `control ${op.key} as ${owner.name} ${v.path} → ${r.status} ${r.text.slice(0, 300)}`,
          );
          checkLeaks(`control ${op.key}`, owner, r.text, "");
        }
      }
    }
    // The controls' blobs were deleted by the DELETE control: later checks name the tenants' own again.
    for (const t of tenants) t.controlCid = undefined;
    // A refused mixed batch wrote none of its items, not even the attacker's own.
    for (const { owner, token } of mixedProbes) {
      const q = await s.request("POST", "/v1/styx/query", { token: owner.cred, body: { query: token, layers: ["vault"] } });
      assert.equal(q.status, 200);
      assert.ok(!q.text.includes(token), `a refused batch wrote '${token}'`);
    }
    assert.deepEqual(leaks, [], "private data crossed tenants");
    for (const t of tenants) {
      const kinds = [...(seen.get(t.name) ?? [])].sort();
      assert.deepEqual(kinds, ["causal", "lethe", "pheromone", "pulse"], `what SPEC shares of ${t.name} reached the others`);
      figures.crossings += kinds.length;
    }
  });

  it("keeps sockets to their own user: live fan-out, resume, and golem messages", async () => {
    const deniedBefore = await denials();
    let expectedDenials = 0;
    // Everything each tenant's socket received during the set-up (its user stream, every domain, public).
    for (const t of tenants) {
      for (const f of t.watch.frames) {
        if (typeof f.stream === "string" && f.stream.startsWith("user:"))
          assert.equal(f.stream, `user:${t.userId}`, "another user's stream");
        checkLeaks(`socket frame ${f.stream ?? f.type}`, t, JSON.stringify(f), "");
        for (const other of tenants) if (other !== t) crossings(other, JSON.stringify(f));
      }
    }
    const positions = new Map<string, number>();
    for (const t of tenants) positions.set(t.userId, (await s.styx.fabric.history.position(`user:${t.userId}`)).seq);
    const framesBefore = new Map(tenants.map((t) => [t.name, t.watch.frames.length]));

    for (const attacker of tenants) {
      const { sock } = await TestSocket.connect(s.url, attacker.cred);
      const sentMsgs: unknown[] = [];
      const ask = (m: Record<string, unknown>) => {
        sentMsgs.push(m);
        return sock.request(m);
      };
      for (const victim of tenants) {
        if (victim === attacker) continue;
        const stream = `user:${victim.userId}`;
        const resumed = await ask({ type: "resume", streams: { [stream]: { epoch: victim.epoch, seq: 0 } } });
        figures.socket++;
        expectedDenials++;
        assert.deepEqual(resumed.streams?.[stream], { recovered: false, epoch: "", seq: 0, reason: "not_found" }, JSON.stringify(resumed));
        for (const g of victim.golems) {
          const msgs: Record<string, unknown>[] = [
            { type: "heartbeat", golem_id: g, phase: "probe" },
            { type: "event", golem_id: g, event: { type: "golem:tick", note: `${attacker.shared} forged` } },
            { type: "steer", golem_id: g, intent: `${attacker.shared} forged` },
            { type: "clade_delta", golem_id: g, entries: [{ note: `${attacker.shared} forged` }] },
          ];
          for (const m of msgs) {
            const r = await ask(m);
            figures.socket++;
            expectedDenials++;
            assert.equal(r.type, "error", `${m.type} for ${victim.name}'s golem: ${JSON.stringify(r)}`);
            assert.equal(r.code, "STYX_NOT_FOUND", `${m.type} for ${victim.name}'s golem`);
          }
        }
        const sub = await ask({ type: "subscribe", domains: [victim.shared] });
        figures.socket++;
        assert.equal(sub.type, "subscribed", "domains are public");
      }
      assert.equal((await sock.request({ type: "ping" })).type, "pong");
      // Answers may echo what the attacker sent (the stream it asked for), nothing more.
      const sent = JSON.stringify(sentMsgs);
      for (const f of sock.frames) checkLeaks(`probe socket ${f.type ?? f.stream}`, attacker, JSON.stringify(f), sent);
      assert.ok(
        !sock.frames.some((f) => typeof f.stream === "string" && f.stream !== `user:${attacker.userId}` && f.stream.startsWith("user:")),
      );
      await sock.close();
    }
    for (const t of tenants) {
      assert.equal(
        (await s.styx.fabric.history.position(`user:${t.userId}`)).seq,
        positions.get(t.userId),
        `nothing reached ${t.name}'s stream`,
      );
      assert.equal((await t.watch.request({ type: "ping" })).type, "pong");
      const fresh = t.watch.frames.slice(framesBefore.get(t.name)).filter((f) => f.stream !== undefined);
      assert.deepEqual(fresh, [], `${t.name}'s socket got frames from the probes`);
    }
    const denied = (await denials()) - deniedBefore;
    assert.equal(denied, expectedDenials, "every refused socket message is audited once");
    figures.denials += denied;
    assert.deepEqual(leaks, [], "private data crossed tenants over the socket");

    reportFigures("tenancy matrix (OpenAPI × tenant pairs)", {
      routes: figures.routes,
      tenants: figures.tenants,
      "tenant pairs": figures.pairs,
      "HTTP requests tried": figures.http,
      "owner controls": figures.controls,
      "socket probes": figures.socket,
      "audited denials": figures.denials,
      "shared kinds crossing (lethe, pheromone, causal, pulse)": figures.crossings,
      leaks: figures.leaks,
    });
  });

  /**
   * Golem credentials (SPEC §3): a key bound to a golem and a golem's wallet session, each
   * attacking its siblings' private data and its owner's views. Every tenant gets two more
   * golems, A (a bound key) and B (a wallet session), each with private data under a marker of
   * its own: a vault entry, steers, a heartbeat, a relayed event. What each may see of its
   * user is its own golem's data, the clade and what is public; its sibling's marker, the
   * other golems' vault entries, steers and events, and the owner's credentials never.
   */
  describe("golem credentials against their siblings and their owner's views", () => {
    interface GolemCred {
      readonly tenant: Tenant;
      readonly name: string;
      readonly golem: string;
      readonly cred: string;
      /** The golem key's id (its receipts name it); null for the wallet session. */
      readonly keyId: string | null;
      /** In every private piece of this golem's data. */
      readonly marker: string;
      readonly entryIds: string[];
      /** B's golem has a wallet (its session came from it), so its bloodstain must be signed. */
      readonly wallet: boolean;
      sock?: TestSocket;
      epoch?: string;
    }
    const creds: GolemCred[] = [];
    const gFigures = { http: 0, forbidden: 0, denials: 0, controls: 0, socket: 0, leaks: 0 };
    const gLeaks: string[] = [];

    /** What a golem credential of `t` must never see of its own user (its own data excepted). */
    function siblingPrivate(me: GolemCred): string[] {
      const t = me.tenant;
      // The owner's key and wallet are not here: the tenant's lethe write names them in its text, and its clade copy is shared by design.
      const owner = [t.keyId, ...(t.session ? [t.session] : [])];
      // g0's vault entry (its clade twins carry the tenant's marker, the clade is shared: only the vault's own words and id).
      const g0Vault = [t.entryIds[0] as string, `vault note ${t.marker}`];
      // Steers and relayed events of the golems the set-up drove over the owner's credential.
      const traffic = [`${t.marker} steer by`, `${t.marker} tick`];
      const others = creds.filter((c) => c.tenant === t && c !== me).flatMap((c) => [c.marker, ...c.entryIds]);
      return [...owner, ...g0Vault, ...traffic, ...others];
    }

    function golemLeaks(what: string, me: GolemCred, text: string, request: string): void {
      const req = request.toLowerCase();
      const secrets = [...siblingPrivate(me), ...tenants.filter((o) => o !== me.tenant).flatMap(privateStrings)].map((p) =>
        p.toLowerCase(),
      );
      let hay = text.toLowerCase();
      for (const p of secrets.filter((x) => req.includes(x)).sort((a, b) => b.length - a.length)) hay = hay.split(p).join("");
      for (const p of secrets) {
        if (hay.includes(p)) {
          gFigures.leaks++;
          if (gLeaks.length < 20) gLeaks.push(`${what}: ${me.name} saw '${p}' in ${text.slice(0, 400)}`);
        }
      }
    }

    before(async () => {
      for (const t of tenants) {
        const a = await s.golem(t.cred, { id: `${t.userId}-ga` });
        const k = await s.request("POST", `/v1/admin/users/${t.userId}/keys`, {
          token: s.adminToken,
          body: { name: "golem a", golem_id: a.id },
        });
        assert.equal(k.status, 201, k.text);
        const wallet = privateKeyToAccount(generatePrivateKey());
        const b = await s.golem(t.cred, {
          id: `${t.userId}-gb`,
          wallet_address: wallet.address,
          wallet_proof: await signedChallenge(s, wallet),
        });
        const v = await s.request("POST", "/v1/auth/verify", { body: await signedChallenge(s, wallet) });
        assert.equal(v.status, 200, v.text);
        assert.equal(v.json.golem_id, b.id, "a golem's wallet session");
        creds.push(
          {
            tenant: t,
            name: `${t.name}'s golem key`,
            golem: a.id,
            cred: k.json.key,
            keyId: k.json.id,
            marker: `GA${t.name}${hex(5)}Z`,
            entryIds: [],
            wallet: false,
          },
          {
            tenant: t,
            name: `${t.name}'s golem session`,
            golem: b.id,
            cred: v.json.token,
            keyId: null,
            marker: `GB${t.name}${hex(5)}Z`,
            entryIds: [],
            wallet: true,
          },
        );
      }
      for (const [n, c] of creds.entries()) {
        const t = c.tenant;
        // A vector of its own: one near the tenant's (cosine > 0.9) would collapse into g0's vault hit for the owner.
        const vector = Array.from({ length: DIM }, (_, i) => (i % 7 === n % 7 ? 1 : 0.01));
        const { sock, welcome } = await TestSocket.connect(s.url, c.cred);
        assert.deepEqual(Object.keys(welcome.streams), [`golem:${c.golem}`], "a golem credential's socket follows its golem's stream");
        c.sock = sock;
        c.epoch = welcome.streams[`golem:${c.golem}`].epoch;
        assert.equal((await sock.request({ type: "subscribe", domains: [t.shared] })).type, "subscribed");
        const w = await s.request("POST", "/v1/styx/entries", {
          token: c.cred,
          body: {
            golem_id: c.golem,
            layer: "vault",
            category: "insight",
            content: `${t.shared} golem note ${c.marker}`,
            embedding: vector,
          },
        });
        assert.equal(w.status, 201, w.text);
        c.entryIds.push(w.json.id);
        assert.equal((await s.request("POST", "/v1/styx/clade/register", { token: c.cred, body: { golem_id: c.golem } })).status, 200);
        const ack = async (m: Record<string, unknown>) => assert.equal((await sock.request(m)).type, "ack", JSON.stringify(m));
        await ack({ type: "heartbeat", golem_id: c.golem, phase: c.marker, emotion: c.marker, regime: t.regime, tick: 3 });
        await ack({ type: "event", golem_id: c.golem, event: { type: "golem:tick", note: `${c.marker} event` } });
        const steer = await s.request("POST", `/v1/styx/golem/${c.golem}/steer`, { token: t.cred, body: { intent: `${c.marker} steer` } });
        assert.equal(steer.status, 200, steer.text);
        assert.equal(steer.json.delivered, true);
      }
      // Clade deltas between siblings are shared by design: in the tenant's shared words only.
      for (const c of creds)
        assert.equal(
          (await c.sock?.request({ type: "clade_delta", golem_id: c.golem, entries: [{ note: `${c.tenant.shared} delta` }] }))?.type,
          "ack",
        );
      for (const c of creds) {
        // The owner sees every marker where the proof looks for it, so the checks below can fail.
        const t = c.tenant;
        const q = await s.request("POST", "/v1/styx/query", { token: t.cred, body: { query: `${t.shared} golem note`, limit: 100 } });
        assert.ok(
          q.text.includes(c.marker) && q.text.includes(c.entryIds[0] as string),
          `${t.name}'s owner query shows ${c.name}'s vault entry`,
        );
        const fleet = await s.request("GET", `/v1/styx/fleet/${t.userId}`, { token: t.cred });
        assert.ok(fleet.text.includes(c.marker), "the owner's fleet view shows its heartbeat");
        assert.ok(
          t.watch.frames.some((f) => JSON.stringify(f).includes(`${c.marker} event`)),
          "the owner's stream got its event",
        );
        const own = await s.request("POST", "/v1/styx/query", {
          token: c.cred,
          body: { query: `${t.shared} golem note vault note`, limit: 100 },
        });
        assert.ok(own.text.includes(c.marker), `${c.name} finds its own vault entry`);
        assert.ok((await c.sock?.request({ type: "ping" }))?.type === "pong");
      }
    });

    after(async () => {
      for (const c of creds) await c.sock?.close();
    });

    it("keeps a golem credential's socket to its own golem: its stream, resume, and golem messages", async () => {
      const deniedBefore = await denials();
      let expected = 0;
      for (const c of creds) {
        const sock = c.sock as TestSocket;
        const own = `golem:${c.golem}`;
        for (const f of sock.frames) {
          if (typeof f.stream === "string") assert.ok(f.stream === own || !/^(user|golem):/.test(f.stream), `${c.name} got ${f.stream}`);
          golemLeaks(`socket frame ${f.stream ?? f.type}`, c, JSON.stringify(f), "");
        }
        assert.ok(
          sock.frames.some((f) => f.stream === own && f.channel === "styx:steer"),
          `${c.name} got its own steer`,
        );
        assert.ok(
          sock.frames.some((f) => f.stream === own && f.channel === "styx:clade:delta"),
          `${c.name} got its sibling's delta`,
        );
        const sent: unknown[] = [];
        const ask = (m: Record<string, unknown>) => {
          sent.push(m);
          return sock.request(m);
        };
        const siblings = [...c.tenant.golems, ...creds.filter((o) => o.tenant === c.tenant && o !== c).map((o) => o.golem)];
        const foreign = [`user:${c.tenant.userId}`, ...siblings.map((g) => `golem:${g}`)];
        for (const t of tenants.filter((x) => x !== c.tenant)) foreign.push(`user:${t.userId}`, ...t.golems.map((g) => `golem:${g}`));
        const resumed = await ask({
          type: "resume",
          streams: Object.fromEntries([...foreign, own].map((st) => [st, { epoch: c.epoch, seq: 0 }])),
        });
        gFigures.socket++;
        expected += foreign.length;
        for (const st of foreign) {
          assert.deepEqual(resumed.streams?.[st], { recovered: false, epoch: "", seq: 0, reason: "not_found" }, `${c.name} resumed ${st}`);
        }
        assert.equal(resumed.streams?.[own]?.recovered, true, "its own stream resumes");
        for (const g of [...siblings, ...tenants.filter((x) => x !== c.tenant).flatMap((t) => t.golems)]) {
          for (const m of [
            { type: "heartbeat", golem_id: g, phase: "probe" },
            { type: "event", golem_id: g, event: { type: "golem:tick", note: "forged" } },
            { type: "clade_delta", golem_id: g, entries: [{ note: "forged" }] },
          ]) {
            const r = await ask(m);
            gFigures.socket++;
            expected++;
            assert.equal(r.code, "STYX_NOT_FOUND", `${c.name}: ${m.type} for ${g} → ${JSON.stringify(r)}`);
          }
        }
        for (const g of [c.golem, ...siblings]) {
          const r = await ask({ type: "steer", golem_id: g, intent: "forged" });
          gFigures.socket++;
          gFigures.forbidden++;
          assert.equal(r.code, "STYX_AUTH_FORBIDDEN", `${c.name}: steer for ${g} is an owner action → ${JSON.stringify(r)}`);
        }
        assert.equal((await sock.request({ type: "ping" })).type, "pong");
        for (const f of sock.frames) golemLeaks(`probe socket ${f.type ?? f.stream}`, c, JSON.stringify(f), JSON.stringify(sent));
      }
      const denied = (await denials()) - deniedBefore;
      assert.equal(denied, expected, "every refused stream and golem message is audited once");
      gFigures.denials += denied;
      assert.deepEqual(gLeaks, [], "a golem credential saw a sibling's or its owner's private data over the socket");
    });

    it("answers every operation for a golem credential: 403 on owner views, 404 on a sibling's data, its own data served, nothing private", async () => {
      const deniedBefore = await denials();
      let expected = 0;
      const forbiddenRoutes = new Set<string>();
      for (const c of creds) {
        const t = c.tenant;
        const me: Tenant = { ...t, cred: c.cred, golems: [c.golem] };
        const siblings: Tenant = { ...t, golems: [...t.golems, ...creds.filter((o) => o.tenant === t && o !== c).map((o) => o.golem)] };
        for (const op of ops) {
          // A session id names a wallet session, not a golem: this matrix fills it with the tenant's (its golem b's),
          // which a golem credential of golem a may not see. test/integration/sessions.test.ts covers golem
          // credentials on the session routes (their golem's sessions only, audited 404 otherwise).
          if (routeUrl(op).includes(":session_id")) continue;
          const mode = modeOf(op);
          const route = auth.get(`${op.method} ${routeUrl(op)}`) as RouteInfo;
          const ownerOnly = mode === "user" && route.config.golemCredential !== "own";
          if (ownerOnly) forbiddenRoutes.add(op.key);
          for (const v of variants(op, me, siblings)) {
            const r = await send(op, c.cred, v);
            gFigures.http++;
            const what = `${op.key} as ${c.name} ${v.path}`;
            if (mode === "admin" || mode === "federate" || ownerOnly) {
              assert.equal(r.status, 403, `${what} → ${r.status} ${r.text.slice(0, 300)}`);
              assert.equal(r.json?.error?.code, "STYX_AUTH_FORBIDDEN", what);
              gFigures.forbidden++;
            } else if (mode === "public") {
              assert.ok(r.status < 500, `${what} → ${r.status} ${r.text}`);
            } else if (SESSION_ROUTES.has(routeUrl(op))) {
              assert.ok(
                r.status >= 400 && r.status < 500,
                `${what}: no session, refused before any tool runs → ${r.status} ${r.text.slice(0, 300)}`,
              );
            } else if (OFF_ROUTES.has(op.key)) {
              assert.equal(r.status, 404, `${what}: a feature this Styx runs without → ${r.status} ${r.text.slice(0, 300)}`);
              assert.equal(r.json?.error?.code, OFF_ROUTES.get(op.key), what);
            } else if (v.golem !== undefined) {
              assert.equal(r.status, 404, `${what}: a sibling's golem answers as absent → ${r.status} ${r.text.slice(0, 300)}`);
              assert.equal(r.json?.error?.code, "STYX_NOT_FOUND", what);
              if (v.audited) expected++;
            } else {
              assert.ok(r.status >= 200 && r.status < 300, `${what} → ${r.status} ${r.text.slice(0, 300)}`);
            }
            const headers = [...r.headers].filter(([k]) => k !== "date" && k !== "x-request-id").map(([k, val]) => `${k}: ${val}`);
            golemLeaks(what, c, `${headers.join("\n")}\n${r.text}`, `${v.path} ${JSON.stringify(v.body ?? v.raw ?? "")}`);
          }
        }
      }
      const denied = (await denials()) - deniedBefore;
      assert.equal(denied, expected, "every 404 on a sibling's golem is audited once");
      gFigures.denials += denied;
      for (const key of [
        "POST /v1/styx/golems",
        "GET /v1/styx/fleet/{user_id}",
        "GET /v1/styx/lineage/{user_id}",
        "GET /v1/styx/graveyard/{user_id}",
        "POST /v1/styx/golem/{golem_id}/steer",
      ]) {
        assert.ok(forbiddenRoutes.has(key), `${key} is an owner view or action (SPEC §3): ${[...forbiddenRoutes].join(", ")}`);
      }

      // The controls: the same operations on its own golem succeed (so the 404s above are tenancy), its own bloodstain last.
      for (const c of creds) {
        const me: Tenant = { ...c.tenant, cred: c.cred, golems: [c.golem] };
        // Session routes excepted, as above (their ids are the tenant's wallet session, not this golem's).
        const own = ops.filter(
          (op) =>
            modeOf(op) === "user" &&
            !routeUrl(op).includes(":session_id") &&
            !SESSION_ROUTES.has(routeUrl(op)) &&
            !OFF_ROUTES.has(op.key) &&
            auth.get(`${op.method} ${routeUrl(op)}`)?.config.golemCredential === "own",
        );
        own.sort((x, y) => Number(x.key === "POST /v1/styx/bloodstain") - Number(y.key === "POST /v1/styx/bloodstain"));
        for (const op of own) {
          if (routeUrl(op).includes(":id")) {
            // Its own golem's entry to read and delete; to validate, a clade entry of another golem of its user.
            me.controlEntry = op.key.endsWith("/validate")
              ? await controlEntry(c.tenant.cred, (await s.golem(c.tenant.cred, {})).id)
              : await controlEntry(c.cred, c.golem);
          }
          // A receipt of its own golem, paid with its own credential.
          if (routeUrl(op).includes(":payment_id")) me.paymentId = await putReceipt(c.tenant, c.golem, c.keyId);
          for (const v of variants(op, me, me, c.golem)) {
            const r = await send(op, c.cred, v);
            gFigures.controls++;
            if (c.wallet && op.key === "POST /v1/styx/bloodstain") {
              // Past tenancy, a golem with a wallet must sign its death (SPEC §6): the answer says so.
              assert.equal(r.json?.error?.code, "STYX_AUTH_INVALID_SIGNATURE", `control ${op.key} as ${c.name} → ${r.status} ${r.text}`);
              continue;
            }
            assert.ok(r.status >= 200 && r.status < 300, `control ${op.key} as ${c.name} ${v.path} → ${r.status} ${r.text.slice(0, 300)}`);
            golemLeaks(`control ${op.key}`, c, r.text, "");
          }
        }
      }
      assert.deepEqual(gLeaks, [], "a golem credential saw a sibling's or its owner's private data");

      reportFigures("tenancy matrix: golem credentials (OpenAPI × sibling golems and owner views)", {
        "golem credentials (bound keys and wallet sessions)": creds.length,
        "HTTP requests tried": gFigures.http,
        "403 on owner views and actions": gFigures.forbidden,
        "own-golem controls": gFigures.controls,
        "socket probes": gFigures.socket,
        "audited denials": gFigures.denials,
        leaks: gFigures.leaks,
      });
    });
  });
});
