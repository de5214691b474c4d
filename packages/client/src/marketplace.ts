import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { createBLAKE3 } from "hash-wasm";
import { StyxError } from "./errors.js";

/**
 * The marketplace from a golem's side (SPEC §16): `createListing` encrypts a package
 * (AES-256-GCM, random 32-byte CEK), uploads the ciphertext as a blob and lists it with the CEK
 * wrapped to the instance's escrow key; `purchase` pays (through an x402-paying fetch), unwraps
 * the CEK sent for its own X25519 key, downloads, decrypts and checks the plaintext's BLAKE3.
 * All crypto is node:crypto's; BLAKE3 is hash-wasm's.
 */

/** Where and as whom: the Styx origin, the API key, and a fetch that pays x402 offers (e.g. `wrapFetchWithPayment(fetch, client)`). */
export interface MarketplaceAccess {
  readonly url: string;
  readonly key: string;
  readonly pay: typeof fetch;
}

/** A package to sell. */
export interface NewListing {
  readonly kind: "entries" | "death_archive" | "strategy";
  readonly title: string;
  readonly description: string;
  readonly preview: string;
  readonly domain: string;
  /** USD, decimal string ("0.5"). */
  readonly priceUsd: string;
  readonly golemId?: string;
  readonly entryCount: number;
  /** The plaintext package. */
  readonly content: Uint8Array;
  readonly embedding?: readonly number[];
  readonly ttlSeconds?: number;
  readonly payoutAddress?: string;
}

/** A listed package. */
export interface CreatedListing {
  readonly id: string;
  readonly status: string;
  readonly expiresAt: string;
  readonly totalUsd: string;
}

/** A bought and decrypted package. */
export interface BoughtPackage {
  readonly purchaseId: string;
  readonly listingId: string;
  readonly content: Uint8Array;
  readonly priceUsd: string;
  readonly feeUsd: string;
  readonly paymentId: string;
}

const INFO = "styx-cek-v1";

function x25519(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}
function rawOf(key: KeyObject): Buffer {
  const pub = key.type === "public" ? key : createPublicKey(key);
  return Buffer.from(pub.export({ format: "jwk" }).x as string, "base64url");
}

/** SPEC §16.1's wrap of `cek` to the raw X25519 key `recipient`, bound to `cid`. */
export function wrapCek(cek: Uint8Array, recipient: Uint8Array, cid: string): string {
  const e = generateKeyPairSync("x25519");
  const ePub = rawOf(e.publicKey);
  const shared = diffieHellman({ privateKey: e.privateKey, publicKey: x25519(recipient) });
  const k = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ePub, recipient]), INFO, 32));
  const nonce = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", k, nonce).setAAD(Buffer.from(cid, "utf8"));
  const body = Buffer.concat([c.update(cek), c.final()]);
  return Buffer.concat([ePub, nonce, body, c.getAuthTag()]).toString("base64url");
}

/** The CEK inside `wrapped` for `privateKey`, bound to `cid`; throws when it does not open. */
export function unwrapCek(wrapped: string, privateKey: KeyObject, cid: string): Buffer {
  const b = Buffer.from(wrapped, "base64url");
  if (b.length < 60) throw new Error("the wrapped key is too short");
  const ePub = b.subarray(0, 32);
  const shared = diffieHellman({ privateKey, publicKey: x25519(ePub) });
  const k = Buffer.from(hkdfSync("sha256", shared, Buffer.concat([ePub, rawOf(privateKey)]), INFO, 32));
  const d = createDecipheriv("aes-256-gcm", k, b.subarray(32, 44)).setAAD(Buffer.from(cid, "utf8"));
  d.setAuthTag(b.subarray(b.length - 16));
  return Buffer.concat([d.update(b.subarray(44, b.length - 16)), d.final()]);
}

async function blake3(data: Uint8Array): Promise<string> {
  const h = await createBLAKE3();
  h.init();
  h.update(data);
  return h.digest("hex");
}

async function answer<T>(r: Response, what: string): Promise<T> {
  const text = await r.text();
  // biome-ignore lint/suspicious/noExplicitAny: the error body's shape is checked field by field
  const body: any = text ? JSON.parse(text) : undefined;
  if (r.status >= 300) {
    const e = body?.error ?? {};
    throw new StyxError(r.status, e.code ?? "STYX_INTERNAL", `${what}: ${e.message ?? text}`, e.request_id, e.details);
  }
  return body as T;
}

/** Encrypts `pkg.content`, uploads the ciphertext, wraps its key to the escrow key and lists it (paying the listing price). */
export async function createListing(access: MarketplaceAccess, pkg: NewListing): Promise<CreatedListing> {
  const auth = { authorization: `Bearer ${access.key}` };
  const cek = randomBytes(32);
  try {
    const nonce = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", cek, nonce);
    const sealed = Buffer.concat([nonce, c.update(pkg.content), c.final(), c.getAuthTag()]);
    const stored = await answer<{ cid: string; size: number }>(
      await fetch(`${access.url}/v1/styx/blobs`, {
        method: "PUT",
        headers: { ...auth, "content-type": "application/octet-stream" },
        body: sealed,
      }),
      "upload",
    );
    const escrow = await answer<{ kid: string; public_key: string }>(
      await fetch(`${access.url}/v1/styx/marketplace/escrow-key`),
      "escrow key",
    );
    const body = {
      kind: pkg.kind,
      title: pkg.title,
      description: pkg.description,
      preview: pkg.preview,
      domain: pkg.domain,
      price_usd: pkg.priceUsd,
      ...(pkg.golemId === undefined ? {} : { golem_id: pkg.golemId }),
      entry_count: pkg.entryCount,
      content_cid: stored.cid,
      content_size: stored.size,
      content_b3: await blake3(pkg.content),
      escrow_kid: escrow.kid,
      escrow_wrapped_cek: wrapCek(cek, Buffer.from(escrow.public_key, "base64url"), stored.cid),
      ...(pkg.embedding === undefined ? {} : { embedding: pkg.embedding }),
      ...(pkg.ttlSeconds === undefined ? {} : { ttl_seconds: pkg.ttlSeconds }),
      ...(pkg.payoutAddress === undefined ? {} : { payout_address: pkg.payoutAddress }),
    };
    const r = await answer<{ id: string; status: string; expires_at: string; total_usd: string }>(
      await access.pay(`${access.url}/v1/styx/marketplace/listings`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      "listing",
    );
    return { id: r.id, status: r.status, expiresAt: r.expires_at, totalUsd: r.total_usd };
  } finally {
    cek.fill(0);
  }
}

/** Buys `listingId` (paying price + fee), then unwraps, downloads, decrypts and checks the package against its `content_b3`. */
export async function purchase(access: MarketplaceAccess, listingId: string, opts: { golemId?: string } = {}): Promise<BoughtPackage> {
  const auth = { authorization: `Bearer ${access.key}` };
  const mine = generateKeyPairSync("x25519");
  const bought = await answer<{
    purchase_id: string;
    listing_id: string;
    wrapped_cek: string;
    content_cid: string;
    content_b3: string;
    price_usd: string;
    fee_usd: string;
    payment_id: string;
  }>(
    await access.pay(`${access.url}/v1/styx/marketplace/listings/${encodeURIComponent(listingId)}/purchase`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        buyer_public_key: rawOf(mine.publicKey).toString("base64url"),
        ...(opts.golemId ? { golem_id: opts.golemId } : {}),
      }),
    }),
    "purchase",
  );
  const cek = unwrapCek(bought.wrapped_cek, mine.privateKey, bought.content_cid);
  try {
    const r = await fetch(`${access.url}/v1/styx/marketplace/purchases/${encodeURIComponent(bought.purchase_id)}/content`, {
      headers: auth,
    });
    if (r.status !== 200) await answer(r, "download");
    const sealed = Buffer.from(await r.arrayBuffer());
    const d = createDecipheriv("aes-256-gcm", cek, sealed.subarray(0, 12));
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    const content = Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
    if ((await blake3(content)) !== bought.content_b3) throw new Error("the package does not match its content_b3");
    return {
      purchaseId: bought.purchase_id,
      listingId: bought.listing_id,
      content,
      priceUsd: bought.price_usd,
      feeUsd: bought.fee_usd,
      paymentId: bought.payment_id,
    };
  } finally {
    cek.fill(0);
  }
}
