import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { headers, TimeoutError } from "@nats-io/transport-node";
import { connectNats, type NatsConnection } from "../../src/adapters/nats/nats-connection.js";
import { PubAcks } from "../../src/adapters/nats/pub-acks.js";
import { newCluster, SERVICES } from "../../src/testing/services.js";

describe("PubAcks (JetStream publishes answered on one inbox)", () => {
  const cluster = newCluster();
  const name = `${cluster.toUpperCase()}_PUBACKS`;
  const subject = `${cluster}.pa.one`;
  let nats: NatsConnection;
  let jsm: JetStreamManager;
  let acks: PubAcks;

  before(async () => {
    nats = await connectNats({ url: SERVICES.natsUrl, name: "styx-test" });
    jsm = await jetstreamManager(nats.nc);
    await jsm.streams.add({ name, subjects: [`${cluster}.pa.>`] });
    acks = new PubAcks(nats.nc);
  });

  after(async () => {
    acks.close();
    await jsm.streams.delete(name).catch(() => false);
    await nats.close();
  });

  const publish = (body: string, last: number, timeout = 5000) =>
    acks.publish(subject, body, { lastSubjectSequence: last, headers: headers(), timeout });

  it("stores in order with the expected subject tip, and refuses a stale tip with the client's JetStreamApiError (nothing stored)", async () => {
    const a = await publish("a", 0);
    // Concurrent publishes on other subjects: each answer reaches its own caller.
    const [b, other] = await Promise.all([
      publish("b", a.seq),
      acks.publish(`${cluster}.pa.two`, "x", { lastSubjectSequence: 0, headers: headers(), timeout: 5000 }),
    ]);
    assert.ok(b.seq > a.seq && other.seq !== b.seq);
    const stale = await publish("c", a.seq).then(
      () => assert.fail("a publish expecting a stale tip was stored"),
      (err: unknown) => err,
    );
    assert.ok(stale instanceof JetStreamApiError, String(stale));
    assert.equal(stale.code, JetStreamApiCodes.StreamWrongLastSequence);
    const last = await jsm.streams.getMessage(name, { last_by_subj: subject });
    assert.equal(last?.string(), "b");
    assert.equal(last?.seq, b.seq);
  });

  it("fails a publish no stream takes, and times out one whose answer never comes", async () => {
    await assert.rejects(
      acks.publish(`${cluster}.nostream`, "x", { lastSubjectSequence: 0, headers: headers(), timeout: 5000 }),
      /no responders/,
    );
    // A plain subscriber takes the message and never answers: no 503, no ack.
    const silent = nats.nc.subscribe(`${cluster}.silent`);
    try {
      const t0 = performance.now();
      await assert.rejects(
        acks.publish(`${cluster}.silent`, "x", { lastSubjectSequence: 0, headers: headers(), timeout: 200 }),
        TimeoutError,
      );
      assert.ok(performance.now() - t0 >= 190);
    } finally {
      silent.unsubscribe();
    }
  });

  it("fails what is still waiting when closed", async () => {
    const own = new PubAcks(nats.nc);
    const silent = nats.nc.subscribe(`${cluster}.silent2`);
    try {
      const waiting = own.publish(`${cluster}.silent2`, "x", { lastSubjectSequence: 0, headers: headers(), timeout: 10_000 });
      own.close();
      await assert.rejects(waiting, /closed/);
    } finally {
      silent.unsubscribe();
    }
  });
});
