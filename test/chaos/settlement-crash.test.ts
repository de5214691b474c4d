import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { decodePaymentResponseHeader } from "@x402/core/http";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { call, createOwner, type QuietServer, spawnQuietServer } from "../../src/testing/chaos-kit.js";
import { reportFigures } from "../../src/testing/chaos-report.js";
import { type FakeFacilitator, startFakeFacilitator } from "../../src/testing/fake-facilitator.js";

/**
 * Proof (SPEC §11.5, issue 18 acceptance 2): kill -9 during a settlement batch, restart, and
 * every accepted payment is settled exactly once.
 *
 * A real `styx serve` child prices queries and settles through a fake facilitator that speaks
 * the x402 protocol, counts every `/settle` per nonce and answers each after a delay (so a batch
 * is in flight for seconds). PAYMENTS queries are paid with the official client (@x402/fetch +
 * @x402/evm, a viem key on eip155:84532); each 200's PAYMENT-RESPONSE names the accepted payment.
 * PAYMENTS is STYX_SETTLE_BATCH, so one batch claims them all; the process is SIGKILLed once the
 * facilitator has seen KILL_AFTER of its `/settle` calls — some settled, some in flight (the
 * facilitator finishes those on its side: settled on chain, unknown to the ledger), most not yet
 * sent. The server restarts on the same data dir; rows left settling are resent at start. Then:
 * every accepted payment is `settled` in the ledger (admin receipts), each nonce was settled on
 * the "chain" exactly once, and no payment failed.
 */

const ADMIN = "chaos-settle-admin-token-0123456789abcdef";
const PAY_TO = "0x3333333333333333333333333333333333333333";
const PAYMENTS = 100;
const SETTLE_DELAY_MS = 150;
const KILL_AFTER = 12;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("kill -9 during a settlement batch", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "styx-chaos-settle-"));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  it("settles every accepted payment exactly once after the restart", { timeout: 180_000 }, async () => {
    const facilitator: FakeFacilitator = await startFakeFacilitator();
    facilitator.settleDelayMs = SETTLE_DELAY_MS;
    const env = (intervalS: number) => ({
      STYX_DATA_DIR: dataDir,
      STYX_ADMIN_TOKEN: ADMIN,
      STYX_RATE_LIMIT: "1000000/s:1000000",
      STYX_IP_RATE_LIMIT: "1000000/s:1000000",
      STYX_PRICING: "1",
      STYX_X402_NETWORK: "eip155:84532",
      STYX_X402_PAY_TO: PAY_TO,
      STYX_X402_FACILITATOR_URL: facilitator.url,
      STYX_SETTLE_BATCH: String(PAYMENTS),
      STYX_SETTLE_INTERVAL: `${intervalS}s`,
    });
    // First run: only the batch size starts a batch (the interval is far), so one batch holds them all.
    let server: QuietServer = await spawnQuietServer(env(3600));
    try {
      const owner = await createOwner(server.url, ADMIN, "payer");
      const account = privateKeyToAccount(generatePrivateKey());
      const client = new x402Client();
      registerExactEvmScheme(client, { signer: account });
      const nonces = new Set<string>();
      const pay = wrapFetchWithPayment(
        (async (input: string | URL | Request, init?: RequestInit) => {
          const req = new Request(input, init);
          req.headers.set("authorization", `Bearer ${owner.key}`);
          const header = req.headers.get("payment-signature");
          if (header) nonces.add(JSON.parse(Buffer.from(header, "base64").toString()).payload.authorization.nonce.toLowerCase());
          return fetch(req);
        }) as typeof fetch,
        client,
      );

      const accepted = new Set<string>();
      for (let i = 0; i < PAYMENTS; i++) {
        const r = await pay(`${server.url}/v1/styx/query`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: `paid ${i}` }),
        });
        assert.equal(r.status, 200, await r.text());
        const receipt = decodePaymentResponseHeader(r.headers.get("payment-response") ?? "");
        accepted.add((receipt.extensions?.styx as { payment_id?: string } | undefined)?.payment_id ?? "");
      }
      assert.equal(accepted.size, PAYMENTS);
      assert.equal(nonces.size, PAYMENTS);

      // The batch is due at the next tick (every 5 s); kill once it is well under way.
      const started = performance.now();
      while (facilitator.calls.settle < KILL_AFTER && performance.now() - started < 30_000) await sleep(2);
      assert.ok(facilitator.calls.settle >= KILL_AFTER, `the batch started (${facilitator.calls.settle} /settle calls in 30 s)`);
      server.proc.kill("SIGKILL");
      assert.equal(await server.exited, "SIGKILL");
      const callsAtKill = facilitator.calls.settle;
      const settledAtKill = facilitator.settled.length;
      // Let the facilitator finish what was in flight (settled on chain, never heard by the ledger).
      await sleep(SETTLE_DELAY_MS * 3);
      const settledOnChainBeforeRestart = facilitator.settled.length;
      assert.ok(settledOnChainBeforeRestart < PAYMENTS, "the kill came before the batch was done");

      server = await spawnQuietServer(env(1));
      const settledRows = async () => {
        const ids: string[] = [];
        let cursor: string | null = null;
        do {
          const r = await call(server.url, "GET", `/v1/admin/payments?status=settled&limit=200${cursor ? `&cursor=${cursor}` : ""}`, ADMIN);
          assert.equal(r.status, 200, r.text);
          ids.push(...r.json.payments.map((p: { id: string }) => p.id));
          cursor = r.json.next_cursor;
        } while (cursor);
        return ids;
      };
      const until = performance.now() + 60_000;
      let settled = await settledRows();
      while (settled.length < PAYMENTS && performance.now() < until) {
        await sleep(250);
        settled = await settledRows();
      }
      assert.deepEqual(new Set(settled), accepted, "every accepted payment is settled in the ledger");
      const summary = await call(server.url, "GET", "/v1/admin/payments/summary", ADMIN);
      assert.equal(summary.json.by_status.failed, "0", "no payment failed");
      assert.equal(summary.json.by_status.settling, "0");
      assert.equal(summary.json.by_status.accepted, "0");

      // The chain's view: each nonce settled once, none twice, none left out.
      assert.equal(new Set(facilitator.settled).size, facilitator.settled.length, "no nonce settled twice");
      assert.deepEqual(new Set(facilitator.settled), nonces, "every paid nonce settled");
      let resentTwice = 0;
      for (const n of nonces) {
        const calls = facilitator.settleCalls.get(n) ?? 0;
        assert.ok(calls >= 1 && calls <= 2, `${n}: ${calls} /settle calls (one, or one resent after the kill)`);
        if (calls === 2) resentTwice++;
      }
      reportFigures("settlement crash (kill -9 mid-batch)", {
        "payments accepted": accepted.size,
        "/settle calls before the kill": callsAtKill,
        "settled on chain at the kill": settledAtKill,
        "settled on chain by calls in flight at the kill": settledOnChainBeforeRestart - settledAtKill,
        "resent after restart (2nd /settle)": resentTwice,
        "settled in the ledger": settled.length,
        "nonces settled twice": facilitator.settled.length - new Set(facilitator.settled).size,
      });
      server.proc.kill("SIGTERM");
      assert.equal(await server.exited, 0, "a clean stop after the restart");
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) {
        server.proc.kill("SIGKILL");
        await server.exited;
      }
      await facilitator.close();
    }
  });
});
