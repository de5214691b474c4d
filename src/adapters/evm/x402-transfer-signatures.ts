import type { SignatureCheck, SignatureVerifier } from "../../core/identity/signature-verifier.js";
import type { PaymentNetwork } from "../../core/payments/networks.js";
import type { TransferAuthorization } from "../../core/payments/payload.js";
import type { TransferSignatures } from "../../core/payments/payment-gate.js";

type AuthorizationTypes = typeof import("@x402/evm")["authorizationTypes"];
let types: Promise<AuthorizationTypes> | undefined;

/**
 * Offline verification of an x402 `exact` EVM payment: the EIP-3009 `TransferWithAuthorization`
 * typed data as @x402/evm defines it (`authorizationTypes`; domain: the token's name, version,
 * chain id and contract), checked by the server's SignatureVerifier (viem's ecrecover after the
 * EIP-2 canonical-form check). No RPC: balances and smart wallets are the facilitator's.
 * @x402/evm loads on first use (~0.6 s; a Styx without pricing never loads it).
 */
export class X402TransferSignatures implements TransferSignatures {
  readonly #verifier: SignatureVerifier;

  constructor(verifier: SignatureVerifier) {
    this.#verifier = verifier;
  }

  async check(network: PaymentNetwork, a: TransferAuthorization, signature: string): Promise<SignatureCheck> {
    types ??= import("@x402/evm").then((m) => m.authorizationTypes);
    return this.#verifier.verifyTypedData(
      a.from,
      {
        domain: { name: network.assetName, version: network.assetVersion, chainId: network.chainId, verifyingContract: network.asset },
        types: await types,
        primaryType: "TransferWithAuthorization",
        message: {
          from: a.from,
          to: a.to,
          value: a.value,
          validAfter: a.validAfter,
          validBefore: a.validBefore,
          nonce: a.nonce,
        },
      },
      signature,
    );
  }
}
