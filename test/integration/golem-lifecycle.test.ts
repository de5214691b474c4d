import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { bloodstainTypedData } from "../../src/core/coordination/bloodstain-signature.js";
import { ManualClock } from "../../src/core/platform/clock.js";
import { signedChallenge, walletSession } from "../../src/testing/signatures.js";
import { startTestServer, type TestServer } from "../../src/testing/test-server.js";
import { TestSocket } from "../../src/testing/test-socket.js";

const death = (golemId: string) => ({
  golem_id: golemId,
  generation: 0,
  death_cause: "liquidated",
  warnings: [{ domain: "defi", regime: "bear", class: "cascade", severity: 0.9, message: "Cascading liquidations" }],
  timestamp: "2026-11-01T10:00:00.000Z",
});

const entry = (golemId: string) => ({ golem_id: golemId, layer: "vault", category: "insight", content: "a lesson" });

describe("the golem lifecycle (SPEC §3)", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 1, 11));
  let s: TestServer;
  let u: { id: string; key: string };

  before(async () => {
    s = await startTestServer({ clock });
    u = await s.user();
  });
  after(() => s.close());

  const status = async (id: string) => (await s.request("GET", `/v1/styx/golems/${id}`, { token: u.key })).json.status;
  /** `styx_auth_failures_total` summed over `reason` (every reason when undefined). */
  const authFailures = async (reason?: string) => {
    const text = (await s.request("GET", "/metrics")).text;
    return [...text.matchAll(/^styx_auth_failures_total\{transport="\w+",reason="(\w+)"\} (\d+)$/gm)]
      .filter((m) => reason === undefined || m[1] === reason)
      .reduce((n, m) => n + Number(m[2]), 0);
  };

  it("stays provisioning until its first write, then is alive", async () => {
    const g = await s.golem(u.key);
    assert.equal(await status(g.id), "provisioning");
    assert.equal((await s.request("GET", `/v1/styx/golem/${g.id}/snapshot`, { token: u.key })).status, 200, "reads do not make it alive");
    assert.equal(await status(g.id), "provisioning");
    assert.equal((await s.request("POST", "/v1/styx/entries", { token: u.key, body: entry(g.id) })).status, 201);
    assert.equal(await status(g.id), "alive");
  });

  it("becomes alive at its first heartbeat on a socket", async () => {
    const g = await s.golem(u.key);
    const sock = await TestSocket.connect(s.url, u.key);
    await sock.sock.request({ type: "heartbeat", golem_id: g.id, phase: "thriving" });
    assert.equal(await status(g.id), "alive");
    await sock.sock.close();
  });

  it("refuses every act of a dead golem with 409 STYX_GOLEM_DEAD on both transports, and drops it from presence at once", async () => {
    const g = await s.golem(u.key);
    const sock = await TestSocket.connect(s.url, u.key);
    await sock.sock.request({ type: "heartbeat", golem_id: g.id, phase: "declining" });
    const online = async () =>
      (await s.request("GET", `/v1/styx/fleet/${u.id}`, { token: u.key })).json.golems.some(
        (x: { golem_id: string }) => x.golem_id === g.id,
      );
    assert.equal(await online(), true);

    const first = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: death(g.id) });
    assert.equal(first.status, 201, first.text);
    assert.equal(await status(g.id), "dead");
    assert.equal(await online(), false, "gone from the fleet at once, not a minute later");

    const acts: [string, string, unknown][] = [
      ["POST", "/v1/styx/entries", entry(g.id)],
      ["POST", "/v1/styx/entries/batch", { entries: [entry(g.id)] }],
      [
        "POST",
        "/v1/styx/pheromone/deposit",
        { golem_id: g.id, layer: "threat", class: "c", intensity: 0.5, domain: "defi", regime: "bear" },
      ],
      [
        "POST",
        "/v1/styx/causal/publish",
        {
          golem_id: g.id,
          from_variable: "a",
          to_variable: "b",
          direction: "positive",
          strength: 0.5,
          lag_ticks: 1,
          evidence_count: 3,
          confidence: 0.7,
          domain: "defi",
          regime: "bear",
        },
      ],
      ["POST", "/v1/styx/clade/register", { golem_id: g.id, domains: ["defi"] }],
    ];
    const failedBefore = await authFailures();
    for (const [method, path, body] of acts) {
      const r = await s.request(method, path, { token: u.key, body });
      assert.equal(r.status, 409, `${path}: ${r.text}`);
      assert.equal(r.json.error.code, "STYX_GOLEM_DEAD", path);
    }
    for (const msg of [
      { type: "heartbeat", golem_id: g.id, phase: "dead" },
      { type: "event", golem_id: g.id, event: { type: "golem:tick" } },
      { type: "clade_delta", golem_id: g.id, entries: [{ k: 1 }] },
    ]) {
      const answer = await sock.sock.request(msg);
      assert.equal(answer.type, "error", msg.type);
      assert.equal(answer.code, "STYX_GOLEM_DEAD", msg.type);
    }
    assert.equal(sock.sock.ws.readyState, 1, "the socket stays open");
    assert.equal(await authFailures(), failedBefore, "a dead golem's act is no failed authentication: its key is good");

    const repeat = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: death(g.id) });
    assert.equal(repeat.status, 200, "a repeat of its bloodstain returns the first answer");
    assert.deepEqual(repeat.json, first.json);
    await sock.sock.close();
  });

  it("refuses a dead golem's wallet sign-in with 409, while the living sign in", async () => {
    const wallet = privateKeyToAccount(generatePrivateKey());
    const g = await s.golem(u.key, { wallet_address: wallet.address, wallet_proof: await signedChallenge(s, wallet) });
    assert.ok((await walletSession(s, wallet)).token, "alive: signs in");
    const td = await s.request("GET", "/v1/styx/bloodstain/typed-data");
    const body = death(g.id);
    const signature = await wallet.signTypedData(
      bloodstainTypedData(body, { chainId: td.json.domain.chainId, instanceId: td.json.instance }),
    );
    const died = await s.request("POST", "/v1/styx/bloodstain", { token: u.key, body: { ...body, signature } });
    assert.equal(died.status, 201, died.text);
    const failedBefore = await authFailures("wallet");
    const r = await s.request("POST", "/v1/auth/verify", { body: await signedChallenge(s, wallet) });
    assert.equal(r.status, 409, r.text);
    assert.equal(r.json.error.code, "STYX_GOLEM_DEAD");
    assert.equal(await authFailures("wallet"), failedBefore + 1, "a failed sign-in (counted, and audited as auth.failed)");
  });
});
