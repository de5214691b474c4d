import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { MemoryBlobStore } from "../../../src/adapters/memory/memory-blob-store.js";
import { openDatabase } from "../../../src/adapters/sqlite/database.js";
import { SqliteEventLog } from "../../../src/adapters/sqlite/sqlite-event-log.js";
import type { SequencedEvent } from "../../../src/core/fabric/event-bus.js";
import { ERASED_CHANNEL } from "../../../src/core/fabric/history.js";
import { HotRing } from "../../../src/core/fabric/hot-ring.js";
import { decodeArchive, encodeArchive, TieredHistory, type TieredHistoryOptions } from "../../../src/core/fabric/tiered-history.js";
import { ManualClock } from "../../../src/core/platform/clock.js";
import { initCrypto } from "../../../src/core/platform/crypto.js";
import { describeHistoryContract, replayAll } from "../../../src/testing/contracts/history.contract.js";

before(() => initCrypto());

async function tiered(options: TieredHistoryOptions = {}, file = ":memory:") {
  const db = openDatabase(file);
  const blobs = new MemoryBlobStore();
  const clock = new ManualClock(1_700_000_000_000);
  const log = new SqliteEventLog(db);
  const history = new TieredHistory({ log, blobs, clock, options });
  await history.open();
  return {
    db,
    blobs,
    clock,
    log,
    history,
    close: async () => {
      db.close();
    },
  };
}

describeHistoryContract("TieredHistory over SQLite (hot tier only)", async () => {
  const t = await tiered();
  return { history: t.history, append: (e) => t.history.append(e), close: t.close };
});

describeHistoryContract("TieredHistory over SQLite (warm and cold tiers)", async () => {
  // Rings of 10 and a warm tier of 50 with archives of 20: replays cross all three tiers.
  const t = await tiered({ hotPerStream: 10, warmKeep: 50, archiveChunk: 20 });
  let n = 0;
  return {
    history: t.history,
    append: async (e) => {
      const s = await t.history.append(e);
      if (++n % 40 === 0) await t.history.archive();
      return s;
    },
    close: t.close,
  };
});

async function fill(h: TieredHistory, stream: string, n: number): Promise<SequencedEvent> {
  const all = [];
  for (let i = 1; i <= n; i++) all.push(h.append({ stream, channel: "golem:tick", payload: { i } }));
  const done = await Promise.all(all);
  return done.at(-1) as SequencedEvent;
}

describe("TieredHistory tiers", () => {
  it("batches appends of one turn into one stored batch and resolves only once stored", async () => {
    const t = await tiered();
    const pending = Array.from({ length: 100 }, (_, i) => t.history.append({ stream: "user:a", channel: "golem:x", payload: { i } }));
    assert.equal(t.db.prepare("SELECT COUNT(*) FROM stream_events").pluck().get(), 0, "stored before the turn ended");
    await Promise.all(pending);
    assert.equal(t.db.prepare("SELECT COUNT(*) FROM stream_events").pluck().get(), 100);
    await t.close();
  });

  it("archives warm events beyond the keep into cold blobs and replays across hot, warm and cold", async () => {
    const t = await tiered({ hotPerStream: 100, warmKeep: 1000, archiveChunk: 250 });
    const last = await fill(t.history, "user:a", 2600);
    const report = await t.history.archive();
    assert.deepEqual(report, { archived: 1500, blobs: 6, expired: 0 });
    assert.equal(await t.log.oldestWarmSeq("user:a"), 1501);
    assert.equal(await t.log.oldestArchivedSeq("user:a"), 1);
    assert.equal(t.blobs.count, 6);
    const got = await replayAll(await t.history.recover("user:a", { epoch: last.epoch, seq: 7 }));
    assert.equal(got.length, 2593);
    assert.ok(got.every((e, i) => e.seq === 8 + i && JSON.parse(e.payloadJson).i === e.seq));
    await t.close();
  });

  it("redacts events naming an id in every tier as tombstones with the same seq, and erases a stream whole", async () => {
    const t = await tiered({ hotPerStream: 5, warmKeep: 10, archiveChunk: 10 });
    for (let i = 1; i <= 40; i++) {
      await t.history.append({ stream: "user:a", channel: "styx:steer", payload: { golem_id: i % 3 === 0 ? "g-x" : "g-y", i } });
    }
    await t.history.append({ stream: "golem:g-x", channel: "styx:steer", payload: { i: 0 } });
    assert.equal((await t.history.archive()).blobs, 3, "cold, warm and hot all hold events of the stream");
    assert.equal(await t.history.redact("user:a", "g-x"), true);
    const got = await replayAll(await t.history.recover("user:a", { epoch: t.history.epoch, seq: 0 }));
    assert.deepEqual(
      got.map((e) => e.seq),
      Array.from({ length: 40 }, (_, i) => i + 1),
      "no hole",
    );
    for (const e of got) {
      if (e.seq % 3 === 0) assert.deepEqual([e.channel, e.payloadJson], [ERASED_CHANNEL, "{}"], `seq ${e.seq}`);
      else assert.equal(JSON.parse(e.payloadJson).golem_id, "g-y");
    }
    assert.equal(t.blobs.count, 3, "each rewritten archive replaced its blob");
    await t.history.eraseStream("golem:g-x");
    assert.equal((await t.history.position("golem:g-x")).seq, 0);
    assert.deepEqual(t.db.prepare("SELECT * FROM stream_events WHERE stream = 'golem:g-x'").all(), []);
    await t.close();
  });

  it("forgets archives after the retention and then answers recovered: false (beyond_retention)", async () => {
    const t = await tiered({ hotPerStream: 10, warmKeep: 100, archiveChunk: 50, coldRetentionMs: 3_600_000 });
    const last = await fill(t.history, "user:a", 400);
    await t.history.archive();
    assert.equal((await t.history.recover("user:a", { epoch: last.epoch, seq: 0 })).recovered, true);
    t.clock.advance(3_600_001);
    const r = await t.history.archive();
    assert.equal(r.expired, 6);
    assert.equal(t.blobs.count, 0, "expired archive blobs were not released");
    const gone = await t.history.recover("user:a", { epoch: last.epoch, seq: 0 });
    assert.deepEqual(gone, { recovered: false, epoch: last.epoch, seq: 400, reason: "beyond_retention" });
    // What is still warm still replays.
    const warm = await replayAll(await t.history.recover("user:a", { epoch: last.epoch, seq: 350 }));
    assert.equal(warm.length, 50);
    await t.close();
  });

  it("keeps epoch and numbering across a restart of a durable log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "styx-history-"));
    try {
      const a = await tiered({}, join(dir, "h.db"));
      const last = await fill(a.history, "user:a", 30);
      await a.close();
      const b = await tiered({}, join(dir, "h.db"));
      assert.equal(b.history.epoch, last.epoch);
      const next = await b.history.append({ stream: "user:a", channel: "golem:x", payload: {} });
      assert.equal(next.seq, 31);
      const got = await replayAll(await b.history.recover("user:a", { epoch: last.epoch, seq: 10 }));
      assert.deepEqual(
        got.map((e) => e.seq),
        Array.from({ length: 21 }, (_, i) => 11 + i),
      );
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a new in-memory log is a new epoch (what an amnesia restart looks like)", async () => {
    const a = await tiered();
    const b = await tiered();
    assert.notEqual(a.history.epoch, b.history.epoch);
    await a.close();
    await b.close();
  });

  it("delivers nothing of a batch the store refused, and the stream goes on", async () => {
    const t = await tiered();
    await fill(t.history, "user:a", 3);
    t.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON stream_events WHEN NEW.channel = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END");
    await assert.rejects(t.history.append({ stream: "user:a", channel: "bad", payload: {} }), /refused/);
    const next = await t.history.append({ stream: "user:a", channel: "golem:x", payload: {} });
    assert.equal(next.seq, 4);
    assert.equal((await t.history.position("user:a")).seq, 4);
    await t.close();
  });

  it("archive blobs name their stream and round-trip payload text exactly", () => {
    const rows = [
      { stream: "user:a", seq: 5, ts: 9, channel: "golem:x", payloadJson: '{"a":[1,2.5,"ü"],"b":null}' },
      { stream: "user:a", seq: 6, ts: 10, channel: "styx:steer", payloadJson: "{}" },
    ];
    const text = encodeArchive("user:a", rows);
    assert.match(text.split("\n")[0] ?? "", /"stream":"user:a"/);
    const back = decodeArchive(new TextEncoder().encode(text), "ep1");
    assert.deepEqual(
      back,
      rows.map((r) => ({ ...r, epoch: "ep1" })),
    );
  });
});

describe("HotRing", () => {
  const e = (stream: string, seq: number, size = 10): SequencedEvent => ({
    stream,
    epoch: "e",
    seq,
    ts: seq,
    channel: "c",
    payloadJson: "x".repeat(size),
  });

  it("keeps the last N events of a stream and refuses to answer for what it no longer holds", () => {
    const ring = new HotRing({ perStream: 5 });
    for (let i = 1; i <= 12; i++) ring.push(e("s", i));
    assert.deepEqual(
      ring.slice("s", 7, 12)?.map((x) => x.seq),
      [8, 9, 10, 11, 12],
    );
    assert.deepEqual(
      ring.slice("s", 9, 11)?.map((x) => x.seq),
      [10, 11],
    );
    assert.equal(ring.slice("s", 6, 12), undefined, "seq 7 was evicted");
    assert.equal(ring.slice("other", 0, 1), undefined);
  });

  it("stays under its byte budget by dropping the least recently written streams", () => {
    const ring = new HotRing({ perStream: 100, maxBytes: 10_000 });
    for (let s = 0; s < 50; s++) for (let i = 1; i <= 10; i++) ring.push(e(`s${s}`, i, 100));
    assert.ok(ring.bytes <= 10_000, `${ring.bytes} bytes`);
    assert.ok(ring.slice("s49", 0, 10), "the newest stream must stay");
    assert.equal(ring.slice("s0", 0, 10), undefined, "the oldest stream must go");
  });
});
