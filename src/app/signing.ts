import { ViemSignInMessages } from "../adapters/evm/viem-sign-in-messages.js";
import { ViemSignatureVerifier } from "../adapters/evm/viem-signature-verifier.js";
import { type Config, ConfigError } from "../config/load.js";
import type { BloodstainBinding } from "../core/coordination/bloodstain-signature.js";
import type { AuthService } from "../core/identity/auth-service.js";
import { type SignInMessageCodec, type SignInSite, signInSite } from "../core/identity/sign-in-message.js";
import type { SignatureVerifier } from "../core/identity/signature-verifier.js";
import { SIGN_IN_STATEMENT } from "../core/identity/wallet-sign-in.js";
import { INSTANCE_ID_PATTERN, newInstanceId } from "../core/platform/instance-id.js";
import type { SecretStore } from "../core/platform/secret-store.js";
import type { Signals } from "../core/platform/signals.js";

/** Name of the generated STYX_INSTANCE_ID among the server's secrets (a file in the data dir; macronode: server_secrets). */
export const INSTANCE_ID_NAME = "instance-id";

/** Signal topic on which a macronode tells every gateway of an ended wallet session: `{ session_id }` (its sockets close). */
export const SESSION_ENDED_SIGNAL = "session-ended";

/** What wallet signatures of this Styx are checked with and bound to. */
export interface Signing {
  /** STYX_INSTANCE_ID in force: configured, or generated once and kept with the secrets. */
  readonly instanceId: string;
  /** Where sign-in messages point (STYX_PUBLIC_URL, STYX_CHAIN_ID). */
  readonly site: SignInSite;
  /** EIP-4361 text (viem's SIWE utilities). */
  readonly messages: SignInMessageCodec;
  /** Offline EIP-191 / EIP-712 checks, canonical signatures only (EIP-2). */
  readonly verifier: SignatureVerifier;
  /** The chain and instance bloodstain typed data is bound to. */
  readonly bloodstain: BloodstainBinding;
}

/**
 * Resolves the instance id (STYX_INSTANCE_ID, else the stored one, else a new one stored now:
 * every gateway of a macronode reads the same row) and checks at boot that STYX_PUBLIC_URL makes
 * a valid EIP-4361 domain, rather than at the first sign-in.
 */
export async function resolveSigning(config: Config, secrets: SecretStore): Promise<Signing> {
  const instanceId = config.instanceId ?? (await secrets.loadOrCreate(INSTANCE_ID_NAME, newInstanceId)).value;
  if (!INSTANCE_ID_PATTERN.test(instanceId)) {
    throw new ConfigError([
      `STYX_INSTANCE_ID: the stored ${secrets.where(INSTANCE_ID_NAME)} is not sx_ + 16 hex; set STYX_INSTANCE_ID or repair it`,
    ]);
  }
  const site = signInSite(config.publicUrl, config.chainId);
  const messages = new ViemSignInMessages();
  try {
    await messages.format({
      ...site,
      address: "0x0000000000000000000000000000000000000000",
      version: "1",
      nonce: "bootcheck",
      statement: SIGN_IN_STATEMENT,
      issuedAt: 0,
      expiresAt: 1,
    });
  } catch (err) {
    throw new ConfigError([
      `STYX_PUBLIC_URL: ${config.publicUrl} cannot be the domain of a Sign-In with Ethereum message (${firstLine(err)}); use a host name with a dot, an IPv4 address or localhost`,
    ]);
  }
  const bloodstain = { chainId: config.chainId, instanceId };
  return { instanceId, site, messages, verifier: new ViemSignatureVerifier(), bloodstain };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split("\n")[0] as string;
}

/**
 * Closes the sockets of every wallet session ended through `auth`, as a revoked key's are
 * (`close`: 4401): this process's at once, the other gateways' by the `session-ended` signal.
 */
export function closeEndedSessions(deps: {
  auth: Pick<AuthService, "onSessionEnded">;
  signals: Signals | undefined;
  close: (sessionId: string, reason: string) => void;
}): void {
  const reason = "the session was ended";
  deps.auth.onSessionEnded((id) => {
    deps.close(id, reason);
    deps.signals?.publish(SESSION_ENDED_SIGNAL, { session_id: id });
  });
  deps.signals?.subscribe(SESSION_ENDED_SIGNAL, (p) => {
    if (typeof p.session_id === "string") deps.close(p.session_id, reason);
  });
}
