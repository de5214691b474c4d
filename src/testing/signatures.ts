/**
 * Wallet signatures in tests: the forms a wallet library never emits, made from a genuine
 * 65-byte `r ‖ s ‖ v` signature (what an outside probe sends to test EIP-2 enforcement), and
 * the sign-in flow of a test server.
 */

/** What the helpers below need of a server: a test server or a gateway child. */
interface Requester {
  request(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown },
    // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON
  ): Promise<{ status: number; json: any; text: string }>;
}

/** The order of secp256k1. */
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * The mirror of a signature: (r, n − s) with v flipped (27 ↔ 28). It recovers the same signer
 * (ecrecover and viem accept it), so only an EIP-2 check refuses it.
 */
export function highS(signature: string): `0x${string}` {
  const r = signature.slice(2, 66);
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  return `0x${r}${(N - s).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}`;
}

/** The same r and s with another `v` byte (e.g. 0/1, the bare recovery bit; or 29, malformed). */
export function withV(signature: string, v: number): `0x${string}` {
  return `0x${signature.slice(2, 130)}${v.toString(16).padStart(2, "0")}`;
}

/** A wallet that signs EIP-191 messages (viem's local account has this shape). */
export interface MessageSigner {
  readonly address: string;
  signMessage(args: { message: string }): Promise<string>;
}

/** A signed challenge of `on` for `wallet`: the body of `POST /v1/auth/verify`, or a golem's `wallet_proof`. */
export async function signedChallenge(on: Requester, wallet: MessageSigner): Promise<{ message: string; signature: string }> {
  const c = await on.request("POST", "/v1/auth/challenge", { body: { wallet_address: wallet.address } });
  if (c.status !== 201) throw new Error(`POST /v1/auth/challenge: ${c.status} ${c.text}`);
  return { message: c.json.message, signature: await wallet.signMessage({ message: c.json.message }) };
}

/** Signs in to `on` with `wallet`; the session token and the session's id. */
export async function walletSession(on: Requester, wallet: MessageSigner): Promise<{ token: string; id: string }> {
  const v = await on.request("POST", "/v1/auth/verify", { body: await signedChallenge(on, wallet) });
  if (v.status !== 200) throw new Error(`POST /v1/auth/verify: ${v.status} ${v.text}`);
  const me = await on.request("GET", "/v1/styx/me", { token: v.json.token });
  return { token: v.json.token, id: me.json.credential.id };
}
