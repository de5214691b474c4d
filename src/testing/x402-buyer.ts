import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";

/** An answer read whole, its JSON parsed when there is a body. */
export interface PaidAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  readonly json: any;
  /** The payer's address (lower case): a fresh wallet per call. */
  readonly payer: string;
}

/**
 * A JSON POST paid with the official x402 client (`@x402/fetch`, exact EVM scheme) from a fresh
 * wallet, `headers` (a bearer key, X-Styx-Buyer…) sent with the first try and the paid one alike.
 */
export async function paidPost(url: string, headers: Readonly<Record<string, string>>, body: unknown): Promise<PaidAnswer> {
  const account = privateKeyToAccount(generatePrivateKey());
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: account });
  const inner = async (input: string | URL | Request, init?: RequestInit) => {
    const req = new Request(input, init);
    for (const [k, v] of Object.entries(headers)) req.headers.set(k, v);
    return fetch(req);
  };
  const r = await wrapFetchWithPayment(inner as typeof fetch, client)(url, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const text = await r.text();
  return { status: r.status, headers: r.headers, text, json: text ? JSON.parse(text) : undefined, payer: account.address.toLowerCase() };
}
