/**
 * The chains and tokens Styx takes payment on (SPEC §11.1). Base and Base Sepolia carry USDC
 * with the EIP-712 domains below; any other `eip155:<chain>` needs its asset named in full.
 */

/** One payment network and its token, as the offers and the EIP-3009 checks use them. */
export interface PaymentNetwork {
  /** CAIP-2 id, as x402 v2 names it: `eip155:8453`. */
  readonly id: string;
  /** The EVM chain id (the EIP-712 domain's `chainId`). */
  readonly chainId: number;
  /** x402 v1's name of the network (`base`), or the CAIP-2 id when v1 had none. */
  readonly v1Name: string;
  /** The token contract (EIP-712 `verifyingContract`), checksummed as given. */
  readonly asset: string;
  /** EIP-712 domain `name` and `version` of the token. */
  readonly assetName: string;
  readonly assetVersion: string;
}

/** Base mainnet USDC. */
export const BASE: PaymentNetwork = Object.freeze({
  id: "eip155:8453",
  chainId: 8453,
  v1Name: "base",
  asset: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
  assetName: "USD Coin",
  assetVersion: "2",
});

/** Base Sepolia USDC (tests). */
export const BASE_SEPOLIA: PaymentNetwork = Object.freeze({
  id: "eip155:84532",
  chainId: 84532,
  v1Name: "base-sepolia",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  assetName: "USDC",
  assetVersion: "2",
});

const KNOWN: ReadonlyMap<string, PaymentNetwork> = new Map([BASE, BASE_SEPOLIA].map((n) => [n.id, n]));

const CAIP2_EVM = /^eip155:([1-9]\d{0,15})$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/**
 * The network of `STYX_X402_NETWORK`, with `asset` overriding its token (all three of asset, name
 * and version are required for a network Styx does not know). Throws a message naming what is missing.
 */
export function resolveNetwork(id: string, asset: { address?: string; name?: string; version?: string } = {}): PaymentNetwork {
  const m = CAIP2_EVM.exec(id);
  if (!m) throw new Error(`STYX_X402_NETWORK: not an EVM CAIP-2 id (eip155:<chain id>): ${JSON.stringify(id)}`);
  if (asset.address !== undefined && !ADDRESS.test(asset.address)) throw new Error("STYX_X402_ASSET: not a 0x address of 40 hex digits");
  const known = KNOWN.get(id);
  if (known && asset.address === undefined && asset.name === undefined && asset.version === undefined) return known;
  if (!known && (asset.address === undefined || asset.name === undefined || asset.version === undefined))
    throw new Error(`STYX_X402_ASSET, STYX_X402_ASSET_NAME and STYX_X402_ASSET_VERSION: required for network ${id}`);
  return Object.freeze({
    id,
    chainId: Number(m[1]),
    v1Name: known?.v1Name ?? id,
    asset: asset.address ?? (known as PaymentNetwork).asset,
    assetName: asset.name ?? (known as PaymentNetwork).assetName,
    assetVersion: asset.version ?? (known as PaymentNetwork).assetVersion,
  });
}
