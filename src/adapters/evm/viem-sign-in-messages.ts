import type { SignInFields, SignInMessageCodec } from "../../core/identity/sign-in-message.js";

type Hex = `0x${string}`;

/**
 * Longest message read (the wire schema's bound too). Styx's own are ~450 characters;
 * parseSiweMessage's regular expressions backtrack quadratically on crafted text ("URI: "
 * repeated), which this bound keeps near a millisecond.
 */
export const MAX_SIGN_IN_MESSAGE_CHARS = 2048;

/**
 * EIP-4361 text by viem's SIWE utilities (`viem/siwe`): createSiweMessage writes it,
 * parseSiweMessage reads it and validateSiweMessage judges its form (nonce alphabet, version,
 * address, dates). The form is judged at the message's own issue time: whether it is still
 * valid now is core's rule, on core's clock. verifySiweMessage is not used: it needs a chain
 * client (ERC-1271/6492 contract wallets), and Styx verifies offline (ViemSignatureVerifier).
 * viem is loaded on first use, like the verifier.
 */
export class ViemSignInMessages implements SignInMessageCodec {
  async format(f: SignInFields): Promise<string> {
    const { createSiweMessage } = await import("viem/siwe");
    return createSiweMessage({
      address: f.address as Hex,
      domain: f.domain,
      uri: f.uri,
      version: "1",
      chainId: f.chainId,
      nonce: f.nonce,
      issuedAt: new Date(f.issuedAt),
      ...(f.scheme !== undefined ? { scheme: f.scheme } : {}),
      ...(f.statement !== undefined ? { statement: f.statement } : {}),
      ...(f.expiresAt !== undefined ? { expirationTime: new Date(f.expiresAt) } : {}),
    });
  }

  async parse(text: string): Promise<SignInFields | undefined> {
    if (text.length > MAX_SIGN_IN_MESSAGE_CHARS) return undefined;
    try {
      const { parseSiweMessage, validateSiweMessage } = await import("viem/siwe");
      const m = parseSiweMessage(text);
      const { address, domain, uri, version, chainId, nonce, issuedAt } = m;
      if (!address || !domain || !uri || !version || chainId === undefined || !nonce || !issuedAt) return undefined;
      if (!validateSiweMessage({ message: m, time: issuedAt })) return undefined;
      const expiresAt = m.expirationTime?.getTime();
      if (expiresAt !== undefined && Number.isNaN(expiresAt)) return undefined;
      return {
        address,
        domain,
        scheme: m.scheme,
        uri,
        version,
        chainId,
        nonce,
        statement: m.statement,
        issuedAt: issuedAt.getTime(),
        expiresAt,
      };
    } catch {
      return undefined;
    }
  }
}
