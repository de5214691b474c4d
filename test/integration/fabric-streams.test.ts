import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ManualClock } from "../../src/core/platform/clock.js";
import { microOnly, startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

/**
 * A golem socket of `key` sending `n` events for `golemId`, waiting for a pong after every 500
 * (a socket may have 1,000 messages waiting) and at the end: messages are handled in order, so
 * the pong comes after the events before it are published.
 */
async function sendEvents(sock: TestSocket, golemId: string, n: number, tag: string): Promise<void> {
  for (let i = 1; i <= n; i++) {
    sock.send({ type: "event", golem_id: golemId, event: { type: "golem:tick", tag, i } });
    if (i % 500 === 0) await sock.request({ type: "ping" });
  }
  await sock.request({ type: "ping" });
}

async function publish(s: TestServer, stream: string, n: number, from = 1): Promise<void> {
  const all = [];
  for (let i = from; i < from + n; i++) all.push(s.styx.bus.publish({ stream, channel: "golem:tick", payload: { i } }));
  await Promise.all(all);
}

describe("streams: tenant isolation", () => {
  it("delivers each golem's events to its own owner's surfaces only, over thousands of events", { timeout: 60_000 }, async () => {
    const s = await startTestServer();
    try {
      const users = [await s.user(), await s.user()];
      const golems = await Promise.all(users.flatMap((u) => [s.golem(u.key), s.golem(u.key)]));
      const owner = (i: number) => users[Math.floor(i / 2)] as { id: string; key: string };
      const surfaces = await Promise.all(users.flatMap((u) => [TestSocket.connect(s.url, u.key), TestSocket.connect(s.url, u.key)]));
      const golemSocks = await Promise.all(golems.map((_, i) => TestSocket.connect(s.url, owner(i).key)));
      const perGolem = 750;
      await Promise.all(golemSocks.map((g, i) => sendEvents(g.sock, golems[i]?.id as string, perGolem, `g${i}`)));
      for (let u = 0; u < 2; u++) {
        const mine = new Set([golems[2 * u]?.id, golems[2 * u + 1]?.id]);
        for (const surface of [surfaces[2 * u], surfaces[2 * u + 1]]) {
          const sock = surface?.sock as TestSocket;
          await sock.until(() => sock.events().length >= 2 * perGolem || undefined, 20_000);
          const events = sock.events();
          assert.equal(events.length, 2 * perGolem, "exactly its own golems' events");
          assert.ok(
            events.every((e) => e.stream === `user:${users[u]?.id}` && mine.has(e.payload.golem_id)),
            "only its own golems' events",
          );
          assert.deepEqual(
            events.map((e) => e.seq),
            Array.from({ length: 2 * perGolem }, (_, i) => i + 1),
            "in seq order without gaps",
          );
        }
      }
      await Promise.all([...surfaces, ...golemSocks].map((x) => x.sock.close()));
    } finally {
      await s.close();
    }
  });

  it("delivers domain events only to sockets following that domain, one frame per domain per tick", async () => {
    const s = await startTestServer();
    try {
      const u = await s.user();
      const defi = await TestSocket.connect(s.url, u.key);
      const nft = await TestSocket.connect(s.url, u.key);
      const raw: string[] = [];
      defi.sock.ws.on("message", (d) => raw.push(d.toString()));
      assert.equal((await defi.sock.request({ type: "subscribe", domains: ["defi"] })).type, "subscribed");
      await nft.sock.request({ type: "subscribe", domains: ["nft"], categories: ["styx:pheromone"] });
      await publish(s, "domain:defi", 5);
      await s.styx.bus.publish({ stream: "domain:nft", channel: "styx:lethe:published", payload: {} });
      await s.styx.bus.publish({ stream: "domain:nft", channel: "styx:pheromone:deposit", payload: { x: 1 } });
      await defi.sock.until(() => defi.sock.events("domain:defi").length === 5 || undefined);
      await nft.sock.until(() => nft.sock.events("domain:nft").length >= 1 || undefined);
      await new Promise((r) => setTimeout(r, 60));
      assert.equal(defi.sock.events("domain:nft").length, 0);
      assert.deepEqual(
        nft.sock.events().map((e) => e.channel),
        ["styx:pheromone:deposit"],
        "the category filter passes only matching channels",
      );
      assert.equal(raw.filter((r) => r.startsWith("[")).length, 1, "five events of one tick travel as one batch frame");
      await Promise.all([defi.sock.close(), nft.sock.close()]);
    } finally {
      await s.close();
    }
  });
});

describe("streams: resume", () => {
  it("replays exactly the 2,500 missed events in order (hot ring and warm store), then continues live", { timeout: 60_000 }, async () => {
    const s = await startTestServer();
    try {
      const u = await s.user();
      const g = await s.golem(u.key);
      const stream = `user:${u.id}`;
      const first = await TestSocket.connect(s.url, u.key);
      const golem = await TestSocket.connect(s.url, u.key);
      await sendEvents(golem.sock, g.id, 20, "before");
      await first.sock.until(() => first.sock.events(stream).length === 20 || undefined);
      const last = first.sock.events(stream).at(-1);
      await first.sock.close();

      await sendEvents(golem.sock, g.id, 2500, "missed");
      const back = await TestSocket.connect(s.url, u.key);
      const resumed = await back.sock.request({ type: "resume", streams: { [stream]: { epoch: last.epoch, seq: last.seq } } });
      assert.deepEqual(resumed.streams[stream], { recovered: true, epoch: last.epoch, seq: 2520 });
      await back.sock.until(() => back.sock.events(stream).length >= 2500 || undefined, 20_000);
      const got = back.sock.events(stream);
      assert.equal(got.length, 2500);
      assert.deepEqual(
        got.map((e) => e.seq),
        Array.from({ length: 2500 }, (_, i) => 21 + i),
      );
      assert.ok(
        got.every((e) => e.payload.tag === "missed"),
        "only the missed events",
      );
      assert.ok(
        resumed === back.sock.frames.find((f) => f.type === "resumed") ||
          back.sock.frames.indexOf(resumed) < back.sock.frames.indexOf(got[0]),
      );

      await sendEvents(golem.sock, g.id, 3, "live");
      await back.sock.until(() => back.sock.events(stream).length === 2503 || undefined);
      assert.deepEqual(
        back.sock
          .events(stream)
          .slice(-3)
          .map((e) => e.seq),
        [2521, 2522, 2523],
      );
      await Promise.all([back.sock.close(), golem.sock.close()]);
    } finally {
      await s.close();
    }
  });

  it("replays from the cold archive too, and answers recovered: false past retention or with a wrong epoch", {
    timeout: 60_000,
    ...microOnly("the cold tier and its archival task (JetStream retention: test/services/nats.test.ts)"),
  }, async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const s = await startTestServer({ persistent: true, clock });
    try {
      const u = await s.user();
      const stream = `user:${u.id}`;
      await publish(s, stream, 12_500);
      await s.styx.tasks.runNow("history-archival");
      const { sock, welcome } = await TestSocket.connect(s.url, u.key);
      const epoch = welcome.streams[stream].epoch;
      const r = await sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 0 } } });
      assert.deepEqual(r.streams[stream], { recovered: true, epoch, seq: 12_500 });
      await sock.until(() => sock.events(stream).length >= 12_500 || undefined, 30_000);
      const got = sock.events(stream);
      assert.equal(got.length, 12_500);
      assert.ok(
        got.every((e, i) => e.seq === i + 1 && e.payload.i === i + 1),
        "cold, warm and hot events in order",
      );

      const wrong = await sock.request({ type: "resume", streams: { [stream]: { epoch: "ep_from_before", seq: 3 } } });
      assert.deepEqual(wrong.streams[stream], { recovered: false, epoch, seq: 12_500, reason: "epoch_changed" });

      clock.advance(7 * 86_400_000 + 1);
      await s.styx.tasks.runNow("history-archival");
      const gone = await sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 100 } } });
      assert.deepEqual(gone.streams[stream], { recovered: false, epoch, seq: 12_500, reason: "beyond_retention" });
      await sock.close();
    } finally {
      await s.close();
    }
  });

  it("resumes from warm history after a micronode restart", { timeout: 30_000 }, async () => {
    const s1 = await startTestServer({ persistent: true });
    const dir = s1.dataDir as string;
    const u = await s1.user();
    const stream = `user:${u.id}`;
    const { sock, welcome } = await TestSocket.connect(s1.url, u.key);
    const epoch = welcome.streams[stream].epoch;
    await publish(s1, stream, 300);
    await sock.until(() => sock.events(stream).length === 300 || undefined);
    await s1.styx.close();
    assert.equal((await sock.closed).code, 1012, "the socket is told to reconnect");

    const s2 = await startTestServer({ dataDir: dir });
    try {
      const back = await TestSocket.connect(s2.url, u.key);
      assert.equal(back.welcome.streams[stream].epoch, epoch, "a restart keeps the epoch");
      assert.equal(back.welcome.streams[stream].seq, 300);
      const r = await back.sock.request({ type: "resume", streams: { [stream]: { epoch, seq: 120 } } });
      assert.deepEqual(r.streams[stream], { recovered: true, epoch, seq: 300 });
      await back.sock.until(() => back.sock.events(stream).length === 180 || undefined);
      assert.deepEqual(
        back.sock.events(stream).map((e) => e.payload.i),
        Array.from({ length: 180 }, (_, i) => 121 + i),
      );
      await back.sock.close();
    } finally {
      await s2.close();
      await s1.close();
    }
  });

  it("tells clients the epoch changed after an amnesia restart", async () => {
    const s1 = await startTestServer();
    const u1 = await s1.user("amnesiac");
    const first = await TestSocket.connect(s1.url, u1.key);
    const old = first.welcome.streams["user:amnesiac"];
    await publish(s1, "user:amnesiac", 10);
    await first.sock.until(() => first.sock.events().length === 10 || undefined);
    await s1.close();

    const s2 = await startTestServer();
    try {
      const u2 = await s2.user("amnesiac");
      const { sock, welcome } = await TestSocket.connect(s2.url, u2.key);
      assert.notEqual(welcome.streams["user:amnesiac"].epoch, old.epoch);
      const r = await sock.request({ type: "resume", streams: { "user:amnesiac": { epoch: old.epoch, seq: 10 } } });
      assert.deepEqual(r.streams["user:amnesiac"], {
        recovered: false,
        epoch: welcome.streams["user:amnesiac"].epoch,
        seq: 0,
        reason: "epoch_changed",
      });
      await sock.close();
    } finally {
      await s2.close();
    }
  });

  it("replays a domain stream the socket was not following and then delivers it live, without duplicates", async () => {
    const s = await startTestServer();
    try {
      const u = await s.user();
      await publish(s, "domain:defi", 40);
      const { sock } = await TestSocket.connect(s.url, u.key);
      const pos = await s.styx.fabric.history.position("domain:defi");
      const r = await sock.request({ type: "resume", streams: { "domain:defi": { epoch: pos.epoch, seq: 25 } } });
      assert.equal(r.streams["domain:defi"].recovered, true);
      await publish(s, "domain:defi", 5, 41);
      await sock.until(() => sock.events("domain:defi").length >= 20 || undefined);
      await new Promise((res) => setTimeout(res, 80));
      assert.deepEqual(
        sock.events("domain:defi").map((e) => e.seq),
        Array.from({ length: 20 }, (_, i) => 26 + i),
      );
      await sock.close();
    } finally {
      await s.close();
    }
  });
});
