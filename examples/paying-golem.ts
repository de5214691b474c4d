// A golem that pays its way on a public Styx (x402, SPEC §11): the official @x402/fetch client,
// with an @x402/evm signer over the golem's own wallet key, pays each priced call in USDC when
// Styx answers 402, and reads the receipt Styx sends back. Free calls (registration) go plain.
//
//   GOLEM_WALLET_KEY=0x… node --import tsx examples/paying-golem.ts [URL] [KEY]   (or STYX_URL / STYX_KEY)
import { fileURLToPath } from "node:url";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { decodePaymentResponseHeader, wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { privateKeyToAccount } from "viem/accounts";

/** Options of `payingGolem`. */
export interface PayingGolemOptions {
  readonly url: string;
  /** The owner's API key (every call still needs its credential). */
  readonly key: string;
  /** The wallet that pays: a 0x private key holding USDC on the network Styx charges on. */
  readonly walletKey: `0x${string}`;
  readonly log?: (line: string) => void;
}

/** What one paid call cost: its status and Styx's receipt (`PAYMENT-RESPONSE`). */
export interface PaidCall {
  readonly status: number;
  readonly paymentId: string | undefined;
  readonly amount: string | undefined;
}

/** Registers a golem, then writes one entry and runs one query, both paid; returns the receipts. */
export async function payingGolem(opts: PayingGolemOptions): Promise<{ golemId: string; write: PaidCall; query: PaidCall }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(opts.walletKey) });
  const pay = wrapFetchWithPayment(fetch, client);
  const headers = { authorization: `Bearer ${opts.key}`, "content-type": "application/json" };

  const registered = await fetch(`${opts.url}/v1/styx/golems`, { method: "POST", headers, body: "{}" });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
  const golemId = ((await registered.json()) as { id: string }).id;
  log(`registered ${golemId} (free)`);

  const call = async (path: string, body: unknown): Promise<PaidCall> => {
    const r = await pay(`${opts.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
    await r.text();
    const header = r.headers.get("payment-response");
    const receipt = header ? decodePaymentResponseHeader(header) : undefined;
    const styx = receipt?.extensions?.styx as { payment_id?: string } | undefined;
    log(`${path}: ${r.status}, paid ${receipt?.amount ?? "nothing"} (payment ${styx?.payment_id ?? "none"})`);
    return { status: r.status, paymentId: styx?.payment_id, amount: receipt?.amount };
  };
  const write = await call("/v1/styx/entries", { golem_id: golemId, layer: "vault", category: "insight", content: "paid for, kept" });
  const query = await call("/v1/styx/query", { query: "paid for" });
  return { golemId, write, query };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? process.env.STYX_URL ?? "http://localhost:8080";
  const key = process.argv[3] ?? process.env.STYX_KEY;
  const walletKey = process.env.GOLEM_WALLET_KEY as `0x${string}` | undefined;
  if (!key || !walletKey) throw new Error("usage: GOLEM_WALLET_KEY=0x… examples/paying-golem.ts [URL] KEY (or STYX_KEY)");
  await payingGolem({ url, key, walletKey });
}
