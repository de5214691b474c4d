/**
 * The EIP-4361 (Sign-In with Ethereum) message of a wallet sign-in: the fields Styx issues,
 * the port that writes and reads the text (a maintained implementation, never hand-written
 * parsing), where a message must point (STYX_PUBLIC_URL, STYX_CHAIN_ID) and the pure rule that
 * says which field of a returned message is wrong. Times are epoch ms.
 */

/** The fields of a sign-in message. */
export interface SignInFields {
  /** The signing wallet, EIP-55 checksummed as the text carries it. */
  readonly address: string;
  /** RFC 3986 authority that asks for the signature (the public URL's host[:port]). */
  readonly domain: string;
  /** Scheme of the origin, written before the domain; absent means https (EIP-4361). */
  readonly scheme: string | undefined;
  /** The resource signed in to: the public origin. */
  readonly uri: string;
  readonly version: string;
  /** EIP-155 chain id. */
  readonly chainId: number;
  /** Alphanumeric, ≥ 8 characters (EIP-4361). */
  readonly nonce: string;
  readonly statement: string | undefined;
  readonly issuedAt: number;
  /** Absent in a message Styx did not write; Styx refuses such a message. */
  readonly expiresAt: number | undefined;
}

/**
 * Writes and reads EIP-4361 text. `format` of a message's parsed fields gives the message back
 * when it holds nothing else (no Not Before, Request ID or Resources lines: Styx issues none).
 */
export interface SignInMessageCodec {
  /** The message text for `fields` (`address` in any case). Throws when EIP-4361 forbids a field's value. */
  format(fields: SignInFields): Promise<string>;
  /**
   * The fields of `text`, or undefined when it is not a well-formed EIP-4361 message (a required
   * field missing, an invalid address, nonce, version or date). Never throws.
   */
  parse(text: string): Promise<SignInFields | undefined>;
}

/** Where sign-in messages of this Styx point. */
export interface SignInSite {
  readonly domain: string;
  readonly scheme: string | undefined;
  readonly uri: string;
  readonly chainId: number;
}

/** The site of a public origin (`https://host[:port]`) on a chain: https goes unwritten, any other scheme is named. */
export function signInSite(publicUrl: string, chainId: number): SignInSite {
  const url = new URL(publicUrl);
  const scheme = url.protocol.slice(0, -1);
  return { domain: url.host, scheme: scheme === "https" ? undefined : scheme, uri: url.origin, chainId };
}

/** A refused field of a sign-in message: its EIP-4361 name and why. */
export interface SignInProblem {
  readonly field: "domain" | "scheme" | "uri" | "version" | "chain_id" | "expiration_time";
  readonly message: string;
}

/**
 * Why a parsed sign-in message cannot sign in here at `now`, or undefined when its site,
 * chain and lifetime are acceptable (the nonce and the signature are checked apart).
 */
export function signInProblem(m: SignInFields, site: SignInSite, now: number): SignInProblem | undefined {
  if (m.domain !== site.domain) {
    return { field: "domain", message: `The message signs in to ${m.domain}; this server is ${site.domain} (STYX_PUBLIC_URL).` };
  }
  if (m.scheme !== site.scheme) {
    return { field: "scheme", message: `The message names scheme ${m.scheme ?? "https"}; this server is ${site.scheme ?? "https"}.` };
  }
  if (m.uri !== site.uri) return { field: "uri", message: `The message's URI is ${m.uri}; this server's is ${site.uri}.` };
  if (m.version !== "1") return { field: "version", message: "Only version 1 of EIP-4361 is understood." };
  if (m.chainId !== site.chainId) {
    return { field: "chain_id", message: `The message is for chain ${m.chainId}; this server signs in on chain ${site.chainId}.` };
  }
  if (m.expiresAt === undefined) return { field: "expiration_time", message: "The message has no Expiration Time." };
  if (m.expiresAt <= now) return { field: "expiration_time", message: "The message expired: ask POST /v1/auth/challenge for a new one." };
  return undefined;
}
