/**
 * The added latency of a paid request (SPEC §11, issue 18 acceptance 3): the same request to a
 * priced Styx with an x402 payment checked offline, and to an unpriced one, in one run.
 *
 *   npm run build && node --import tsx bench/payments.ts        # updates docs/benchmarks.md
 *   PAID_REQUESTS=50 node --import tsx bench/payments.ts         # quick run: stdout only
 *
 * Two `styx serve` processes on temp data dirs, the same set-up on each (one user, one golem):
 * priced (STYX_PRICING=1 on eip155:84532, STYX_X402_VERIFY=local, settled through the fake
 * facilitator of src/testing, its settlement task held back by a batch of 10,000 and an interval
 * of an hour so no batch runs during the measurement) and unpriced (pricing off). Requests go one
 * at a time over keep-alive, alternating priced and unpriced, so both see the same machine; each
 * paid request carries its own payment signed beforehand by the official client (@x402/fetch's
 * x402Client + @x402/evm, a viem key), so signing is not timed. Per route, PAID_REQUESTS (2,000)
 * pairs are measured after WARMUP pairs:
 *   - `GET /v1/styx/pheromone/sense?domains=bench` (a cheap read: the payment's share is largest);
 *   - `POST /v1/styx/entries` (a durable write with its embedding).
 * A paid request's extra work: decode the header, the checks of §11.2 (EIP-712 recovery of the
 * EIP-3009 signature), one ledger insert (reserve) and one update (accept), the PAYMENT-RESPONSE.
 */
import { encodePaymentSignatureHeader } from "@x402/core/http";
import type { PaymentRequired } from "@x402/core/types";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { x402Client } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startFakeFacilitator } from "../src/testing/fake-facilitator.js";
import { machine, ms, nowMs, pct, publishReport, table } from "./lib/common.js";
import { ADMIN_TOKEN, call, createUser, type StyxProcess, startStyx, tempDataDir } from "./lib/fabric.js";

const N = Number(process.env.PAID_REQUESTS ?? 2_000);
const FULL = N === 2_000;
const WARMUP = Math.min(100, Math.max(5, Math.floor(N / 10)));
const PAY_TO = "0x4444444444444444444444444444444444444444";
const log = (m: string) => console.error(m);

interface Route {
  readonly name: string;
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly body?: (golemId: string, i: number) => unknown;
  readonly ok: number;
}

const ROUTES: readonly Route[] = [
  { name: "GET /v1/styx/pheromone/sense", method: "GET", path: "/v1/styx/pheromone/sense?domains=bench", ok: 200 },
  {
    name: "POST /v1/styx/entries",
    method: "POST",
    path: "/v1/styx/entries",
    body: (golemId, i) => ({ golem_id: golemId, layer: "vault", category: "insight", content: `bench entry ${i}` }),
    ok: 201,
  },
];

async function timed(url: string, key: string, route: Route, golemId: string, i: number, payment?: string): Promise<number> {
  const t = nowMs();
  const res = await fetch(url + route.path, {
    method: route.method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(route.body ? { "content-type": "application/json" } : {}),
      ...(payment ? { "payment-signature": payment } : {}),
    },
    body: route.body ? JSON.stringify(route.body(golemId, i)) : undefined,
  });
  await res.arrayBuffer();
  const elapsed = nowMs() - t;
  if (res.status !== route.ok) throw new Error(`${route.name}${payment ? " (paid)" : ""}: ${res.status}`);
  if (payment && !res.headers.get("payment-response")) throw new Error(`${route.name}: no PAYMENT-RESPONSE`);
  return elapsed;
}

async function setUp(s: StyxProcess): Promise<{ key: string; golemId: string }> {
  const u = await createUser(s.url, "bench-payer");
  const g = await call(s.url, "POST", "/v1/styx/golems", u.key, {});
  if (g.status !== 201) throw new Error(`golem: ${g.status}`);
  return { key: u.key, golemId: g.json.id as string };
}

async function main(): Promise<void> {
  const facilitator = await startFakeFacilitator();
  const dirs = [tempDataDir("styx-bench-paid-"), tempDataDir("styx-bench-free-")];
  const priced = await startStyx({
    dataDir: dirs[0]?.dir as string,
    env: {
      STYX_PRICING: "1",
      STYX_X402_NETWORK: "eip155:84532",
      STYX_X402_PAY_TO: PAY_TO,
      STYX_X402_FACILITATOR_URL: facilitator.url,
      STYX_X402_VERIFY: "local",
      STYX_SETTLE_BATCH: "10000",
      STYX_SETTLE_INTERVAL: "1h",
    },
  });
  const free = await startStyx({ dataDir: dirs[1]?.dir as string });
  const rows: string[][] = [];
  try {
    const [p, f] = [await setUp(priced), await setUp(free)];
    const client = new x402Client();
    registerExactEvmScheme(client, { signer: privateKeyToAccount(generatePrivateKey()) });
    for (const route of ROUTES) {
      // The offer, from the 402 of an unpaid request.
      const unpaid = await fetch(priced.url + route.path, {
        method: route.method,
        headers: { authorization: `Bearer ${p.key}`, ...(route.body ? { "content-type": "application/json" } : {}) },
        body: route.body ? JSON.stringify(route.body(p.golemId, -1)) : undefined,
      });
      await unpaid.arrayBuffer();
      if (unpaid.status !== 402) throw new Error(`${route.name}: unpaid ${unpaid.status}`);
      const offer = JSON.parse(Buffer.from(unpaid.headers.get("payment-required") ?? "", "base64").toString()) as PaymentRequired;
      const paid: number[] = [];
      const plain: number[] = [];
      log(`${route.name}: ${WARMUP} + ${N} pairs`);
      for (let i = 0; i < WARMUP + N; i++) {
        // Signed before the clock starts: the client's work is not the server's latency.
        const payment = encodePaymentSignatureHeader(await client.createPaymentPayload(offer));
        const a = i % 2 === 0;
        const one = a ? await timed(priced.url, p.key, route, p.golemId, i, payment) : await timed(free.url, f.key, route, f.golemId, i);
        const two = a ? await timed(free.url, f.key, route, f.golemId, i) : await timed(priced.url, p.key, route, p.golemId, i, payment);
        if (i < WARMUP) continue;
        paid.push(a ? one : two);
        plain.push(a ? two : one);
      }
      const mean = (xs: number[]) => xs.reduce((n, x) => n + x, 0) / xs.length;
      const row = (label: string, xs: number[]) => [
        route.name,
        label,
        String(xs.length),
        ms(pct(xs, 0.5)),
        ms(pct(xs, 0.9)),
        ms(pct(xs, 0.99)),
        ms(mean(xs)),
      ];
      rows.push(row("unpriced", plain), row("paid (offline check)", paid));
      rows.push([
        route.name,
        "**added by the payment**",
        "",
        ms(pct(paid, 0.5) - pct(plain, 0.5)),
        ms(pct(paid, 0.9) - pct(plain, 0.9)),
        ms(pct(paid, 0.99) - pct(plain, 0.99)),
        ms(mean(paid) - mean(plain)),
      ]);
    }
    const ledger = await call(priced.url, "GET", "/v1/admin/payments/summary", ADMIN_TOKEN);
    const out = [
      `${machine()} Requests one at a time over keep-alive, priced and unpriced alternating; ${N} pairs per route after ${WARMUP}.`,
      "",
      table(["route", "server", "n", "p50 ms", "p90 ms", "p99 ms", "mean ms"], rows),
      "",
      `Ledger of the priced server after the run (USD by status): ${JSON.stringify(ledger.json?.by_status)}; facilitator calls: ${JSON.stringify(facilitator.calls)} (no /verify: every signature was checked offline).`,
    ].join("\n");
    publishReport("Paid request latency (bench/payments.ts)", out, { full: FULL, overrides: "PAID_REQUESTS", section: "## Payments" });
  } finally {
    await priced.stop();
    await free.stop();
    await facilitator.close();
    for (const d of dirs) d?.remove();
  }
}

await main();
