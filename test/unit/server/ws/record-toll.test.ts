import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryCredit } from "../../../../src/adapters/memory/memory-credit.js";
import { CreditAccounts, type CreditMeter } from "../../../../src/core/payments/credit.js";
import { ERROR_TABLE } from "../../../../src/core/platform/errors.js";
import { Connection } from "../../../../src/server/ws/connection.js";
import { RecordToll } from "../../../../src/server/ws/record-toll.js";
import { FakeTransport, turns } from "./kit.js";

/** A federation user with `balance` atomic units (event price 5: a record still costs 1), its toll on a fake socket. */
async function setup(balance: number, meterOf: (m: CreditMeter) => Pick<CreditMeter, "take" | "refill"> = (m) => m) {
  const store = new MemoryCredit();
  await store.add("usr_fed", balance, 0);
  const meter = new CreditAccounts({ store, eventPrice: 5, lowEvents: 0, now: () => 0 }).meter();
  const transport = new FakeTransport();
  const conn = new Connection("c1", "127.0.0.1", transport, { maxQueueBytes: 1 << 20, onClose: () => {} });
  const errors: unknown[] = [];
  const toll = new RecordToll({ meter: meterOf(meter), userId: "usr_fed", conn, onError: (e) => errors.push(e) });
  const send = (n: number) => toll.send(Buffer.from(JSON.stringify({ n })));
  const sent = () => transport.frames.filter((f) => typeof f.n === "number").map((f) => f.n);
  return { store, meter, transport, conn, toll, sent, send, errors };
}

describe("RecordToll (SPEC §17.3: 1 atomic unit per federation record sent down)", () => {
  it("sends exactly as many records as the credit pays, in order, then an error frame and a close with 4402", async () => {
    const h = await setup(7);
    for (let i = 1; i <= 10; i++) h.send(i);
    assert.deepEqual(h.sent(), [], "the purse was empty: the first record waits for a draw, the others behind it");
    assert.ok(h.toll.waiting);
    assert.equal(await h.toll.settled(), false, "closed");
    assert.deepEqual(h.sent(), [1, 2, 3, 4, 5, 6, 7]);
    const [error] = h.transport.control("error");
    assert.equal(error?.code, "STYX_CREDIT_EXHAUSTED");
    assert.equal(h.transport.closedWith, ERROR_TABLE.STYX_CREDIT_EXHAUSTED.ws);
    assert.equal(await h.store.balance("usr_fed"), 0);
    assert.equal(h.meter.held("usr_fed"), 0, "each record 1 unit, not an event's 5");
    assert.equal(h.conn.queuedBytes, 0, "nothing held for the records not sent");
  });

  it("sends at once from the purse once drawn, and sends later records behind those still waiting", async () => {
    const h = await setup(8000);
    h.send(1);
    h.send(2);
    assert.equal(await h.toll.settled(), true);
    assert.deepEqual(h.sent(), [1, 2]);
    h.send(3);
    assert.deepEqual(h.sent(), [1, 2, 3], "paid from the purse: no wait");
    assert.equal(h.toll.waiting, false);
    assert.equal(h.meter.held("usr_fed"), 5000 - 3, "one block of 1,000 events at 5 units drawn, 3 units spent");
    assert.equal(await h.store.balance("usr_fed"), 3000, "the rest stays in the shared balance");
    assert.equal(h.transport.open, true);
  });

  it("goes on where it stopped after a top-up: a new socket (the downstream's resume) pays again", async () => {
    const h = await setup(2);
    for (let i = 1; i <= 4; i++) h.send(i);
    assert.equal(await h.toll.settled(), false);
    assert.deepEqual(h.sent(), [1, 2]);
    await h.store.add("usr_fed", 1000, 0);
    const transport = new FakeTransport();
    const conn = new Connection("c2", "127.0.0.1", transport, { maxQueueBytes: 1 << 20, onClose: () => {} });
    const again = new RecordToll({ meter: h.meter, userId: "usr_fed", conn, onError: () => {} });
    for (const n of [3, 4]) again.send(Buffer.from(JSON.stringify({ n })));
    assert.equal(await again.settled(), true);
    assert.deepEqual(
      transport.frames.map((f) => f.n),
      [3, 4],
    );
    assert.equal(transport.open, true);
  });

  it("closes the socket as unavailable when the credit cannot be read, sending nothing unpaid", async () => {
    const h = await setup(100, (m) => ({
      take: (u, n) => m.take(u, n),
      refill: async () => {
        throw new Error("the database is down");
      },
    }));
    h.send(1);
    await turns();
    assert.deepEqual(h.sent(), []);
    assert.equal(h.transport.closedWith, ERROR_TABLE.STYX_DEPENDENCY_UNAVAILABLE.ws);
    assert.equal(h.errors.length, 1);
  });
});
