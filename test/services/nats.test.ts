import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { decodeBatch, jetStreamName, streamOfSubject } from "../../src/adapters/nats/event-codec.js";
import { EventPublishError } from "../../src/adapters/nats/jetstream-appender.js";
import { eventMessages, eventStreamExtent } from "../../src/adapters/nats/jetstream-backup.js";
import { JetStreamHistory, type JetStreamHistoryOptions } from "../../src/adapters/nats/jetstream-history.js";
import { connectNats, type NatsConnection } from "../../src/adapters/nats/nats-connection.js";
import { NatsEventBus } from "../../src/adapters/nats/nats-event-bus.js";
import { NatsSignals } from "../../src/adapters/nats/nats-signals.js";
import type { SequencedEvent, StyxEvent } from "../../src/core/fabric/event-bus.js";
import { ERASED_CHANNEL } from "../../src/core/fabric/history.js";
import { describeEventBusContract } from "../../src/testing/contracts/event-bus.contract.js";
import { describeHistoryContract, replayAll } from "../../src/testing/contracts/history.contract.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

/** Everything a test opened, closed and deleted after it (streams first need a live connection). */
const opened: { histories: JetStreamHistory[]; conns: NatsConnection[]; clusters: Set<string> } = {
  histories: [],
  conns: [],
  clusters: new Set(),
};

async function cleanup(): Promise<void> {
  for (const h of opened.histories.splice(0)) await h.close();
  const conns = opened.conns.splice(0);
  const live = conns.find((c) => c.connected) ?? (await connectNats({ url: SERVICES.natsUrl }));
  if (!conns.includes(live)) conns.push(live);
  const jsm = await jetstreamManager(live.nc);
  for (const cluster of opened.clusters) await jsm.streams.delete(`${cluster.toUpperCase()}_EVENTS`).catch(() => false);
  opened.clusters.clear();
  for (const c of conns) await c.close();
}

/** One gateway: its own connection and history on `cluster`. */
async function gateway(cluster: string, options: Partial<JetStreamHistoryOptions> = {}, url = SERVICES.natsUrl) {
  const nats = await connectNats({ url, name: "styx-test" });
  opened.conns.push(nats);
  opened.clusters.add(cluster);
  const history = new JetStreamHistory({ nats, cluster, ...options });
  await history.open();
  opened.histories.push(history);
  return { nats, history };
}

function ev(stream: string, n: number, extra: Record<string, unknown> = {}): StyxEvent {
  return { stream, channel: "golem:tick", payload: { n, ...extra } };
}

/** Polls `cond` every 10 ms until it holds (or fails after `ms`). */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function seqs(events: readonly SequencedEvent[]): number[] {
  return events.map((e) => e.seq);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

after(cleanup);

describeHistoryContract("JetStreamHistory", async () => {
  const cluster = newCluster();
  const { history } = await gateway(cluster);
  return { history, append: (e) => history.append(e), close: cleanup };
});

describeEventBusContract("NatsEventBus over JetStreamHistory", async () => {
  const { nats, history } = await gateway(newCluster());
  return { bus: new NatsEventBus(history), history, sever: () => nats.close(), close: cleanup };
});

describe("JetStreamHistory across gateways", () => {
  afterEach(cleanup);

  it("numbers concurrent publishes of two gateways into one stream 1..N, and both deliver all N in seq order", async () => {
    const cluster = newCluster();
    const a = await gateway(cluster);
    const b = await gateway(cluster);
    const seenA: SequencedEvent[] = [];
    const seenB: SequencedEvent[] = [];
    new NatsEventBus(a.history).subscribe((e) => seenA.push(e));
    new NatsEventBus(b.history).subscribe((e) => seenB.push(e));
    const n = 400;
    const sends: Promise<SequencedEvent>[] = [];
    // Interleaved turns on both gateways, so their batches collide on the subject.
    for (let turn = 0; turn < 20; turn++) {
      for (let i = 0; i < n / 40; i++) sends.push(a.history.append(ev("domain:x", turn * 100 + i, { from: "a" })));
      for (let i = 0; i < n / 40; i++) sends.push(b.history.append(ev("domain:x", turn * 100 + i, { from: "b" })));
      await new Promise((r) => setImmediate(r));
    }
    const acked = await Promise.all(sends);
    assert.deepEqual(
      seqs(acked).sort((x, y) => x - y),
      range(1, n),
    );
    await until(() => seenA.length >= n && seenB.length >= n, 10_000, "delivery on both gateways");
    assert.deepEqual(seqs(seenA), range(1, n), "gateway A delivers every event once, in order");
    assert.deepEqual(seqs(seenB), range(1, n), "gateway B delivers every event once, in order");
    const byA = new Map(acked.map((e) => [e.seq, e.payloadJson]));
    assert.ok(
      seenB.every((e) => byA.get(e.seq) === e.payloadJson),
      "each delivered event is the one acknowledged under its seq",
    );
    assert.deepEqual(await a.history.position("domain:x"), await b.history.position("domain:x"));
  });

  it("resumes on gateway B from JetStream events published on A (B's hot ring is empty)", async () => {
    const cluster = newCluster();
    const a = await gateway(cluster);
    // Three batches of 20 (one message each) and 20 single-event messages.
    for (let k = 0; k < 3; k++) await Promise.all(range(1, 20).map((i) => a.history.append(ev("user:u1", k * 20 + i))));
    for (let i = 61; i <= 80; i++) await a.history.append(ev("user:u1", i));
    const b = await gateway(cluster);
    assert.equal(b.history.hotBytes, 0, "B has nothing in memory");
    assert.equal(b.history.epoch, a.history.epoch, "gateways agree on the epoch without talking");
    const r = await b.history.recover("user:u1", { epoch: a.history.epoch, seq: 13 }, 7);
    assert.equal(r.recovered, true);
    assert.equal(r.seq, 80);
    const pages: number[] = [];
    if (r.recovered) for await (const p of r.pages) pages.push(p.length);
    assert.ok(
      pages.every((len) => len <= 7),
      `pages hold at most pageSize events: ${pages}`,
    );
    const got = await replayAll(await b.history.recover("user:u1", { epoch: a.history.epoch, seq: 13 }, 7));
    assert.deepEqual(seqs(got), range(14, 80));
    assert.deepEqual(
      got.map((e) => (JSON.parse(e.payloadJson) as { n: number }).n),
      range(14, 80),
    );
  });

  it("answers epoch_changed after the JetStream stream was deleted and recreated", async () => {
    const cluster = newCluster();
    const a = await gateway(cluster);
    const e = await a.history.append(ev("public", 1));
    await cleanup();
    const b = await gateway(cluster);
    assert.notEqual(b.history.epoch, e.epoch, "a recreated stream is a new epoch");
    const r = await b.history.recover("public", { epoch: e.epoch, seq: 1 });
    assert.deepEqual(r, { recovered: false, epoch: b.history.epoch, seq: 0, reason: "epoch_changed" });
  });

  it("answers beyond_retention once the messages holding the missed events are gone", async () => {
    const cluster = newCluster();
    const { history } = await gateway(cluster, { maxMsgsPerSubject: 3 });
    for (let i = 1; i <= 10; i++) await history.append(ev("user:u1", i));
    const { epoch } = history;
    // A new gateway, so the hot ring cannot answer.
    const b = await gateway(cluster, { maxMsgsPerSubject: 3 });
    assert.deepEqual(await b.history.recover("user:u1", { epoch, seq: 6 }), {
      recovered: false,
      epoch,
      seq: 10,
      reason: "beyond_retention",
    });
    assert.deepEqual(seqs(await replayAll(await b.history.recover("user:u1", { epoch, seq: 7 }))), [8, 9, 10]);
  });

  it("keeps payload and channel text exactly, whatever they contain", async () => {
    const cluster = newCluster();
    const { history } = await gateway(cluster);
    const payload = { big: 1e21, tiny: 5e-324, s: 'a,"payload":{"x":1}\\"\n\t✓ 𝄞', nested: { z: 1, a: [null, true, -0.5] } };
    const channel = 'golem:"odd",\\"payload\\":';
    const e = await history.append({ stream: "user:u1", channel, payload });
    const b = await gateway(cluster);
    const [back] = await replayAll(await b.history.recover("user:u1", { epoch: e.epoch, seq: 0 }));
    assert.equal(back?.payloadJson, JSON.stringify(payload));
    assert.equal(back?.channel, channel);
    assert.equal(back?.ts, e.ts);
  });

  it("splits one turn's batch larger than max_payload across messages, and rejects a single event too large for one", async () => {
    const cluster = newCluster();
    const { nats, history } = await gateway(cluster);
    const seen: SequencedEvent[] = [];
    history.subscribe((e) => seen.push(e));
    const filler = "x".repeat(1000);
    const acked = await Promise.all(range(1, 3000).map((i) => history.append(ev("domain:big", i, { filler }))));
    assert.deepEqual(seqs(acked), range(1, 3000));
    const jsm = await jetstreamManager(nats.nc);
    const info = await jsm.streams.info(`${cluster.toUpperCase()}_EVENTS`);
    assert.ok(info.state.messages >= (3000 * 1000) / (1024 * 1024), `3 MB went out as ${info.state.messages} messages`);
    assert.ok(info.state.messages < 100, `and batched: ${info.state.messages} messages`);
    await until(() => seen.length === 3000, 10_000, "delivery of the split batch");
    assert.deepEqual(seqs(seen), range(1, 3000));
    const back = await replayAll(await (await gateway(cluster)).history.recover("domain:big", { epoch: history.epoch, seq: 1500 }, 1000));
    assert.deepEqual(seqs(back), range(1501, 3000));
    await assert.rejects(history.append(ev("domain:big", 0, { filler: "y".repeat(1_100_000) })), EventPublishError);
    assert.equal((await history.append(ev("domain:big", 3001))).seq, 3001, "the stream goes on after a rejected event");
  });
});

/** Every message of `cluster`'s JetStream stream, read raw (by JetStream seq), with its decoded events. */
async function rawMessages(nats: NatsConnection, cluster: string) {
  const jsm = await jetstreamManager(nats.nc);
  const name = jetStreamName(cluster);
  const info = await jsm.streams.info(name);
  const out: { js: number; stream: string; body: string; headers: string; events: SequencedEvent[] }[] = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => undefined);
    if (!m) continue;
    const stream = streamOfSubject(m.subject);
    const body = new TextDecoder().decode(m.data);
    const headers = m.header ? [...m.header.keys()].map((k) => `${k}: ${m.header.get(k)}`).join("; ") : "";
    out.push({ js: seq, stream, body, headers, events: decodeBatch(stream, "raw", body) });
  }
  return out;
}

/** The seqs of `stream` a backup of `cluster`'s event stream takes (each message's events, in order). */
async function backedUpSeqs(nats: NatsConnection, cluster: string, stream: string): Promise<number[]> {
  const out: number[] = [];
  const { lastSeq } = await eventStreamExtent(nats, cluster);
  for await (const [s, first, last, body] of eventMessages(nats, cluster, lastSeq)) {
    if (s !== stream) continue;
    const got = seqs(decodeBatch(s, "backup", body));
    assert.deepEqual([got[0], got.at(-1)], [first, last], "a backed-up message's headers match its events");
    out.push(...got);
  }
  return out;
}

/** The events of `stream` across the raw messages, in JetStream order (duplicates kept, to be seen). */
function rawEventsOf(raw: Awaited<ReturnType<typeof rawMessages>>, stream: string): SequencedEvent[] {
  return raw.filter((m) => m.stream === stream).flatMap((m) => m.events);
}

describe("JetStreamHistory redaction (erasure of one golem, issue 17 acceptance 2)", () => {
  const who = (golem: string, i: number): StyxEvent => ({
    stream: "user:u1",
    channel: i % 3 === 0 ? "styx:steer" : "styx:clade:delta",
    payload: { golem_id: golem, n: i, note: `from ${golem} #${i}` },
  });

  it("rewrites the owner's subject without the golem, keeps every other event and seq, while another gateway appends", async () => {
    const cluster = newCluster();
    // Small messages, so the subject holds many and a rewrite stores several copies.
    const a = await gateway(cluster, { maxBatchBytes: 400 });
    const b = await gateway(cluster, { maxBatchBytes: 400 });
    const published = new Map<number, SequencedEvent>();
    for (let i = 1; i <= 40; i++) {
      const e = await (i % 2 ? a : b).history.append(who(i % 4 === 1 ? "g1" : "g2", i));
      published.set(e.seq, e);
    }
    await a.history.append({ stream: "user:u2", channel: "styx:steer", payload: { golem_id: "g9", n: 1 } });
    const { epoch } = a.history;
    // B's hot ring holds the events to erase (it delivered them).
    await until(() => b.history.hotBytes > 0, 5000, "B's delivery");
    const beforeB = await replayAll(await b.history.recover("user:u1", { epoch, seq: 3 }));
    assert.ok(
      beforeB.some((e) => e.payloadJson.includes('"g1"')),
      "before: B replays g1's events (else this test proves nothing)",
    );
    assert.ok(
      (await rawMessages(a.nats, cluster)).some((m) => m.body.includes('"g1"')),
      "before: the raw stream names g1",
    );

    // B appends while A rewrites: every append lands after the copies, numbered after them.
    let appending = true;
    const during: Promise<SequencedEvent>[] = [];
    const appender = (async () => {
      for (let i = 41; appending || i < 46; i++) {
        const p = b.history.append(who("g2", i));
        during.push(p);
        published.set((await p).seq, await p);
      }
    })();
    assert.equal(await a.history.redact("user:u1", "g1"), true);
    appending = false;
    await appender;
    const total = 40 + during.length;
    assert.deepEqual(seqs(await Promise.all(during)), range(41, total), "concurrent appends numbered 41… without a hole");

    // The raw stream: nothing names g1; user:u1 holds each seq exactly once, in JetStream order.
    const raw = await rawMessages(a.nats, cluster);
    const naming = raw.filter((m) => m.body.includes('"g1"') || m.body.includes("g1"));
    assert.deepEqual(naming, [], "no message of the stream names g1");
    const u1 = rawEventsOf(raw, "user:u1");
    assert.deepEqual(seqs(u1), range(1, total), "each seq once, rising with the JetStream seq");
    for (const e of u1) {
      const orig = published.get(e.seq) as SequencedEvent;
      if (orig.payloadJson.includes('"g1"')) {
        assert.equal(e.channel, ERASED_CHANNEL);
        assert.equal(e.payloadJson, "{}");
      } else {
        assert.equal(e.channel, orig.channel, `seq ${e.seq} kept its channel`);
        assert.equal(e.payloadJson, orig.payloadJson, `seq ${e.seq} kept its payload`);
      }
      assert.equal(e.ts, orig.ts, `seq ${e.seq} kept its time`);
    }
    assert.deepEqual(
      rawEventsOf(raw, "user:u2").map((e) => e.payloadJson),
      ['{"golem_id":"g9","n":1}'],
      "another subject is untouched",
    );

    // Resumes from an old cursor, hot (B's ring, rewritten by its delivery) and cold (a new gateway).
    const c = await gateway(cluster);
    const expected = u1.filter((e) => e.seq > 3).map((e) => [e.seq, e.channel, e.payloadJson]);
    const view = (events: readonly SequencedEvent[]) => events.map((e) => [e.seq, e.channel, e.payloadJson]);
    assert.deepEqual(view(await replayAll(await c.history.recover("user:u1", { epoch, seq: 3 }, 7))), expected, "cold resume");
    assert.deepEqual(view(await replayAll(await a.history.recover("user:u1", { epoch, seq: 3 }))), expected, "A's own ring");
    const deadline = Date.now() + 5000;
    let hot = await replayAll(await b.history.recover("user:u1", { epoch, seq: 3 }));
    while (hot.some((e) => e.payloadJson.includes('"g1"')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      hot = await replayAll(await b.history.recover("user:u1", { epoch, seq: 3 }));
    }
    assert.deepEqual(view(hot), expected, "B's hot ring no longer serves g1's events");
    // Appends go on after the copies, from every gateway.
    assert.equal((await c.history.append(who("g2", 99))).seq, total + 1);
    assert.equal((await b.history.append(who("g2", 100))).seq, total + 2);
    assert.deepEqual(await b.history.position("user:u1"), { epoch, seq: total + 2 });
    // A second run finds nothing to rewrite and changes nothing.
    const js = (await rawMessages(a.nats, cluster)).map((m) => m.js);
    assert.equal(await c.history.redact("user:u1", "g1"), true);
    assert.deepEqual(
      (await rawMessages(a.nats, cluster)).map((m) => m.js),
      js,
    );
  });

  it("finishes a rewrite cut short on the next run, and appends wait behind its fence instead of reusing its seqs", async () => {
    const cluster = newCluster();
    const crash = new Error("killed after the first copy");
    const a = await gateway(cluster, {
      maxBatchBytes: 300,
      rewriteFenceMs: 400,
      afterRewriteCopy: (n) => {
        if (n === 1) throw crash;
      },
    });
    const b = await gateway(cluster, { maxBatchBytes: 300 });
    const published = new Map<number, SequencedEvent>();
    for (let i = 1; i <= 20; i++) {
      const e = await a.history.append(who(i % 5 === 2 ? "g1" : "g2", i));
      published.set(e.seq, e);
    }
    await assert.rejects(a.history.redact("user:u1", "g1"), crash);
    const cut = await rawMessages(a.nats, cluster);
    assert.ok(
      cut.some((m) => m.body.includes('"g1"')),
      "cut short: originals still name g1",
    );
    assert.ok(
      cut.at(-1)?.headers.includes("Styx-Rewrite"),
      `cut short: a fenced copy is the subject's last message: ${cut.at(-1)?.headers}`,
    );
    assert.ok((cut.at(-1)?.events.at(-1)?.seq ?? 0) < 20, "and it holds fewer events than the subject");

    // B's append waits for the fence, then numbers after the subject's real tip (not the copy's last).
    const t0 = Date.now();
    const next = await b.history.append(who("g2", 21));
    published.set(next.seq, next);
    assert.equal(next.seq, 21);
    assert.ok(Date.now() - t0 >= 100, `B waited behind the fence (${Date.now() - t0} ms)`);
    const { epoch } = b.history;
    const mid = await replayAll(await (await gateway(cluster)).history.recover("user:u1", { epoch, seq: 0 }, 5));
    assert.deepEqual(seqs(mid), range(1, 21), "meanwhile a replay skips the copies' repeats");
    assert.deepEqual(await backedUpSeqs(b.nats, cluster, "user:u1"), range(1, 21), "and a backup takes each event once");

    // The erasure step runs again (a restarted gateway): it finishes.
    const c = await gateway(cluster, { maxBatchBytes: 300 });
    assert.equal(await c.history.redact("user:u1", "g1"), true);
    const raw = await rawMessages(c.nats, cluster);
    assert.deepEqual(
      raw.filter((m) => m.body.includes("g1")),
      [],
      "no message names g1",
    );
    const u1 = rawEventsOf(raw, "user:u1");
    assert.deepEqual(seqs(u1), range(1, 21), "no event lost, none repeated (the cut copy went with the originals)");
    for (const e of u1) {
      const orig = published.get(e.seq) as SequencedEvent;
      assert.deepEqual(
        [e.channel, e.payloadJson],
        orig.payloadJson.includes('"g1"') ? [ERASED_CHANNEL, "{}"] : [orig.channel, orig.payloadJson],
      );
    }
    assert.deepEqual(seqs(await replayAll(await b.history.recover("user:u1", { epoch, seq: 2 }))), range(3, 21));
    assert.equal((await b.history.append(who("g2", 22))).seq, 22);
    assert.deepEqual(await backedUpSeqs(b.nats, cluster, "user:u1"), range(1, 22), "a backup after the rewrite takes every copy");
  });

  it("finishes a rewrite cut short whose fenced copy is still the subject's last message", async () => {
    const cluster = newCluster();
    const crash = new Error("killed after the first copy");
    const a = await gateway(cluster, {
      maxBatchBytes: 300,
      rewriteFenceMs: 300,
      afterRewriteCopy: () => {
        throw crash;
      },
    });
    for (let i = 1; i <= 12; i++) await a.history.append(who(i % 4 === 0 ? "g1" : "g2", i));
    const cutAt = Date.now();
    await assert.rejects(a.history.redact("user:u1", "g1"), crash);
    assert.ok((await rawMessages(a.nats, cluster)).at(-1)?.headers.includes("Styx-Rewrite"), "a fenced copy ends the subject");
    // Run again at once (a restarted leader): it waits out the dead rewriter's fence, then finishes.
    const b = await gateway(cluster, { maxBatchBytes: 300 });
    assert.equal(await b.history.redact("user:u1", "g1"), true);
    assert.ok(Date.now() - cutAt >= 250, "it waited for the fence");
    const raw = await rawMessages(b.nats, cluster);
    assert.deepEqual(
      raw.filter((m) => m.body.includes("g1")),
      [],
      "nothing names g1",
    );
    assert.doesNotMatch(raw.at(-1)?.headers ?? "", /Styx-Rewrite: \d/, "the subject does not end with a fence");
    const u1 = rawEventsOf(raw, "user:u1");
    assert.deepEqual(seqs(u1), range(1, 12));
    assert.deepEqual(
      u1.filter((e) => e.channel === ERASED_CHANNEL).map((e) => e.seq),
      [4, 8, 12],
    );
    assert.equal((await b.history.append(who("g2", 13))).seq, 13);
  });
});

describe("NatsSignals", () => {
  afterEach(cleanup);

  it("broadcasts a signal to every gateway of the cluster, naming its origin, and no other cluster", async () => {
    const cluster = newCluster();
    const [na, nb] = await Promise.all([connectNats({ url: SERVICES.natsUrl }), connectNats({ url: SERVICES.natsUrl })]);
    opened.conns.push(na as NatsConnection, nb as NatsConnection);
    const a = new NatsSignals(na as NatsConnection, cluster);
    const b = new NatsSignals(nb as NatsConnection, cluster);
    const other = new NatsSignals(nb as NatsConnection, newCluster());
    const got: [string, Record<string, unknown>, string][] = [];
    a.subscribe("vectors", (p, origin) => got.push(["a", p, origin]));
    b.subscribe("vectors", (p, origin) => got.push(["b", p, origin]));
    other.subscribe("vectors", (p, origin) => got.push(["other", p, origin]));
    await Promise.all([a.flush(), b.flush()]);
    a.publish("vectors", { puts: [1, 2] });
    await a.flush();
    await until(() => got.length >= 2, 2000, "both gateways");
    assert.deepEqual(got.map(([who]) => who).sort(), ["a", "b"]);
    assert.ok(
      got.every(([, p, origin]) => origin === a.origin && JSON.stringify(p) === '{"puts":[1,2]}'),
      "payload and origin arrive",
    );
  });

  it("reports a NATS health probe as up", async () => {
    const nats = await connectNats({ url: SERVICES.natsUrl });
    opened.conns.push(nats);
    const s = await nats.check();
    assert.equal(s.status, "up", JSON.stringify(s));
  });
});

/** The nats-server binary for a server of this test's own (the shared one must never be restarted): Debian's, unless STYX_TEST_NATS_SERVER names another. */
const NATS_BIN = process.env.STYX_TEST_NATS_SERVER ?? (existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server");

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startNats(port: number, dir: string): Promise<ChildProcess> {
  const p = spawn(NATS_BIN, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  const end = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(true));
      s.listen(port, "127.0.0.1", () => s.close(() => resolve(false)));
    });
    if (ok) return p;
    if (Date.now() > end) throw new Error("private nats-server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("JetStreamHistory during a NATS restart", () => {
  it("fails publishes fast while NATS is down, works again after it returns, and delivers without gaps or duplicates", async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "styx-nats-"));
    let server = await startNats(port, dir);
    const url = `nats://127.0.0.1:${port}`;
    const conn = await connectNats({ url, reconnectWaitMs: 200 });
    const history = new JetStreamHistory({ nats: conn, cluster: newCluster(), timeoutMs: 1500 });
    try {
      await history.open();
      const seen: SequencedEvent[] = [];
      const notes: string[] = [];
      history.subscribe((e) => seen.push(e));
      history.onStatus = (s) =>
        notes.push(s.type === "consumer" ? `${s.note.type}${s.note.type === "next" ? JSON.stringify(s.note.options) : ""}` : s.type);
      const acked: number[] = [];
      const failures: { ms: number; err: unknown }[] = [];
      let stop = false;
      let n = 0;
      const load = (async () => {
        while (!stop) {
          const t0 = performance.now();
          await Promise.all(
            range(1, 20).map(() =>
              history.append(ev("user:load", ++n)).then(
                (e) => acked.push(e.seq),
                (err) => failures.push({ ms: performance.now() - t0, err }),
              ),
            ),
          );
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await until(() => acked.length > 200, 5000, "steady load");
      server.kill("SIGTERM");
      await new Promise((r) => server.once("exit", r));
      await until(() => failures.length > 20, 5000, "publishes failing while NATS is down");
      const ackedWhileDown = acked.length;
      server = await startNats(port, dir);
      await until(() => acked.length > ackedWhileDown + 200, 15_000, "publishes succeeding after NATS returned");
      stop = true;
      await load;
      assert.ok(
        failures.every((f) => f.ms < 2500),
        `every failure came within the timeout: ${Math.max(...failures.map((f) => f.ms))} ms`,
      );
      assert.ok(
        failures.every((f) => f.err instanceof Error && /NATS|JetStream/.test(f.err.message)),
        `failures say why: ${(failures[0]?.err as Error)?.message}`,
      );
      const last = Math.max(...acked);
      const t0 = performance.now();
      await until(
        () => (seen.at(-1)?.seq ?? 0) >= last,
        15_000,
        `delivery up to ${last} (got ${seen.length}, last ${seen.at(-1)?.seq}; notes: ${notes.join(",")})`,
      );
      console.log(
        `restart: ${failures.length} publishes failed fast (max ${Math.round(Math.max(...failures.map((f) => f.ms)))} ms), delivery caught up ${Math.round(performance.now() - t0)} ms after the last ack`,
      );
      assert.deepEqual(seqs(seen), range(1, seen.length), "delivered 1..n, no gaps, no duplicates");
      assert.deepEqual(new Set(acked).size, acked.length, "no seq acknowledged twice");
    } finally {
      await history.close();
      await conn.close();
      if (server.exitCode === null) {
        server.kill("SIGTERM");
        await new Promise((r) => server.once("exit", r));
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
