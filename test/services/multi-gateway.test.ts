import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { unitVector } from "../../src/testing/contracts/vector-index.contract.js";
import { GATEWAY_ADMIN_TOKEN, type Gateway, startGateway, testCluster } from "../../src/testing/gateways.js";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import { signedChallenge, walletSession } from "../../src/testing/signatures.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let userN = 0;

/** A user with a read/write key, created through `g`. */
async function user(g: Gateway): Promise<{ id: string; key: string }> {
  const id = `mg${++userN}-${Date.now().toString(36)}`;
  const u = await g.request("POST", "/v1/admin/users", { token: GATEWAY_ADMIN_TOKEN, body: { id } });
  assert.equal(u.status, 201, u.text);
  const k = await g.request("POST", `/v1/admin/users/${id}/keys`, { token: GATEWAY_ADMIN_TOKEN, body: { name: "mg" } });
  assert.equal(k.status, 201, k.text);
  return { id, key: k.json.key };
}

async function golem(g: Gateway, key: string): Promise<string> {
  const r = await g.request("POST", "/v1/styx/golems", { token: key, body: {} });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

describe("Two macronode gateways over the same services", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    [a, b] = await Promise.all([startGateway(cluster.name, s3), startGateway(cluster.name, s3)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  it("delivers a golem event sent to gateway A to its owner's surface on gateway B", async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    const surface = await TestSocket.connect(b.url, u.key);
    const golemSock = await TestSocket.connect(a.url, u.key);
    golemSock.sock.send({ type: "event", golem_id: g, event: { type: "golem:tick", n: 1 } });
    const got = await surface.sock.next((f) => f.stream !== undefined && f.payload?.golem_id === g, 5000);
    assert.equal(got.stream, `user:${u.id}`);
    assert.equal(got.seq, 1);
    await Promise.all([surface.sock.close(), golemSock.sock.close()]);
  });

  it("resumes on B a surface that left A, with exactly the missed events in order", { timeout: 30_000 }, async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    const stream = `user:${u.id}`;
    const golemSock = await TestSocket.connect(a.url, u.key);
    // In rounds of 250 with a ping between: a socket may have 1,000 messages waiting.
    const send = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        golemSock.sock.send({ type: "event", golem_id: g, event: { type: "golem:tick", i } });
        if ((i - from) % 250 === 249) await golemSock.sock.request({ type: "ping" });
      }
      await golemSock.sock.request({ type: "ping" });
    };
    const first = await TestSocket.connect(a.url, u.key);
    await send(1, 50);
    await first.sock.until(() => first.sock.events(stream).length >= 50 || undefined, 10_000);
    const last = first.sock.events(stream).at(-1);
    assert.equal(last?.seq, 50);
    await first.sock.close();
    await send(51, 1250);
    const back = await TestSocket.connect(b.url, u.key);
    const resumed = await back.sock.request({ type: "resume", streams: { [stream]: { epoch: last?.epoch, seq: 50 } } });
    assert.equal(resumed.streams[stream].recovered, true, JSON.stringify(resumed.streams[stream]));
    assert.equal(resumed.streams[stream].seq, 1250);
    await back.sock.until(() => back.sock.events(stream).length >= 1200 || undefined, 20_000);
    await send(1251, 1260);
    await back.sock.until(() => back.sock.events(stream).length >= 1210 || undefined, 10_000);
    const seqs = back.sock.events(stream).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      Array.from({ length: 1210 }, (_, i) => 51 + i),
      "the missed 51…1250, then live 1251…1260, each once",
    );
    assert.deepEqual(
      back.sock.events(stream).map((e) => e.payload.i),
      Array.from({ length: 1210 }, (_, i) => 51 + i),
      "payloads in the order sent",
    );
    await Promise.all([back.sock.close(), golemSock.sock.close()]);
  });

  it("refuses on B, within 1 s, a public field holding an identifier just created on A (the identifiers signal)", async () => {
    const owner = await user(a);
    const other = await user(b);
    const otherGolem = await golem(b, other.key);
    const hidden = `scout-${Date.now().toString(36)}-77`;
    const made = await a.request("POST", "/v1/styx/golems", { token: owner.key, body: { id: hidden } });
    assert.equal(made.status, 201, made.text);
    let status = 0;
    for (let waited = 0; waited <= 1000 && status !== 400; waited += 50) {
      const r = await b.request("POST", "/v1/styx/pheromone/deposit", {
        token: other.key,
        body: { golem_id: otherGolem, layer: "threat", class: hidden, intensity: 0.5, domain: "mg-ids", regime: "bull" },
      });
      status = r.status;
      if (status === 400) assert.equal(r.json.error.code, "STYX_NOT_PUBLISHABLE");
      else await sleep(50);
    }
    assert.equal(status, 400, "B still let the identifier through after 1 s");
  });

  it("senses on B a pheromone deposited on A", async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    const dep = await a.request("POST", "/v1/styx/pheromone/deposit", {
      token: u.key,
      body: { golem_id: g, layer: "threat", regime: "bull", class: "rug-pull", intensity: 0.8, domain: "mg-defi" },
    });
    assert.equal(dep.status, 201, dep.text);
    const sensed = await b.request("GET", "/v1/styx/pheromone/sense?domains=mg-defi", { token: u.key });
    assert.equal(sensed.status, 200, sensed.text);
    const ids = sensed.json.domains["mg-defi"].pheromones.map((p: { id: string }) => p.id);
    assert.deepEqual(ids, [dep.json.id]);
  });

  it("finds on B, by a vector query within 1 s, an entry written on A", async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    const embedding = Array.from(unitVector(4242, 384));
    const w = await a.request("POST", "/v1/styx/entries", {
      token: u.key,
      body: { golem_id: g, layer: "vault", category: "insight", content: "cross-gateway vector", embedding },
    });
    assert.equal(w.status, 201, w.text);
    const written = Date.now();
    let found = false;
    while (!found && Date.now() - written < 1000) {
      const q = await b.request("POST", "/v1/styx/query", { token: u.key, body: { embedding, layers: ["vault"] } });
      assert.equal(q.status, 200, q.text);
      found = q.json.hits.some((h: { id: string }) => h.id === w.json.id);
      if (!found) await sleep(20);
    }
    assert.ok(found, "B's vector query did not find the entry written on A within 1 s");
  });

  it("lets a gateway that starts late find by vector query what was written before it started", { timeout: 60_000 }, async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    const written: { id: string; embedding: number[] }[] = [];
    for (let i = 0; i < 20; i++) {
      const embedding = Array.from(unitVector(9000 + i, 384));
      const w = await (i % 2 ? b : a).request("POST", "/v1/styx/entries", {
        token: u.key,
        body: { golem_id: g, layer: "vault", category: "insight", content: `before the late gateway ${i}`, embedding },
      });
      assert.equal(w.status, 201, w.text);
      written.push({ id: w.json.id, embedding });
    }
    const late = await startGateway(cluster.name, s3);
    try {
      for (const { id, embedding } of written) {
        const q = await late.request("POST", "/v1/styx/query", { token: u.key, body: { embedding, layers: ["vault"] } });
        assert.equal(q.status, 200, q.text);
        assert.equal(q.json.hits[0]?.id, id, "the late gateway's nearest hit is the entry with that vector");
      }
    } finally {
      await late.stop();
    }
  });
});

describe("A key revoked on one gateway", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    [a, b] = await Promise.all([startGateway(cluster.name, s3), startGateway(cluster.name, s3)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  it("is refused on the other within 1 s, though B had it cached", async () => {
    const id = `rv-${Date.now().toString(36)}`;
    assert.equal((await a.request("POST", "/v1/admin/users", { token: GATEWAY_ADMIN_TOKEN, body: { id } })).status, 201);
    const k = await a.request("POST", `/v1/admin/users/${id}/keys`, { token: GATEWAY_ADMIN_TOKEN, body: { name: "rv" } });
    assert.equal((await b.request("GET", "/v1/styx/me", { token: k.json.key })).status, 200, "B knows (and caches) the key");
    assert.equal((await a.request("DELETE", `/v1/admin/keys/${k.json.id}`, { token: GATEWAY_ADMIN_TOKEN })).status, 200);
    const revokedAt = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 1000) {
      status = (await b.request("GET", "/v1/styx/me", { token: k.json.key })).status;
      if (status === 200) await sleep(20);
    }
    assert.equal(status, 401, "B still accepted the revoked key 1 s later");
  });
});

describe("A golem that dies or is erased on one gateway", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    [a, b] = await Promise.all([startGateway(cluster.name, s3), startGateway(cluster.name, s3)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  const write = (g: Gateway, key: string, golemId: string) =>
    g.request("POST", "/v1/styx/entries", { token: key, body: { golem_id: golemId, layer: "vault", category: "insight", content: "x" } });
  /** The first status other than 201 `g` answers a write naming `golemId` within `ms`, polling. */
  const refusedWithin = async (g: Gateway, key: string, golemId: string, ms: number) => {
    const t0 = Date.now();
    for (;;) {
      const r = await write(g, key, golemId);
      if (r.status !== 201 || Date.now() - t0 > ms) return { status: r.status, code: r.json?.error?.code, after: Date.now() - t0 };
      await sleep(20);
    }
  };

  it("is refused at once on that gateway and within 1 s on the other, though both had it cached", async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    for (const gw of [a, b]) assert.equal((await write(gw, u.key, g)).status, 201, "both know (and cache) the golem");
    const died = await a.request("POST", "/v1/styx/bloodstain", {
      token: u.key,
      body: { golem_id: g, generation: 0, death_cause: "liquidated", warnings: [], timestamp: new Date().toISOString() },
    });
    assert.equal(died.status, 201, died.text);
    const here = await write(a, u.key, g);
    assert.deepEqual([here.status, here.json?.error?.code], [409, "STYX_GOLEM_DEAD"], "refused at once where it died");
    const there = await refusedWithin(b, u.key, g, 1000);
    assert.deepEqual([there.status, there.code], [409, "STYX_GOLEM_DEAD"], `B answered ${there.status} after ${there.after} ms`);
  });

  it("answers 404 on the other gateway within 1 s of its erasure", { timeout: 60_000 }, async () => {
    const u = await user(a);
    const g = await golem(a, u.key);
    for (const gw of [a, b]) assert.equal((await write(gw, u.key, g)).status, 201);
    const asked = await a.request("DELETE", `/v1/styx/golems/${g}`, { token: u.key });
    assert.equal(asked.status, 202, asked.text);
    // The leader runs the job; whichever gateway it is, the other hears of the erased rows by signal.
    for (let done = false; !done; await sleep(50)) {
      done = (await a.request("GET", `/v1/styx/erasures/${asked.json.id}`, { token: u.key })).json?.state === "done";
    }
    const [onA, onB] = [await refusedWithin(a, u.key, g, 1000), await refusedWithin(b, u.key, g, 1000)];
    assert.deepEqual([onA.status, onB.status], [404, 404], `A after ${onA.after} ms, B after ${onB.after} ms`);
  });
});

describe("A wallet session ended on one gateway", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    // One public origin for both, as behind one load balancer: a message issued by A is good on B.
    const env = { STYX_PUBLIC_URL: "https://styx.example.com" };
    [a, b] = await Promise.all([startGateway(cluster.name, s3, env), startGateway(cluster.name, s3, env)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  it("closes its socket on the other gateway at once (4401), and its token answers 401 there", { timeout: 15_000 }, async () => {
    const owner = await user(a);
    const wallet = privateKeyToAccount(generatePrivateKey());
    const g = await a.request("POST", "/v1/styx/golems", {
      token: owner.key,
      body: { wallet_address: wallet.address, wallet_proof: await signedChallenge(a, wallet) },
    });
    assert.equal(g.status, 201, g.text);
    const session = await walletSession(b, wallet);
    const { sock } = await TestSocket.connect(b.url, session.token);
    const ended = await a.request("DELETE", `/v1/auth/sessions/${session.id}`, { token: owner.key });
    assert.equal(ended.status, 200, ended.text);
    const t0 = Date.now();
    const { code, reason } = await sock.closed;
    assert.equal(code, 4401);
    assert.match(reason, /session was ended/);
    assert.ok(Date.now() - t0 < 1000, "B closed it within a second, by signal");
    assert.equal((await b.request("GET", "/v1/styx/me", { token: session.token })).status, 401);
  });
});

describe("A rate-limit bucket shared by two gateways", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    const env = { STYX_RATE_LIMIT: "2/s:20" };
    [a, b] = await Promise.all([startGateway(cluster.name, s3, env), startGateway(cluster.name, s3, env)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  it("limits a burst split across A and B as one bucket", async () => {
    const u = await user(a);
    const started = Date.now();
    // One at a time, alternating A, B, A, B…: two separate buckets of 20 would let all 40 through.
    const answers: (readonly [number, number])[] = [];
    for (let i = 0; i < 40; i++) answers.push([i % 2, (await (i % 2 ? b : a).request("GET", "/v1/styx/me", { token: u.key })).status]);
    const seconds = (Date.now() - started) / 1000;
    const allowed = answers.filter(([, s]) => s === 200).length;
    const limited = answers.filter(([, s]) => s === 429);
    assert.ok(allowed >= 20 && allowed <= 20 + Math.ceil(2 * seconds) + 1, `${allowed} of 40 allowed in ${seconds} s`);
    assert.equal(allowed + limited.length, 40, "every other answer is 429");
    assert.deepEqual([...new Set(limited.map(([gw]) => gw))].sort(), [0, 1], "both gateways refused once the shared bucket was empty");
  });
});

describe("Leader takeover between gateways", () => {
  const cluster = testCluster();
  let s3: S3Server;
  const gateways: Gateway[] = [];

  before(async () => {
    s3 = await startS3Server();
    gateways.push(...(await Promise.all([startGateway(cluster.name, s3), startGateway(cluster.name, s3)])));
  });

  after(async () => {
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await s3?.close();
    await cluster.drop();
  });

  it("has exactly one leader, and after kill -9 of it the other leads within 30 s", { timeout: 60_000 }, async () => {
    const leaders = async () => Promise.all(gateways.map((g) => g.metric("styx_leader")));
    let states = await leaders();
    for (let i = 0; i < 50 && !states.includes(1); i++) {
      await sleep(200);
      states = await leaders();
    }
    assert.deepEqual([...states].sort(), [0, 1], `styx_leader across the two gateways: ${states.join(", ")}`);
    const leader = gateways[states.indexOf(1)] as Gateway;
    const follower = gateways[states.indexOf(0)] as Gateway;
    const killedAt = Date.now();
    await leader.kill();
    gateways.splice(gateways.indexOf(leader), 1);
    while ((await follower.metric("styx_leader")) !== 1 && Date.now() - killedAt < 30_000) await sleep(200);
    const took = Date.now() - killedAt;
    assert.equal(await follower.metric("styx_leader"), 1, "the follower did not take over within 30 s");
    console.log(`# follower took over ${took} ms after kill -9 of the leader`);
  });
});

describe("Socket caps across two macronode gateways", () => {
  const cluster = testCluster();
  const caps = JSON.stringify({ observer: { sockets_per_user: 2 }, consumer: { sockets_per_user: 2 } });
  let s3: S3Server;
  const gateways: Gateway[] = [];
  const open: TestSocket[] = [];

  before(async () => {
    s3 = await startS3Server();
    // A 1 s ping interval: counts live 3 s without a refresh, so a killed gateway's sockets stop counting soon.
    const env = { STYX_QUOTAS: caps, STYX_WS_PING_INTERVAL: "1s" };
    gateways.push(...(await Promise.all([startGateway(cluster.name, s3, env), startGateway(cluster.name, s3, env)])));
  });

  after(async () => {
    for (const sock of open) await sock.close();
    await Promise.allSettled(gateways.map((g) => g.stop()));
    await s3?.close();
    await cluster.drop();
  });

  it("holds a user's sockets_per_user across gateways, and frees the places of a gateway killed with -9", { timeout: 30_000 }, async () => {
    const [a, b] = gateways as [Gateway, Gateway];
    const u = await user(a);
    open.push((await TestSocket.connect(a.url, u.key)).sock);
    open.push((await TestSocket.connect(b.url, u.key)).sock);
    for (const g of [a, b]) {
      const refused = await TestSocket.refusal(g.url, { token: u.key });
      assert.equal(refused.status, 429);
      assert.deepEqual(refused.json.error.details, { quota: "sockets_per_user", limit: 2, used: 2 });
    }
    // B keeps its socket refreshed; A's count expires once nobody refreshes it.
    await a.kill();
    gateways.splice(gateways.indexOf(a), 1);
    const killedAt = Date.now();
    let sock: TestSocket | undefined;
    while (!sock && Date.now() - killedAt < 10_000) {
      sock = await TestSocket.connect(b.url, u.key).then(
        (c) => c.sock,
        () => undefined,
      );
      if (!sock) await sleep(250);
    }
    assert.ok(sock, "the dead gateway's socket still counted 10 s after the kill");
    open.push(sock);
    console.log(`# a killed gateway's socket stopped counting ${Date.now() - killedAt} ms after kill -9`);
    const refused = await TestSocket.refusal(b.url, { token: u.key });
    assert.equal(refused.status, 429, "B's own socket is still counted (refreshed)");
  });
});

describe("The pulse on two macronode gateways", () => {
  const cluster = testCluster();
  let s3: S3Server;
  let a: Gateway;
  let b: Gateway;

  before(async () => {
    s3 = await startS3Server();
    // The leader recomputes every second, so the test sees several refreshes.
    const env = { STYX_PULSE_INTERVAL: "1s" };
    [a, b] = await Promise.all([startGateway(cluster.name, s3, env), startGateway(cluster.name, s3, env)]);
  });

  after(async () => {
    await Promise.allSettled([a?.stop(), b?.stop()]);
    await s3?.close();
    await cluster.drop();
  });

  /** Both gateways' pulses read at the same moment (retried while a refresh lands between the two reads). */
  async function bothPulses(): Promise<[Record<string, unknown>, Record<string, unknown>]> {
    for (let i = 0; i < 20; i++) {
      const [pa, pb] = await Promise.all([a.request("GET", "/v1/styx/pulse"), b.request("GET", "/v1/styx/pulse")]);
      assert.equal(pa.status, 200, pa.text);
      assert.equal(pb.status, 200, pb.text);
      if (pa.json.computed_at === pb.json.computed_at) return [pa.json, pb.json];
      await sleep(100);
    }
    throw new Error("the gateways never served the same pulse");
  }

  it("serves the same pulse on both gateways, and it follows the leader's refreshes on both", { timeout: 30_000 }, async () => {
    const [first] = await bothPulses();
    const u = await user(a);
    const g = await golem(b, u.key);
    const sock = await TestSocket.connect(b.url, u.key);
    await sock.sock.request({ type: "heartbeat", golem_id: g, regime: "bull" });
    const dep = await a.request("POST", "/v1/styx/pheromone/deposit", {
      token: u.key,
      body: { golem_id: g, layer: "threat", class: "pulse-test", intensity: 0.5, domain: "mg-pulse", regime: "bull" },
    });
    assert.equal(dep.status, 201, dep.text);
    let seen: [Record<string, unknown>, Record<string, unknown>] | undefined;
    for (const until = Date.now() + 10_000; Date.now() < until; ) {
      const pair = await bothPulses();
      const top = pair[0].top_domains as { domain: string }[];
      if ((pair[0].active_golems as number) >= 1 && top.some((d) => d.domain === "mg-pulse")) {
        seen = pair;
        break;
      }
      await sleep(200);
    }
    assert.ok(seen, "neither gateway showed the new golem and deposit within 10 s");
    assert.deepEqual(seen[1], seen[0], "the same pulse, field by field");
    assert.ok(String(seen[0].computed_at) > String(first.computed_at), "recomputed since the first read");
    await sleep(2500);
    const [later, laterB] = await bothPulses();
    assert.ok(String(later.computed_at) > String(seen[0].computed_at), "still fresh: the leader's next refreshes reach both");
    assert.deepEqual(laterB, later);
    await sock.sock.close();
  });
});
