/** Domain types of identity: users, golems, API keys, wallet challenges and sessions. Times are epoch ms. */

/** A user's tier, lowest to highest. */
export const TIERS = ["observer", "consumer", "contributor", "steward"] as const;
export type Tier = (typeof TIERS)[number];

/** What a credential may do. `read` covers GET routes, `write` everything else; `federate` only the federation routes of a linked Styx (SPEC §17). */
export const SCOPES = ["read", "write", "federate"] as const;
export type Scope = (typeof SCOPES)[number];

/** Lifecycle of a golem. */
export const GOLEM_STATUSES = ["provisioning", "alive", "dead"] as const;
export type GolemStatus = (typeof GOLEM_STATUSES)[number];

/** An owner of golems. */
export interface User {
  readonly id: string;
  /** Lowercase 0x-address, or null. */
  readonly walletAddress: string | null;
  readonly reputation: number;
  readonly tier: Tier;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An autonomous agent owned by a user. */
export interface Golem {
  readonly id: string;
  readonly userId: string;
  readonly generation: number;
  readonly parentGolemId: string | null;
  readonly status: GolemStatus;
  readonly archetype: string | null;
  readonly walletAddress: string | null;
  readonly createdAt: number;
  readonly diedAt: number | null;
  readonly deathCause: string | null;
  readonly ticksLived: number;
}

/** A stored API key: only the SHA-256 of the secret is kept. */
export interface ApiKey {
  readonly id: string;
  readonly userId: string;
  /** When set, the key acts only for this golem. */
  readonly golemId: string | null;
  readonly name: string;
  readonly keyHash: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
}

/** A single-use wallet sign-in challenge. */
export interface WalletChallenge {
  readonly nonce: string;
  readonly walletAddress: string;
  readonly message: string;
  readonly expiresAt: number;
}

/** A short-lived session obtained with a wallet signature; only its hash is kept. */
export interface Session {
  readonly id: string;
  readonly tokenHash: string;
  readonly userId: string;
  readonly golemId: string | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}
