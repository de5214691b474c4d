import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const D = "sx_00112233445566ab";
const account = privateKeyToAccount(generatePrivateKey());

/** A request paid by x402 when the route asks (a deposit, a top-up), with `key`. */
async function paid(s: TestServer, key: string, path: string, body: unknown): Promise<number> {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  const pay = wrapFetchWithPayment(async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    req.headers.set("authorization", `Bearer ${key}`);
    return fetch(req);
  }, client);
  const r = await pay(`${s.url}${path}`, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  await r.text();
  return r.status;
}

/**
 * SPEC §17.3 with pricing on, on the micronode: each federation record sent down costs 1 atomic
 * unit of the federation user's relay credit; exhausted credit pauses the link's down-flow (an
 * error frame and a close with 4402; the snapshot answers 402) until a top-up, after which the
 * downstream resumes from its cursor and gets every record the stream kept.
 */
describe("federation with pricing on: 1 atomic unit per record sent down (SPEC §17.3)", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "styx-fed-credit-"));
  let facilitator: FakeFacilitator;
  let s: TestServer;
  let alice: { id: string; key: string };
  let golem: string;
  let fed: { id: string; key: string; keyId: string };
  let owner: string;

  // Deposits are priced too: alice pays each by x402.
  const deposit = (cls: string) =>
    paid(s, alice.key, "/v1/styx/pheromone/deposit", {
      golem_id: golem,
      layer: "threat",
      class: cls,
      intensity: 0.9,
      domain: "defi",
      regime: "bull",
    });
  const records = (sock: TestSocket) =>
    sock.frames.filter((f) => f.channel === "styx:federation:record").map((f) => f.payload.pheromone.class as string);

  before(async () => {
    facilitator = await startFakeFacilitator();
    s = await startTestServer({
      dataDir: dir,
      env: {
        STYX_PRICING: "1",
        STYX_X402_NETWORK: "eip155:84532",
        STYX_X402_PAY_TO: "0x2222222222222222222222222222222222222222",
        STYX_X402_FACILITATOR_URL: facilitator.url,
      },
    });
    alice = await s.user("alice");
    golem = (await s.golem(alice.key, { id: "alice-g" })).id;
    fed = await s.user("d-styx", { scopes: ["federate"] });
    const k = await s.request("POST", `/v1/admin/users/${fed.id}/keys`, { token: s.adminToken, body: { name: "owner" } });
    assert.equal(k.status, 201, k.text);
    owner = k.json.key;
    const hello = await s.request("POST", "/v1/styx/federation/hello", {
      token: fed.key,
      body: { instance_id: D, version: "test", flows: ["pheromone"], domains: ["defi"], embed_dim: 384 },
    });
    assert.equal(hello.status, 200, hello.text);
  });
  after(async () => {
    await s?.close();
    await facilitator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends the records the credit pays, then pauses; after a top-up the resume from the cursor gets the rest", async () => {
    // Two atomic units, as an operator's adjustment would leave them: two records' worth.
    await s.styx.storage.credit?.add(fed.id, 2, 0, Date.now());
    const first = await TestSocket.open(s.url, { token: fed.key });
    await first.next((f) => f.type === "welcome");
    const sub = await first.request({ type: "subscribe", federation: ["defi"] });
    assert.equal(sub.type, "subscribed", JSON.stringify(sub));
    const cursor = sub.streams["federation:defi"];
    for (const cls of ["r1", "r2", "r3", "r4"]) assert.equal(await deposit(cls), 201);
    const error = await first.next((f) => f.type === "error", 5000);
    assert.equal(error.code, "STYX_CREDIT_EXHAUSTED");
    assert.equal((await first.closed).code, 4402);
    assert.deepEqual(records(first), ["r1", "r2"], "exactly what 2 units pay, in order");

    const snapshot = await s.request("GET", "/v1/styx/federation/snapshot?domain=defi", { token: fed.key });
    assert.equal(snapshot.status, 402, "no snapshot while paused");
    assert.equal(snapshot.json.error.code, "STYX_CREDIT_EXHAUSTED");

    assert.equal(await paid(s, owner, "/v1/styx/credit/topup", { amount_usd: "0.001" }), 200);
    // The downstream's reconnect: resumes from the last record it applied (r2's position).
    const last = first.frames.filter((f) => f.channel === "styx:federation:record").at(-1);
    const second = await TestSocket.open(s.url, { token: fed.key });
    await second.next((f) => f.type === "welcome");
    const resumed = await second.request({ type: "resume", streams: { "federation:defi": { epoch: last.epoch, seq: last.seq } } });
    assert.equal(resumed.streams["federation:defi"].recovered, true, JSON.stringify(resumed));
    await second.until(() => records(second).length >= 2, 5000);
    assert.equal(await deposit("r5"), 201);
    await second.until(() => records(second).length >= 3, 5000);
    assert.deepEqual(records(second), ["r3", "r4", "r5"], "the paused records from the stream, then live ones");
    assert.ok(cursor.seq < last.seq);
    assert.equal(
      (await s.request("GET", "/v1/styx/federation/snapshot?domain=defi", { token: fed.key })).status,
      200,
      "topped up: the snapshot again",
    );
    await second.close();
  });

  it("charged the federation user 1 unit a record sent: 2 + 1,000 units less 5 records", async () => {
    // The gateway's purse goes back to the balance at close.
    await s.close();
    const [row] = await s.sql(`SELECT balance FROM credit_balances WHERE user_id = '${fed.id}'`);
    assert.equal(Number(row.balance), 2 + 1000 - 5);
  });
});
