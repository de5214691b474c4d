import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  call,
  counter,
  deposit,
  FEDERATION_ADMIN,
  FederationNode,
  type FederationProfile,
  federateKey,
  federationTenant,
  linkEnv,
  until,
} from "./federation-pair.js";
import { TestSocket } from "./test-socket.js";

// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
type Json = any;
type Tenant = { key: string; golem: string };

/**
 * SPEC §17.4 items 1–3 and item 5's loops on two real `styx serve` processes on loopback: U
 * (the upstream, serving downstreams) and D (linked to U with a federate key, flows
 * pheromone, lethe and causal, domain defi), each of the profile given. Either can go down and
 * come back with its state (D its cursors, claims and outbox; U its links and history).
 */
export function describeFederationPair(upstream: FederationProfile, downstream: FederationProfile): void {
  describe(`federation link, U ${upstream}node ↔ D ${downstream}node (SPEC §17.4)`, { timeout: 900_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), "styx-federation-"));
    let U: FederationNode;
    let D: FederationNode;
    let ut: Tenant;
    let dt: Tenant;
    const extra: FederationNode[] = [];

    before(async () => {
      for (const d of ["u", "d", "s", "x"]) mkdirSync(join(root, d));
      U = await FederationNode.create("U", upstream, join(root, "u"));
      await U.start();
      const key = await federateKey(U, "d-styx");
      ut = await federationTenant(U, "ua");
      D = await FederationNode.create("D", downstream, join(root, "d"), linkEnv(U, key));
      await D.start();
      dt = await federationTenant(D, "da");
      await until(
        "D's link connected",
        async () => (await D.admin("GET", "/v1/admin/federation")).json.upstream?.state === "connected",
        60_000,
      );
    });

    after(async () => {
      await Promise.all([U?.destroy(), D?.destroy(), ...extra.map((n) => n.destroy())]);
      rmSync(root, { recursive: true, force: true });
    });

    it("shows each side: D's link up (ids, flows, domain, health) and U's downstream", async () => {
      const d = (await D.admin("GET", "/v1/admin/federation")).json;
      const u = (await U.admin("GET", "/v1/admin/federation")).json;
      assert.equal(d.upstream.instance_id, u.instance_id);
      assert.notEqual(d.instance_id, u.instance_id);
      assert.deepEqual(d.upstream.domains, ["defi"]);
      assert.equal(u.upstream, null);
      assert.deepEqual(
        u.downstreams.map((l: Json) => l.instance_id),
        [d.instance_id],
      );
      const health = (await call(D.url, "GET", "/v1/styx/health", FEDERATION_ADMIN)).json;
      assert.equal(health.links.upstream.status, "up");
      assert.equal(await counter(D.url, "styx_federation_connected", {}), 1);
    });

    it("1. a deposit on D in defi is sensed on U within 2 s, one in nft never", async () => {
      const t0 = Date.now();
      await deposit(D, dt, "d-first");
      await deposit(D, dt, "d-nft", "nft");
      await until("U senses d-first", async () => (await U.sensed(ut.key, "defi")).has("d-first"), 2000);
      assert.ok(Date.now() - t0 < 2000);
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal((await U.sensed(ut.key, "nft")).has("d-nft"), false);
    });

    it("1. a deposit on U reaches D's sense and a D socket, marked federated", async () => {
      const { sock } = await TestSocket.connect(D.url, dt.key);
      try {
        assert.equal((await sock.request({ type: "subscribe", domains: ["defi"] })).type, "subscribed");
        await deposit(U, ut, "u-first");
        await until("D senses u-first", async () => (await D.sensed(dt.key, "defi")).has("u-first"), 5000);
        const frame = await sock.next((f) => f.channel === "styx:pheromone:deposit" && f.payload?.class === "u-first", 5000);
        assert.equal(frame.payload.federated, true);
      } finally {
        await sock.close();
      }
    });

    it("1. one cell deposited on both sides ends with equal confirmations, each record applied once", async () => {
      await deposit(D, dt, "both");
      await deposit(U, ut, "both");
      const [d, u] = await until(
        "both sides confirm 'both' once",
        async () => {
          const pair = [(await D.sensed(dt.key, "defi")).get("both"), (await U.sensed(ut.key, "defi")).get("both")];
          return pair[0] === 1 && pair[1] === 1 && pair;
        },
        10_000,
      );
      assert.equal(d, u);
      assert.equal(await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "duplicate" }), 0);
    });

    it("2. lethe published on either side is found by queries on the other", async () => {
      const write = (node: FederationNode, t: Tenant, content: string) =>
        call(node.url, "POST", "/v1/styx/entries", t.key, {
          golem_id: t.golem,
          layer: "lethe",
          domain: "defi",
          category: "warning",
          confidence: 0.8,
          content,
        });
      assert.equal((await write(D, dt, "oracle lag on thin pairs precedes liquidations")).status, 201);
      assert.equal((await write(U, ut, "sandwich bots crowd the stable pools at the open")).status, 201);
      const found = (node: FederationNode, key: string, query: string, text: string) =>
        until(
          `${node.name} finds "${text}" in lethe`,
          async () => {
            const r = await call(node.url, "POST", "/v1/styx/query", key, { query, layers: ["lethe"], limit: 10 });
            return r.json.hits?.some((h: Json) => h.content.includes(text));
          },
          30_000,
        );
      await found(U, ut.key, "oracle lag thin pairs", "oracle lag");
      await found(D, dt.key, "sandwich bots stable pools", "sandwich bots");
    });

    it("3. D down while U takes 50 deposits: D applies exactly 50", async () => {
      await U.ensure();
      await D.ensure();
      await D.stop();
      for (let i = 0; i < 50; i++) await deposit(U, ut, `u-bulk-${i}`);
      await D.start();
      await until(
        "D applied 50",
        async () => (await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "accepted" })) >= 50,
        60_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(await counter(D.url, "styx_federation_records_total", { direction: "down", outcome: "accepted" }), 50);
      const sensed = await D.sensed(dt.key, "defi");
      for (let i = 0; i < 50; i++) assert.ok(sensed.has(`u-bulk-${i}`), `u-bulk-${i}`);
    });

    it("3. U down while D takes 50 deposits: the outbox drains into U", async () => {
      await U.ensure();
      await D.ensure();
      await U.stop();
      for (let i = 0; i < 50; i++) await deposit(D, dt, `d-bulk-${i}`);
      assert.equal((await D.admin("GET", "/v1/admin/federation")).json.upstream.outbox_depth, 50);
      const health = (await call(D.url, "GET", "/v1/styx/health", FEDERATION_ADMIN)).json;
      assert.equal(health.status, "ok", "the upstream's loss degrades nothing local");
      assert.equal((await call(D.url, "GET", "/readyz", FEDERATION_ADMIN)).status, 200);
      await U.start();
      await until(
        "D's outbox drained",
        async () => (await D.admin("GET", "/v1/admin/federation")).json.upstream.outbox_depth === 0,
        90_000,
      );
      const sensed = await U.sensed(ut.key, "defi");
      for (let i = 0; i < 50; i++) assert.ok(sensed.has(`d-bulk-${i}`), `d-bulk-${i}`);
    });

    it("3. U's history trimmed: D takes the snapshot and both sides end in the same state", async () => {
      await U.ensure();
      await D.ensure();
      await D.stop();
      for (let i = 0; i < 5; i++) await deposit(U, ut, `u-late-${i}`);
      await U.stop();
      // D's cursor is now beyond U's retention of federation:defi.
      await U.trimFederationHistory("defi");
      await U.start();
      await D.start();
      await D.server?.waitForOutput(/taking its snapshot/, 60_000);
      // The snapshot's records apply one by one, in the snapshot's order: wait for the whole of it.
      const classes = async (node: FederationNode, key: string) => [...(await node.sensed(key, "defi")).keys()].sort();
      const u = await classes(U, ut.key);
      for (let i = 0; i < 5; i++) assert.ok(u.includes(`u-late-${i}`));
      await until("D senses what U senses", async () => JSON.stringify(await classes(D, dt.key)) === JSON.stringify(u), 60_000);
    });

    it("5. a Styx linked to itself is refused with STYX_FEDERATION_LOOP", async () => {
      const S = await FederationNode.create("S", downstream, join(root, "s"));
      extra.push(S);
      await S.start();
      const key = await federateKey(S, "self");
      await S.stop();
      Object.assign(S.env, linkEnv(S.url, key, "pheromone"));
      await S.start();
      try {
        const view = await until("S refused", async () => {
          const v = (await S.admin("GET", "/v1/admin/federation")).json;
          return v.upstream?.state === "refused" && v;
        });
        assert.match(view.upstream.last_error, /STYX_FEDERATION_LOOP/);
      } finally {
        await S.stop();
      }
    });

    it("5. a Styx with the upstream's instance id is refused with STYX_FEDERATION_LOOP", async () => {
      await U.ensure();
      await D.ensure();
      const uid = (await U.admin("GET", "/v1/admin/federation")).json.instance_id;
      const key = await federateKey(U, "d-styx", "clone");
      const X = await FederationNode.create("X", downstream, join(root, "x"), { STYX_INSTANCE_ID: uid, ...linkEnv(U, key, "pheromone") });
      extra.push(X);
      await X.start();
      try {
        const view = await until("X refused", async () => {
          const v = (await X.admin("GET", "/v1/admin/federation")).json;
          return v.upstream?.state === "refused" && v;
        });
        assert.match(view.upstream.last_error, /STYX_FEDERATION_LOOP/);
      } finally {
        await X.stop();
      }
    });
  });
}
