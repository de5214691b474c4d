// A golem dies and its knowledge lives on (SPEC §16): the owner of a dead golem lists its death
// archive on the marketplace — encrypted on this side, the key escrowed to Styx — and a golem of
// another user buys it through x402 and decrypts it. Every paid call goes through the official
// @x402/fetch client; `createListing` and `purchase` of @styx/client do the crypto.
//
//   SELLER_WALLET_KEY=0x… BUYER_WALLET_KEY=0x… node --import tsx examples/death-archive.ts URL SELLER_KEY BUYER_KEY
import { fileURLToPath } from "node:url";
import { createListing, purchase } from "@styx/client";
import { registerExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { privateKeyToAccount } from "viem/accounts";

/** Options of `deathArchive`. */
export interface DeathArchiveOptions {
  readonly url: string;
  /** The dead golem's owner (an owner key: death archives need one). */
  readonly sellerKey: string;
  /** A key of the buying user. */
  readonly buyerKey: string;
  /** Wallets that pay: 0x private keys holding USDC on the network Styx charges on. */
  readonly sellerWallet: `0x${string}`;
  readonly buyerWallet: `0x${string}`;
  readonly log?: (line: string) => void;
}

/** A fetch that pays x402 offers from `wallet`. */
function payer(wallet: `0x${string}`): typeof fetch {
  const client = new x402Client();
  registerExactEvmScheme(client, { signer: privateKeyToAccount(wallet) });
  return wrapFetchWithPayment(fetch, client);
}

/** Lives, learns, dies, is listed and bought; returns the listing and what the buyer decrypted. */
export async function deathArchive(opts: DeathArchiveOptions): Promise<{ listingId: string; golemId: string; archive: unknown }> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const sellerPay = payer(opts.sellerWallet);
  const json = (key: string) => ({ authorization: `Bearer ${key}`, "content-type": "application/json" });

  // 1. A golem lives and learns (registration is free; writes and its bloodstain are paid).
  const reg = await fetch(`${opts.url}/v1/styx/golems`, { method: "POST", headers: json(opts.sellerKey), body: "{}" });
  const golemId = ((await reg.json()) as { id: string }).id;
  const lessons = ["funding rates lead liquidations by hours", "thin books punish size before news does"];
  for (const content of lessons) {
    const r = await sellerPay(`${opts.url}/v1/styx/entries`, {
      method: "POST",
      headers: json(opts.sellerKey),
      body: JSON.stringify({ golem_id: golemId, layer: "vault", category: "insight", content }),
    });
    if (r.status !== 201) throw new Error(`write: ${r.status} ${await r.text()}`);
  }
  const testament = "Hold less when everyone agrees.";
  const died = await sellerPay(`${opts.url}/v1/styx/bloodstain`, {
    method: "POST",
    headers: json(opts.sellerKey),
    body: JSON.stringify({
      golem_id: golemId,
      generation: 0,
      death_cause: "liquidated",
      warnings: [],
      death_testament_excerpt: testament,
      timestamp: new Date().toISOString(),
    }),
  });
  if (died.status >= 300) throw new Error(`bloodstain: ${died.status} ${await died.text()}`);
  log(`${golemId} died`);

  // 2. Its owner lists the death archive: encrypted here, only the wrapped key goes to Styx.
  const archive = { golem_generation: 0, lessons, testament };
  const listing = await createListing(
    { url: opts.url, key: opts.sellerKey, pay: sellerPay },
    {
      kind: "death_archive",
      golemId,
      title: "Death archive: a liquidated lending golem",
      description: "Its best lessons and its testament",
      preview: "two lessons about funding and depth",
      domain: "defi.lending",
      priceUsd: "0.25",
      entryCount: lessons.length,
      content: Buffer.from(JSON.stringify(archive)),
      payoutAddress: privateKeyToAccount(opts.sellerWallet).address,
    },
  );
  log(`listed ${listing.id} for ${listing.totalUsd} USD (price + fee)`);

  // 3. A golem of another user buys it and decrypts it.
  const buyerGolem = await fetch(`${opts.url}/v1/styx/golems`, { method: "POST", headers: json(opts.buyerKey), body: "{}" });
  const buyerGolemId = ((await buyerGolem.json()) as { id: string }).id;
  const bought = await purchase({ url: opts.url, key: opts.buyerKey, pay: payer(opts.buyerWallet) }, listing.id, { golemId: buyerGolemId });
  log(`bought ${bought.purchaseId}: ${bought.priceUsd} + ${bought.feeUsd} USD`);
  return { listingId: listing.id, golemId, archive: JSON.parse(Buffer.from(bought.content).toString("utf8")) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [url, sellerKey, buyerKey] = process.argv.slice(2);
  const sellerWallet = process.env.SELLER_WALLET_KEY as `0x${string}` | undefined;
  const buyerWallet = process.env.BUYER_WALLET_KEY as `0x${string}` | undefined;
  if (!url || !sellerKey || !buyerKey || !sellerWallet || !buyerWallet)
    throw new Error("usage: SELLER_WALLET_KEY=0x… BUYER_WALLET_KEY=0x… examples/death-archive.ts URL SELLER_KEY BUYER_KEY");
  console.log(JSON.stringify(await deathArchive({ url, sellerKey, buyerKey, sellerWallet, buyerWallet }), null, 2));
}
