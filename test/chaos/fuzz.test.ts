import assert from "node:assert/strict";
import { createHash, randomInt } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { brotliCompressSync, deflateSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ERROR_TABLE } from "../../src/core/platform/errors.js";
import { CLIENT_MESSAGES, MAX_FRAME_BYTES } from "../../src/protocol/fabric.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import {
  asQueryText,
  fillPath,
  type JsonSchema,
  judges,
  type Operation,
  operationsOf,
  querySchema,
  queryString,
  routeUrl,
  sampleValid,
} from "../../src/testing/openapi-cases.js";
import { prng } from "../../src/testing/prng.js";
import { type Mutation, mutations, NASTY_STRINGS } from "../../src/testing/schema-mutations.js";
import { signedChallenge, walletSession } from "../../src/testing/signatures.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * Proof: fuzzing every route of the OpenAPI document and the socket protocol finds no 5xx, no
 * crash, and changes no stored data.
 *
 * Every case is one the server must refuse: schema-derived mutations of a valid request (kept only
 * when a validator configured like the server's says the result is invalid; those still valid are
 * counted and dropped), invalid JSON, wrong content types, compression abuse, bad path parameters
 * and query strings, missing or wrong credentials, unrouted methods, and random values and bytes,
 * plus cases a documented rule refuses although the schema allows them (`rule`). Every answer must
 * be < 500, ≥ 400 and in the error shape; every socket frame must get an error frame or a
 * documented close code, and the server must keep serving afterwards.
 *
 * Stored data: a digest of every table of the SQLite file and every file of the data dir (blobs
 * included) before and after. Excluded: `audit_log` and `audit_head` only, because refusing another
 * user's id is audited (SPEC §3) and a fuzzed id can name one; the proof checks instead that the old
 * records are untouched, that every added record is a `tenancy.denied` or an `auth.failed` (fuzzed
 * credentials, one record per address and minute), and that the chain verifies.
 * Rate-limit state is in memory (not stored); the background tasks are stopped first, since the
 * pulse task publishes on the public stream every 60 s whatever the requests do.
 *
 * Seeded: STYX_FUZZ_SEED replays a run (the seed is printed).
 */

const SEED = Number(process.env.STYX_FUZZ_SEED ?? randomInt(1, 2 ** 31 - 1));
/** Random HTTP and socket cases on top of the systematic ones. */
const RANDOM_HTTP = Number(process.env.STYX_FUZZ_RANDOM_HTTP ?? 3000);
const RANDOM_SOCKET = Number(process.env.STYX_FUZZ_RANDOM_SOCKET ?? 800);
const CONCURRENCY = 6;
const BLOB_MAX = 64 * 1024;
/** Tables refused requests may legitimately change (see above); everything else must stay identical. */
const EXCLUDED_TABLES = new Set(["audit_log", "audit_head"]);
/** Close codes a socket may end with: the error table's, plus RFC 6455's for a frame too big (1009) or not UTF-8 (1007). */
const CLOSE_CODES = new Set([...Object.values(ERROR_TABLE).map((e) => e.ws), 1007, 1009]);

/** Whether a string has no lone surrogate (encodeURIComponent throws on one). */
function wellFormed(x: string): boolean {
  try {
    encodeURIComponent(x);
    return true;
  } catch {
    return false;
  }
}

/**
 * Longest query string the fuzz sends: Node's HTTP parser answers 431 past 16 KiB of headers
 * before the server sees the request (that answer is checked once, by its own case).
 */
const MAX_URL_TEXT = 12 * 1024;

/** A query string as the server parses it: repeated keys become lists. */
function parseQuery(q: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of new URLSearchParams(q.startsWith("?") ? q.slice(1) : q)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

interface HttpCase {
  readonly op: string;
  readonly label: string;
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Uint8Array;
  /** A read a garbage header may not refuse (a malformed Range is ignored, RFC 9110): only < 500 and the shape of any error. */
  readonly tolerated?: boolean;
}

interface SocketCase {
  readonly label: string;
  readonly who: "owner" | "reader" | "admin" | "anonymous";
  readonly frame: string | Uint8Array;
  readonly binary?: boolean;
  /** Answered by closing (oversized, not UTF-8, anything on an unauthenticated socket). */
  readonly closes?: boolean;
  /** The id the error frame must carry. */
  readonly id?: string | number;
}

describe("fuzzing every route and the socket protocol", () => {
  let s: TestServer;
  let ops: Operation[];
  let modes: Map<string, { auth: string; scope: string }>;
  let owner: { id: string; key: string; keyId: string };
  let reader: string;
  let other: { id: string; key: string };
  let spareKeyId: string;
  let otherSessionId: string;
  const golems: string[] = [];
  let otherGolem: string;
  let cid: string;
  /** The owner's erasure of a golem made to be erased (done before the digest): `:job_id`. */
  let jobId: string;
  /** A receipt of the owner's, put in the ledger through its port (the fuzzed Styx is unpriced): `:payment_id`. */
  let paymentId: string;
  /** An entry of the owner (fz-g1's, in the clade): `:id` of the entry routes. */
  let entryId: string;
  let before0: Digest;
  let observer: TestSocket;
  let observedBefore = 0;
  let httpPlan: HttpCase[] = [];
  let socketPlan: SocketCase[] = [];
  let generationMs = 0;
  const j = judges();
  const rnd = prng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const figures = { http: 0, socket: 0, dropped: 0, fiveXX: 0, accepted: 0, routes: 0, rules: 0 };
  const failures: string[] = [];
  const fail = (msg: string) => {
    if (failures.length < 40) failures.push(msg);
  };

  before(async () => {
    console.log(`fuzz seed ${SEED} (STYX_FUZZ_SEED=${SEED} replays this run)`);
    s = await startTestServer({ persistent: true, profile: "micro", env: { STYX_BLOB_MAX_BYTES: String(BLOB_MAX) } });
    owner = await s.user("fz-owner");
    other = await s.user("fz-other");
    const ro = await s.request("POST", "/v1/admin/users/fz-owner/keys", { token: s.adminToken, body: { name: "ro", scopes: ["read"] } });
    reader = ro.json.key;
    spareKeyId = (await s.request("POST", "/v1/admin/users/fz-other/keys", { token: s.adminToken, body: { name: "spare" } })).json.id;
    for (const body of [{ id: "fz-g0" }, { id: "fz-g1", parent_golem_id: "fz-g0" }, { id: "fz-g2" }])
      golems.push((await s.golem(owner.key, body)).id);
    otherGolem = (await s.golem(other.key, { id: "fz-other-g" })).id;
    // A wallet session of the other user: `:session_id` names it, so even a request that stays valid answers the tenancy 404.
    const wallet = privateKeyToAccount(generatePrivateKey());
    await s.golem(other.key, { id: "fz-other-w", wallet_address: wallet.address, wallet_proof: await signedChallenge(s, wallet) });
    otherSessionId = (await walletSession(s, wallet)).id;
    // Stored data of every kind, for the digest to guard.
    const ok = async (method: string, path: string, body: unknown) => {
      const r = await s.request(method, path, { token: owner.key, body });
      assert.ok(r.status === 200 || r.status === 201, `${method} ${path} → ${r.status} ${r.text}`);
      return r.json;
    };
    const blob = await s.request("PUT", "/v1/styx/blobs", {
      token: owner.key,
      raw: "fuzz fixture blob",
      headers: { "content-type": "application/octet-stream" },
    });
    cid = blob.json.cid;
    await ok("POST", "/v1/styx/entries", {
      golem_id: "fz-g0",
      layer: "lethe",
      domain: "fz",
      category: "insight",
      confidence: 0.9,
      content: "fuzz fixture",
      embedding: Array.from({ length: 384 }, (_, i) => (i === 0 ? 1 : 0)),
    });
    entryId = (
      await ok("POST", "/v1/styx/entries", {
        golem_id: "fz-g1",
        layer: "clade",
        category: "warning",
        confidence: 0.9,
        content: "fuzz clade",
        content_blob: cid,
        metadata: { a: 1 },
      })
    ).id;
    await ok("POST", "/v1/styx/pheromone/deposit", {
      golem_id: "fz-g0",
      layer: "threat",
      class: "fz",
      intensity: 0.8,
      domain: "fz",
      regime: "calm",
    });
    await ok("POST", "/v1/styx/causal/publish", {
      golem_id: "fz-g0",
      from_variable: "a",
      to_variable: "b",
      direction: "positive",
      strength: 0.5,
      lag_ticks: 1,
      evidence_count: 3,
      confidence: 0.7,
      domain: "fz",
      regime: "calm",
    });
    await ok("POST", "/v1/styx/clade/register", { golem_id: "fz-g1", domains: ["fz"] });
    await ok("POST", "/v1/styx/golem/fz-g1/steer", { intent: "hold" });
    await ok("POST", "/v1/styx/bloodstain", {
      golem_id: "fz-g2",
      generation: 0,
      death_cause: "fuzz",
      warnings: [{ domain: "fz", regime: "calm", class: "fz", severity: 0.5, message: "beware" }],
      timestamp: "2026-01-01T00:00:00.000Z",
    });
    // An erasure, finished before the digest is taken: its job fills `:job_id` (the admin's view reads it too).
    await s.golem(owner.key, { id: "fz-erased" });
    const erase = await s.request("DELETE", "/v1/styx/golems/fz-erased", { token: owner.key });
    assert.equal(erase.status, 202, erase.text);
    jobId = erase.json.id;
    for (let i = 0; i < 200; i++) {
      if ((await s.request("GET", `/v1/styx/erasures/${jobId}`, { token: owner.key })).json?.state === "done") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await s.request("GET", `/v1/styx/erasures/${jobId}`, { token: owner.key })).json?.state, "done", "the erasure finished");
    paymentId = "pay_fuzz0";
    const ledger = s.styx.storage.payments;
    assert.ok(ledger, "the fuzzed Styx keeps a payments ledger");
    assert.ok(
      await ledger.reserve({
        id: paymentId,
        network: "eip155:84532",
        asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
        payer: "0x00000000000000000000000000000000000000f2",
        nonce: `0x${"f2".repeat(32)}`,
        amount: 1000,
        operation: "entry_write",
        purpose: "request",
        userId: owner.id,
        keyId: null,
        golemId: "fz-g0",
        payload: "{}",
        requirements: "{}",
        validBefore: Math.floor(Date.now() / 1000) + 300,
        createdAt: Date.now(),
      }),
    );
    const { sock } = await TestSocket.connect(s.url, owner.key);
    observer = sock;
    assert.equal((await sock.request({ type: "heartbeat", golem_id: "fz-g0", tick: 3, phase: "p" })).type, "ack");
    assert.equal((await sock.request({ type: "clade_delta", golem_id: "fz-g0", entries: [{ k: 1 }] })).type, "ack");
    assert.equal((await sock.request({ type: "subscribe", domains: ["fz"] })).type, "subscribed");

    const doc = await s.request("GET", "/docs/json");
    ops = operationsOf(doc.json);
    modes = new Map(
      s.styx.app.styxRoutes.map((r) => [
        `${r.method} ${r.url}`,
        { auth: r.config.auth ?? "user", scope: r.config.scope ?? (r.method === "GET" ? "read" : "write") },
      ]),
    );
    await s.styx.tasks.stop();
    const t0 = performance.now();
    httpPlan = await httpCases();
    socketPlan = await socketCases();
    generationMs = Math.round(performance.now() - t0);
    console.log(`fuzz plan: ${httpPlan.length} HTTP and ${socketPlan.length} socket cases built in ${generationMs} ms`);
    // Building the cases yields often, but holds the loop in slices; the load monitor judges the last two
    // one-second samples, so give it two clean ones before the first case.
    await new Promise((r) => setTimeout(r, 2500));
    for (let i = 0; i < 100 && !s.styx.load.state().acceptingWrites; i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(s.styx.load.state().acceptingWrites, "the server sheds load before the fuzz started");
    before0 = await digest();
    observedBefore = observer.frames.length;
  });

  after(async () => {
    await observer?.close();
    await s?.close();
  });

  interface Digest {
    readonly tables: Record<string, string>;
    readonly files: Record<string, string>;
    readonly audit: { seq: number; action: string; hash: string }[];
    readonly presence: string;
  }

  async function digest(): Promise<Digest> {
    const tables: Record<string, string> = {};
    const names = await s.sql("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
    for (const { name } of names as { name: string }[]) {
      if (EXCLUDED_TABLES.has(name)) continue;
      const rows = (await s.sql(`SELECT * FROM "${name}"`)).map((r: unknown) => JSON.stringify(r)).sort();
      tables[name] = `${rows.length}:${createHash("sha256").update(rows.join("\n")).digest("hex")}`;
    }
    const files: Record<string, string> = {};
    const dir = s.dataDir as string;
    const walk = (d: string, rel: string) => {
      for (const n of readdirSync(d).sort()) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
        else if (!/^styx\.db(-wal|-shm)?$/.test(`${rel}${n}`))
          files[`${rel}${n}`] = createHash("sha256").update(readFileSync(p)).digest("hex");
      }
    };
    walk(dir, "");
    const audit = (await s.sql("SELECT seq, action, hash FROM audit_log ORDER BY seq")) as Digest["audit"];
    // Presence lives in memory (a micronode): the owner's fleet as the last heartbeats left it.
    const fleet = await s.request("GET", "/v1/styx/fleet/fz-owner", { token: owner.key });
    const presence = `${fleet.status} ${JSON.stringify(fleet.json?.golems?.map(({ online: _o, age_seconds: _a, ...rest }: { online: boolean; age_seconds: number }) => rest) ?? fleet.text)}`;
    return { tables, files, audit, presence };
  }

  const override =
    (golem: string) =>
    (name: string): unknown => {
      if (name === "golem_id" || name === "parent_golem_id") return golem;
      return undefined;
    };

  const bases = new Map<Operation, ReturnType<typeof makeBase>>();
  /** The valid request every mutation starts from: the owner's own ids, the admin token on admin routes. */
  function base(op: Operation): ReturnType<typeof makeBase> {
    let b = bases.get(op);
    if (!b) {
      b = makeBase(op);
      bases.set(op, b);
    }
    return b;
  }

  function makeBase(op: Operation) {
    const mode = modes.get(`${op.method} ${routeUrl(op)}`);
    assert.ok(mode, `${op.key} is not among the server's routes`);
    const token = mode.auth === "admin" ? s.adminToken : mode.auth === "user" ? owner.key : undefined;
    const values: Record<string, string> = {};
    for (const p of op.pathParams) {
      const v = {
        user_id: owner.id,
        golem_id: "fz-g0",
        cid,
        key_id: spareKeyId,
        session_id: otherSessionId,
        id: entryId,
        job_id: jobId,
        payment_id: paymentId,
      }[p.name];
      assert.ok(v, `${op.key}: no way to fill path parameter ${p.name}`);
      values[p.name] = v;
    }
    const qs = querySchema(op);
    const query = qs ? (sampleValid(qs, { seed: SEED }) as Record<string, unknown>) : {};
    const json =
      op.body?.contentType === "application/json" ? sampleValid(op.body.schema, { seed: SEED, override: override("fz-g0") }) : undefined;
    if (json !== undefined) assert.ok(j.body(op.body?.schema as JsonSchema)(json), `${op.key}: the base body must be valid`);
    return { mode, token, values, query, json, qs };
  }

  const qtext = (q: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(q).map(([k, v]) => [
        k,
        v === undefined ? undefined : typeof v === "string" || Array.isArray(v) ? (v as string | string[]) : asQueryText(v),
      ]),
    );

  /** Whether a JSON text is refused by the schema (or not JSON at all). */
  function invalidJson(schema: JsonSchema, text: string): boolean {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return true;
    }
    return !j.body(schema)(v);
  }

  /** Lets the event loop (the server's too, in this process) run between slices of case building. */
  const breathe = () => new Promise<void>((r) => setImmediate(r));

  async function httpCases(): Promise<HttpCase[]> {
    const cases: HttpCase[] = [];
    const auth = (token: string | undefined): Record<string, string> => (token ? { authorization: `Bearer ${token}` } : {});
    for (const op of ops) {
      await breathe();
      const b = base(op);
      const path = fillPath(op, b.values);
      const q = queryString(qtext(b.query));
      const add = (c: Omit<HttpCase, "op" | "method"> & { method?: string }) => cases.push({ op: op.key, method: op.method, ...c });
      const jsonHeaders = { ...auth(b.token), "content-type": "application/json" };
      const bodyText = b.json === undefined ? undefined : JSON.stringify(b.json);

      // Body mutations, kept only when invalid (or refused by a documented rule).
      if (op.body?.contentType === "application/json") {
        const schema = op.body.schema;
        const muts: Mutation[] = mutations(schema, b.json);
        for (const m of muts) {
          if (!m.rule && !invalidJson(schema, m.text)) {
            figures.dropped++;
            continue;
          }
          if (m.rule) figures.rules++;
          add({ label: `body: ${m.label}${m.rule ? ` (rule: ${m.rule})` : ""}`, path: path + q, headers: jsonHeaders, body: m.text });
        }
        const t = bodyText as string;
        const raws = [
          t.slice(0, -1),
          "{",
          '{"a":',
          `${t}x`,
          `${t.slice(0, -1)},}`,
          t.replaceAll('"', "'"),
          "{a:1}",
          "NaN",
          "",
          "\uFEFF{",
          `{"__proto__":{"polluted":true},${t.slice(1)}`,
          `{"constructor":{"prototype":{"polluted":true}},${t.slice(1)}`,
          '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000),
          "[".repeat(50_000) + "]".repeat(50_000),
        ];
        for (const r of raws) {
          if (!invalidJson(schema, r)) {
            figures.dropped++;
            continue;
          }
          add({ label: `invalid JSON ${JSON.stringify(r.slice(0, 20))}`, path: path + q, headers: jsonHeaders, body: r });
        }
        // Bytes that are not UTF-8 inside the first string field (decoded as U+FFFD, which no pattern allows).
        const key = Object.entries(b.json as Record<string, unknown>).find(([, v]) => typeof v === "string")?.[0];
        if (key) {
          const [pre, post] = t.split(JSON.stringify((b.json as Record<string, string>)[key]));
          const bytes = Buffer.concat([Buffer.from(`${pre}"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(`"${post ?? ""}`)]);
          if (invalidJson(schema, new TextDecoder().decode(bytes)))
            add({ label: `bytes not UTF-8 in /${key}`, path: path + q, headers: jsonHeaders, body: new Uint8Array(bytes) });
        }
        // A valid body with a type the JSON routes do not take (text/plain reaches validation as a string).
        for (const ct of [
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/octet-stream",
          "application/xml",
          "application/jsonx",
          "application/vnd.api+json",
        ]) {
          add({ label: `content-type ${ct}`, path: path + q, headers: { ...auth(b.token), "content-type": ct }, body: t });
        }
        add({ label: "no content-type", path: path + q, headers: auth(b.token), body: new TextEncoder().encode(t) });
        // Compression abuse: bombs past the 10× ratio, corrupt streams, unknown encodings (on a valid body).
        const bomb = `{"a":"${"A".repeat(2_000_000)}`;
        for (const [enc, z] of [
          ["gzip", gzipSync],
          ["deflate", deflateSync],
          ["br", brotliCompressSync],
        ] as const) {
          add({
            label: `${enc} bomb`,
            path: path + q,
            headers: { ...jsonHeaders, "content-encoding": enc },
            body: new Uint8Array(z(bomb)),
          });
          add({
            label: `${enc} of garbage`,
            path: path + q,
            headers: { ...jsonHeaders, "content-encoding": enc },
            body: new Uint8Array(Array.from({ length: 64 }, () => Math.floor(rnd() * 256))),
          });
          const inv = muts.find((m) => !m.rule && invalidJson(schema, m.text));
          if (inv)
            add({
              label: `${enc} of an invalid body`,
              path: path + q,
              headers: { ...jsonHeaders, "content-encoding": enc },
              body: new Uint8Array(z(inv.text)),
            });
          const whole = z(t);
          add({
            label: `${enc} truncated`,
            path: path + q,
            headers: { ...jsonHeaders, "content-encoding": enc },
            body: new Uint8Array(whole.subarray(0, Math.max(1, whole.length - 8))),
          });
        }
        for (const enc of ["zstd", "compress", "gzip, gzip", "identity, gzip", "x-unknown"]) {
          add({
            label: `content-encoding ${enc}`,
            path: path + q,
            headers: { ...jsonHeaders, "content-encoding": enc },
            body: new Uint8Array(gzipSync(t)),
          });
        }
        add({ label: "body over the 1 MiB limit", path: path + q, headers: jsonHeaders, body: `{"a":"${"x".repeat(1_100_000)}"}` });
      }

      // The blob upload: every octet-stream body is valid, so only its limits and types can be fuzzed.
      if (op.body?.contentType === "application/octet-stream") {
        const h = { ...auth(b.token), "content-type": "application/octet-stream" };
        add({ label: "blob over STYX_BLOB_MAX_BYTES", path, headers: h, body: new Uint8Array(BLOB_MAX + 1) });
        add({
          label: "blob bomb",
          path,
          headers: { ...h, "content-encoding": "gzip" },
          body: new Uint8Array(gzipSync(Buffer.alloc(4 * BLOB_MAX))),
        });
        add({
          label: "blob gzip garbage",
          path,
          headers: { ...h, "content-encoding": "gzip" },
          body: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]),
        });
        add({ label: "blob zstd", path, headers: { ...h, "content-encoding": "zstd" }, body: new Uint8Array([1, 2, 3]) });
        for (const ct of ["application/json", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"]) {
          add({ label: `blob as ${ct}`, path, headers: { ...auth(b.token), "content-type": ct }, body: '{"bytes":1}' });
        }
        add({ label: "blob without content-type", path, headers: auth(b.token), body: new Uint8Array([1, 2, 3]) });
        add({
          label: "blob by a read-only key",
          path,
          headers: { authorization: `Bearer ${reader}`, "content-type": "application/octet-stream" },
          body: new Uint8Array([1, 2, 3]),
        });
      }
      const bodyOf = (): { headers: Record<string, string>; body?: string | Uint8Array } =>
        op.body === undefined
          ? { headers: auth(b.token) }
          : op.body.contentType === "application/json"
            ? { headers: jsonHeaders, body: bodyText as string }
            : { headers: { ...auth(b.token), "content-type": "application/octet-stream" }, body: new Uint8Array([9, 9, 9]) };

      // Path parameters: invalid by pattern, over-long, badly encoded, or an id nobody has.
      for (const p of op.pathParams) {
        const bad = [
          "a".repeat(129),
          "a".repeat(300),
          "a".repeat(5000),
          ...NASTY_STRINGS.filter((x) => x !== "" && x !== "-1" && wellFormed(x)).map(encodeURIComponent),
          "..",
          ".",
          "-lead",
          "_lead",
          encodeURIComponent("a/b"),
          "%",
          "%zz",
          "%ED%A0%80",
          "%C0%AF",
          p.name === "cid" ? `b3:${"0".repeat(64)}` : `nope-${SEED}`,
          p.name === "cid" ? "b3:XYZ" : encodeURIComponent(`b3:${"0".repeat(64)}`),
        ];
        for (const v of bad) {
          const filled = op.path.replace(/\{([^}]+)\}/g, (_m, n: string) => (n === p.name ? v : encodeURIComponent(b.values[n] as string)));
          add({ label: `path ${p.name}=${v.slice(0, 20)}`, path: filled + q, ...bodyOf() });
        }
        add({ label: `path ${p.name} empty`, path: op.path.replace(`{${p.name}}`, "") + q, ...bodyOf() });
      }

      // Query strings: mutations of the valid one (judged the way the server coerces text), and junk.
      const qs = b.qs;
      if (qs) {
        for (const m of mutations(qs, b.query)) {
          // Text has no nesting: the deep-nesting mutations have no query form.
          if (m.label.startsWith("deep nesting")) continue;
          let v: unknown;
          try {
            v = JSON.parse(m.text);
          } catch {
            continue;
          }
          if (!v || typeof v !== "object" || Array.isArray(v)) continue;
          const asText = Object.fromEntries(
            Object.entries(v as Record<string, unknown>).map(([k, x]) => [
              k,
              Array.isArray(x) && x.every((i) => typeof i === "string") ? (x as string[]) : asQueryText(x),
            ]),
          );
          const sent = queryString(asText);
          // Judged as the server will see it (an empty list, for one, is no parameter at all).
          if (sent.length > MAX_URL_TEXT || j.text(qs)(parseQuery(sent))) {
            figures.dropped++;
            continue;
          }
          add({ label: `query: ${m.label}`, path: path + sent, ...bodyOf() });
        }
        for (const p of op.query) {
          for (const x of ["", "abc", "-1", "1.5", "1e999", "1e300", "NaN", "Infinity", "0x10", "\u0000", "💀", "x".repeat(10_000)]) {
            const t = queryString({ ...qtext(b.query), [p.name]: x });
            if (j.text(qs)(parseQuery(t))) {
              figures.dropped++;
              continue;
            }
            add({ label: `query ${p.name}=${x.slice(0, 12)}`, path: path + t, ...bodyOf() });
          }
          const rep = queryString({ ...qtext(b.query), [p.name]: [asQueryText(b.query[p.name] ?? "1"), "2", "3"] });
          if (!j.text(qs)(parseQuery(rep))) add({ label: `query ${p.name} repeated`, path: path + rep, ...bodyOf() });
        }
        add({ label: "query unknown parameter", path: path + queryString({ ...qtext(b.query), zz_unknown: "1" }), ...bodyOf() });
      }

      // Credentials: none, garbage, malformed, the wrong kind, a key without the scope.
      if (op.secured) {
        const { body } = bodyOf();
        const ct: Record<string, string> = op.body ? { "content-type": op.body.contentType } : {};
        const creds: [string, Record<string, string>][] = [
          ["no credential", {}],
          ["unknown key", { authorization: "Bearer styx_garbage" }],
          ["Basic auth", { authorization: "Basic YTpi" }],
          ["Bearer alone", { authorization: "Bearer" }],
          ["two tokens", { authorization: `Bearer ${owner.key} extra` }],
          ["key in lower-case", { authorization: `Bearer ${owner.key.toLowerCase()}` }],
          b.mode.auth === "admin"
            ? ["a user key on an admin route", { authorization: `Bearer ${owner.key}` }]
            : ["the admin token on a user route", { authorization: `Bearer ${s.adminToken}` }],
        ];
        if (b.mode.auth === "user" && b.mode.scope === "write") creds.push(["a read-only key", { authorization: `Bearer ${reader}` }]);
        for (const [label, h] of creds)
          add({ label: `auth: ${label}`, path: path + q, headers: { ...h, ...ct }, ...(body !== undefined ? { body } : {}) });
      }

      // Methods the document does not route on this path.
      const routed = new Set(ops.filter((o) => o.path === op.path).map((o) => o.method));
      for (const m of ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
        if (routed.has(m) || cases.some((c) => c.method === m && c.op === op.key && c.label === "unrouted method")) continue;
        add({ label: "unrouted method", method: m, path, headers: auth(b.token) });
      }

      // Byte ranges on the owner's own blob: a garbage Range may be ignored (tolerated), never a 5xx.
      if (op.key === "GET /v1/styx/blobs/{cid}") {
        for (const r of [
          "bytes=abc",
          "bytes=999999-",
          "bytes=5-1",
          "bytes=0-1,2-3",
          "bytes=-0",
          "bytes=--1",
          "items=0-1",
          `bytes=0-${"9".repeat(400)}`,
          "bytes=1e3-",
        ]) {
          add({ label: `range ${r.slice(0, 20)}`, path, headers: { ...auth(b.token), range: r }, tolerated: true });
        }
      }
    }

    // Headers past Node's 16 KiB: answered by the HTTP parser, in the error shape all the same.
    for (const op of ops.filter((o) => o.method === "GET" && o.query.length > 0)) {
      const b = base(op);
      cases.push({
        op: op.key,
        label: "URL over 16 KiB",
        method: "GET",
        path: `${fillPath(op, b.values)}?${op.query[0]?.name}=${"q".repeat(20_000)}`,
        headers: b.token ? { authorization: `Bearer ${b.token}` } : {},
      });
    }
    cases.push({
      op: "GET /v1/styx/me",
      label: "a header over 16 KiB",
      method: "GET",
      path: "/v1/styx/me",
      headers: { authorization: `Bearer ${owner.key}`, "x-junk": "j".repeat(20_000) },
    });

    // Random: values, bytes and paths from the seed.
    const jsonOps = ops.filter((o) => o.body?.contentType === "application/json");
    const values = fc.sample(fc.jsonValue({ maxDepth: 5 }), { seed: SEED, numRuns: RANDOM_HTTP });
    const strings = fc.sample(fc.string({ unit: "binary", maxLength: 80 }), { seed: SEED + 1, numRuns: RANDOM_HTTP });
    for (let i = 0; i < RANDOM_HTTP; i++) {
      if (i % 100 === 0) await breathe();
      const kind = Math.floor(rnd() * 4);
      if (kind === 0 || kind === 1) {
        const op = pick(jsonOps);
        const b = base(op);
        const schema = op.body?.schema as JsonSchema;
        let text: string;
        if (kind === 0) {
          // A random value somewhere in the valid body.
          const keys = Object.keys(b.json as Record<string, unknown>);
          const k = rnd() < 0.8 && keys.length > 0 ? pick(keys) : `r${i}`;
          text = JSON.stringify({ ...(b.json as Record<string, unknown>), [k]: values[i] });
        } else text = JSON.stringify(values[i]);
        if (!invalidJson(schema, text)) {
          figures.dropped++;
          continue;
        }
        cases.push({
          op: op.key,
          label: `random value #${i}`,
          method: op.method,
          path: fillPath(op, b.values),
          headers: { ...(b.token ? { authorization: `Bearer ${b.token}` } : {}), "content-type": "application/json" },
          body: text,
        });
      } else if (kind === 2) {
        const op = pick(jsonOps);
        const b = base(op);
        const bytes = new Uint8Array(Array.from({ length: 1 + Math.floor(rnd() * 512) }, () => Math.floor(rnd() * 256)));
        if (!invalidJson(op.body?.schema as JsonSchema, new TextDecoder().decode(bytes))) continue;
        const ct = pick(["application/json", "text/plain", "application/octet-stream"]);
        cases.push({
          op: op.key,
          label: `random bytes #${i} as ${ct}`,
          method: op.method,
          path: fillPath(op, b.values),
          headers: { ...(b.token ? { authorization: `Bearer ${b.token}` } : {}), "content-type": ct },
          body: bytes,
        });
      } else {
        // A random path parameter, or a random segment in place of a fixed one.
        const op = pick(ops.filter((o) => o.pathParams.length > 0));
        const b = base(op);
        const raw = strings[i] as string;
        if (!wellFormed(raw)) continue;
        const v = raw;
        const p = op.pathParams[0]?.name as string;
        const tenantIds = new Set([owner.id, ...golems, cid, spareKeyId]);
        // The owner's own ids would be served; any other well-formed id is one nobody (or another user) holds: 404.
        if (tenantIds.has(v)) continue;
        const path = op.path.replace(/\{([^}]+)\}/g, (_m, n: string) => encodeURIComponent(n === p ? v : (b.values[n] as string)));
        const body = op.body?.contentType === "application/json" ? JSON.stringify(b.json) : undefined;
        cases.push({
          op: op.key,
          label: `random path #${i} ${JSON.stringify(v).slice(0, 30)}`,
          method: op.method,
          path,
          headers: { ...(b.token ? { authorization: `Bearer ${b.token}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
          ...(body ? { body } : {}),
        });
      }
    }
    return cases;
  }

  async function run(c: HttpCase, index: number): Promise<void> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(s.url + c.path, { method: c.method, headers: c.headers, body: c.body, signal: AbortSignal.timeout(20_000) });
      text = await res.text();
    } catch (err) {
      fail(`#${index} ${c.op} ${c.label}: no answer (${(err as Error).message})`);
      return;
    }
    const what = `#${index} ${c.method} ${c.path.slice(0, 120)} [${c.op}: ${c.label}]`;
    if (res.status >= 500) {
      figures.fiveXX++;
      fail(`${what} → ${res.status} ${text.slice(0, 200)}`);
      return;
    }
    if (res.status < 400) {
      if (c.tolerated) return;
      figures.accepted++;
      fail(`${what} was served (${res.status} ${text.slice(0, 160)}) though it must be refused`);
      return;
    }
    let body: { error?: { code?: unknown; message?: unknown } } | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const code = body?.error?.code;
    if (typeof code !== "string" || !Object.hasOwn(ERROR_TABLE, code) || typeof body?.error?.message !== "string") {
      fail(`${what} → ${res.status} not in the error shape: ${text.slice(0, 160)}`);
    }
  }

  it("answers every invalid request to every route with a 4xx in the error shape", async () => {
    failures.length = 0;
    const cases = httpPlan;
    const covered = new Set(cases.map((c) => c.op));
    figures.routes = covered.size;
    assert.deepEqual(
      ops.map((o) => o.key).filter((k) => !covered.has(k)),
      [],
      "every route of the document gets cases",
    );
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const i = next++;
        await run(cases[i] as HttpCase, i);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    figures.http = cases.length;
    assert.deepEqual(failures, [], `seed ${SEED}: refused requests answered badly`);
    const health = await s.request("GET", "/v1/styx/health");
    assert.equal(health.status, 200, "the server still answers after the HTTP fuzz");
  });

  async function socketCases(): Promise<SocketCase[]> {
    const cases: SocketCase[] = [];
    let n = 0;
    /** Gives an object frame an id (first, so a mutated id later in the text wins) and says which id the error must carry. */
    const withId = (text: string): { frame: string; id?: string | number } => {
      const id = `m${++n}`;
      const frame = text.startsWith("{") ? (text === "{}" ? `{"id":"${id}"}` : `{"id":"${id}",${text.slice(1)}`) : text;
      let parsed: unknown;
      try {
        parsed = JSON.parse(frame);
      } catch {
        return { frame };
      }
      const got = (parsed as { id?: unknown } | null)?.id;
      const ok = (typeof got === "string" && got.length >= 1 && got.length <= 128) || (typeof got === "number" && Number.isInteger(got));
      return ok ? { frame, id: got as string | number } : { frame };
    };
    const invalidMsg = (text: string): boolean => {
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return true;
      }
      const type = (v as { type?: unknown } | null)?.type;
      const schema =
        typeof type === "string" && Object.hasOwn(CLIENT_MESSAGES, type)
          ? CLIENT_MESSAGES[type as keyof typeof CLIENT_MESSAGES]
          : undefined;
      return !schema || !j.socket(schema as unknown as JsonSchema)(v);
    };
    const baseOf = (type: string, schema: JsonSchema) =>
      sampleValid(schema, {
        seed: SEED,
        override: (name) =>
          name === "golem_id"
            ? "fz-g0"
            : name === "streams" && type === "resume"
              ? { [`user:${owner.id}`]: { epoch: "e", seq: 0 } }
              : name === "entries"
                ? [{ k: 1 }]
                : name === "event"
                  ? { type: "golem:tick" }
                  : undefined,
      });
    for (const [type, schema] of Object.entries(CLIENT_MESSAGES)) {
      await breathe();
      const valid = baseOf(type, schema as unknown as JsonSchema);
      assert.ok(j.socket(schema as unknown as JsonSchema)(valid), `the base ${type} message must be valid`);
      for (const m of mutations(schema as unknown as JsonSchema, valid)) {
        if (!m.rule && !invalidMsg(m.text)) {
          figures.dropped++;
          continue;
        }
        if (m.text.length > MAX_FRAME_BYTES) continue;
        cases.push({ label: `${type}: ${m.label}`, who: "owner", ...withId(m.text) });
      }
      // Valid messages a rule refuses: another user's golem, a golem nobody has, the wrong credential.
      if ("golem_id" in (valid as object) && type !== "auth") {
        for (const g of [otherGolem, `nope-${SEED}`])
          cases.push({ label: `${type} for golem ${g}`, who: "owner", ...withId(JSON.stringify({ ...(valid as object), golem_id: g })) });
        cases.push({ label: `${type} by a read-only key`, who: "reader", ...withId(JSON.stringify(valid)) });
        cases.push({ label: `${type} by the admin token`, who: "admin", ...withId(JSON.stringify(valid)) });
      }
    }
    cases.push({ label: "auth on an authenticated socket", who: "owner", ...withId(JSON.stringify({ type: "auth", token: owner.key })) });
    cases.push({
      label: "event over 64 KiB",
      who: "owner",
      ...withId(JSON.stringify({ type: "event", golem_id: "fz-g0", event: { type: "golem:big", pad: "x".repeat(70_000) } })),
    });
    const deeps: [string, string][] = [
      ["objects", `${'{"a":'.repeat(20_000)}1${"}".repeat(20_000)}`],
      ["arrays", "[".repeat(20_000) + "]".repeat(20_000)],
    ];
    for (const [label, deep] of deeps) {
      cases.push({
        label: `event nested 20,000 ${label} deep`,
        who: "owner",
        ...withId(`{"type":"event","golem_id":"fz-g0","event":{"type":"golem:deep","d":${deep}}}`),
      });
      cases.push({
        label: `clade delta nested 20,000 ${label} deep`,
        who: "owner",
        ...withId(`{"type":"clade_delta","golem_id":"fz-g0","entries":[{"d":${deep}}]}`),
      });
      cases.push({ label: `frame nested 20,000 ${label} deep`, who: "owner", frame: deep });
    }
    const raws = [
      "",
      " ",
      "{",
      "{not json",
      "null",
      "[]",
      "[1,2]",
      "1",
      '"x"',
      "true",
      '{"type":1}',
      '{"type":"nope"}',
      '{"type":"__proto__"}',
      '{"type":"constructor"}',
      '{"type":"toString"}',
      '{"type":"hasOwnProperty"}',
      '{"__proto__":{"type":"ping"}}',
      "1e999",
      `"${"x".repeat(100_000)}"`,
      '{"type":"ping","id":{}}',
      '{"type":"ping","id":1e999}',
      '{"type":"ping","id":1.5}',
      `{"type":"ping","id":"${"i".repeat(129)}"}`,
      '{"type":"ping","id":""}',
    ];
    for (const r of raws) cases.push({ label: `frame ${JSON.stringify(r.slice(0, 24))}`, who: "owner", ...withId(r) });
    for (let i = 0; i < 40; i++) {
      const bytes = new Uint8Array(Array.from({ length: 1 + Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      cases.push({ label: `binary frame #${i}`, who: "owner", frame: bytes, binary: true });
    }
    cases.push({ label: "a valid ping as a binary frame", who: "owner", frame: new TextEncoder().encode('{"type":"ping"}'), binary: true });
    for (const bytes of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0x7b, 0xf0, 0x28, 0x8c, 0x28, 0x7d]]) {
      cases.push({
        label: `text frame not UTF-8 ${bytes.map((b) => b.toString(16)).join(" ")}`,
        who: "owner",
        frame: new Uint8Array(bytes),
        closes: true,
      });
    }
    cases.push({
      label: "text frame over 1 MiB",
      who: "owner",
      frame: JSON.stringify({ type: "ping", id: "x".repeat(MAX_FRAME_BYTES) }),
      closes: true,
    });
    cases.push({ label: "binary frame over 1 MiB", who: "owner", frame: new Uint8Array(MAX_FRAME_BYTES + 1), binary: true, closes: true });
    // Random JSON values, and random objects with a known type.
    const types = Object.keys(CLIENT_MESSAGES);
    const values = fc.sample(fc.jsonValue({ maxDepth: 4 }), { seed: SEED + 2, numRuns: RANDOM_SOCKET });
    const objects = fc.sample(
      fc.dictionary(
        fc.constantFrom("golem_id", "event", "streams", "domains", "entries", "intent", "tick", "pad", "token", "categories", "x"),
        fc.jsonValue({ maxDepth: 3 }),
      ),
      { seed: SEED + 3, numRuns: RANDOM_SOCKET },
    );
    for (let i = 0; i < RANDOM_SOCKET; i++) {
      if (i % 100 === 0) await breathe();
      for (const v of [values[i], { ...(objects[i] as object), type: pick(types) }]) {
        const text = JSON.stringify(v);
        if (!invalidMsg(text) && !text.includes('"type":"auth"')) {
          figures.dropped++;
          continue;
        }
        if (text.includes('"type":"auth"') && !invalidMsg(text)) {
          cases.push({ label: `random auth #${i}`, who: "owner", ...withId(text) });
          continue;
        }
        cases.push({ label: `random #${i}`, who: "owner", ...withId(text) });
      }
    }
    // Unauthenticated sockets: whatever comes first that is not a valid auth ends the socket.
    const firsts = [
      ...raws.slice(0, 12),
      JSON.stringify({ type: "ping" }),
      JSON.stringify({ type: "subscribe", domains: ["fz"] }),
      JSON.stringify({ type: "auth", token: "styx_garbage" }),
      JSON.stringify({ type: "auth", token: "" }),
      JSON.stringify({ type: "auth", token: 5 }),
    ];
    for (const f of firsts)
      cases.push({ label: `first frame ${JSON.stringify(f.slice(0, 24))} without credentials`, who: "anonymous", frame: f, closes: true });
    for (let i = 0; i < 20; i++)
      cases.push({ label: `random first frame #${i}`, who: "anonymous", frame: JSON.stringify(values[i]), closes: true });
    return cases;
  }

  it("answers every invalid socket frame with an error frame or a documented close code", async () => {
    failures.length = 0;
    const cases = socketPlan;
    const sockets = new Map<string, TestSocket>();
    const tokens = { owner: owner.key, reader, admin: s.adminToken };
    const open = async (who: keyof typeof tokens) => {
      let sock = sockets.get(who);
      if (!sock || sock.ws.readyState !== sock.ws.OPEN) {
        sock = (await TestSocket.connect(s.url, tokens[who])).sock;
        sockets.set(who, sock);
      }
      return sock;
    };
    let probe = 0;
    for (const [i, c] of cases.entries()) {
      const what = `#${i} [${c.who}: ${c.label}]`;
      if (c.who === "anonymous") {
        const sock = await TestSocket.open(s.url);
        sock.ws.send(c.frame, { binary: c.binary ?? false });
        const closed = await Promise.race([sock.closed, new Promise<null>((r) => setTimeout(() => r(null), 7000))]);
        if (!closed) fail(`${what}: the unauthenticated socket stayed open`);
        else if (!CLOSE_CODES.has(closed.code)) fail(`${what}: closed with ${closed.code}`);
        continue;
      }
      const sock = await open(c.who);
      const from = sock.frames.length;
      const pingId = `probe-${++probe}`;
      sock.ws.send(c.frame, { binary: c.binary ?? false });
      sock.send({ type: "ping", id: pingId });
      let answered: "pong" | "closed";
      try {
        answered = await sock.until(
          () =>
            sock.frames.slice(from).some((f) => f.type === "pong" && f.id === pingId)
              ? "pong"
              : sock.ws.readyState === sock.ws.CLOSED
                ? "closed"
                : undefined,
          10_000,
        );
      } catch {
        answered = sock.ws.readyState === sock.ws.CLOSED ? "closed" : (fail(`${what}: no answer`), "closed");
      }
      const got = sock.frames.slice(from);
      const errors = got.filter((f) => f.type === "error");
      for (const e of errors) {
        if (!Object.hasOwn(ERROR_TABLE, e.code) || e.code === "STYX_INTERNAL")
          fail(`${what}: error frame ${JSON.stringify(e).slice(0, 200)}`);
      }
      if (got.some((f) => f.stream !== undefined)) fail(`${what}: an event frame came back: ${JSON.stringify(got).slice(0, 200)}`);
      if (answered === "closed") {
        const { code } = await sock.closed;
        if (!CLOSE_CODES.has(code)) fail(`${what}: closed with ${code}`);
        sockets.delete(c.who);
      } else {
        if (c.closes) fail(`${what}: the socket should have been closed`);
        if (errors.length === 0) fail(`${what}: no error frame (got ${JSON.stringify(got).slice(0, 200)})`);
        else if (c.id !== undefined && !errors.some((e) => e.id === c.id))
          fail(`${what}: the error frame lacks the id ${c.id}: ${JSON.stringify(errors).slice(0, 200)}`);
      }
    }
    figures.socket = cases.length;
    for (const sock of sockets.values()) await sock.close();
    assert.deepEqual(failures, [], `seed ${SEED}: socket frames answered badly`);
    // Still serving: HTTP, a new socket, and the observer that watched it all.
    assert.equal((await s.request("GET", "/v1/styx/health")).status, 200);
    const fresh = await TestSocket.connect(s.url, owner.key);
    assert.equal((await fresh.sock.request({ type: "ping" })).type, "pong");
    await fresh.sock.close();
    assert.equal((await observer.request({ type: "ping" })).type, "pong", "the observing socket survived");
  });

  it("leaves the stored data as it was", async () => {
    const after0 = await digest();
    const changed = Object.keys({ ...before0.tables, ...after0.tables }).filter((t) => before0.tables[t] !== after0.tables[t]);
    assert.deepEqual(changed, [], "tables changed by refused requests");
    assert.deepEqual(after0.files, before0.files, "files in the data dir changed");
    assert.equal(after0.presence, before0.presence, "presence changed");
    assert.deepEqual(after0.audit.slice(0, before0.audit.length), before0.audit, "earlier audit records were touched");
    const added = after0.audit.slice(before0.audit.length);
    assert.deepEqual(
      [...new Set(added.map((a) => a.action))].filter((a) => a !== "tenancy.denied" && a !== "auth.failed"),
      [],
      "audit records other than tenancy denials and failed authentications",
    );
    assert.equal((await s.styx.audit.verify()).ok, true, "the audit chain verifies");
    const events = observer.frames.slice(observedBefore).filter((f) => f.stream !== undefined);
    assert.deepEqual(events, [], "events were published during the fuzz");
    reportFigures("fuzz (every route and the socket protocol)", {
      seed: String(SEED),
      "HTTP cases": figures.http,
      "socket cases": figures.socket,
      "routes covered": `${figures.routes}/${ops.length}`,
      "rule cases (valid by schema, refused by a documented rule)": figures.rules,
      "valid mutations dropped": figures.dropped,
      "5xx": figures.fiveXX,
      "digest unchanged": "yes",
      "digest covers": `${Object.keys(after0.tables).length} tables (all but ${[...EXCLUDED_TABLES].join(", ")}), ${Object.keys(after0.files).length} data-dir files, presence`,
      "audit records added (tenancy denials)": added.length,
    });
  });
});
