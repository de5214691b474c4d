/** Rows of the identity tables (users, golems, api_keys, sessions) as domain objects, for both adapters. */
import type { ApiKey, Golem, GolemStatus, Scope, Session, Tier, User } from "../../core/identity/types.js";
import type { SqlRow } from "./codec.js";

export function toUser(r: SqlRow | undefined): User | undefined {
  if (!r) return undefined;
  return {
    id: r.id as string,
    walletAddress: (r.wallet_address as string | null) ?? null,
    reputation: r.reputation as number,
    tier: r.tier as Tier,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

export function toGolem(r: SqlRow | undefined): Golem | undefined {
  if (!r) return undefined;
  return {
    id: r.id as string,
    userId: r.user_id as string,
    generation: r.generation as number,
    parentGolemId: (r.parent_golem_id as string | null) ?? null,
    status: r.status as GolemStatus,
    archetype: (r.archetype as string | null) ?? null,
    walletAddress: (r.wallet_address as string | null) ?? null,
    createdAt: r.created_at as number,
    diedAt: (r.died_at as number | null) ?? null,
    deathCause: (r.death_cause as string | null) ?? null,
    ticksLived: r.ticks_lived as number,
  };
}

/** `scopes` is a JSON array in a text column. */
export function toKey(r: SqlRow | undefined): ApiKey | undefined {
  if (!r) return undefined;
  return {
    id: r.id as string,
    userId: r.user_id as string,
    golemId: (r.golem_id as string | null) ?? null,
    name: r.name as string,
    keyHash: r.key_hash as string,
    scopes: JSON.parse(r.scopes as string) as Scope[],
    createdAt: r.created_at as number,
    expiresAt: (r.expires_at as number | null) ?? null,
    revokedAt: (r.revoked_at as number | null) ?? null,
  };
}

export function toSession(r: SqlRow | undefined): Session | undefined {
  if (!r) return undefined;
  return {
    id: r.id as string,
    tokenHash: r.token_hash as string,
    userId: r.user_id as string,
    golemId: (r.golem_id as string | null) ?? null,
    createdAt: r.created_at as number,
    expiresAt: r.expires_at as number,
  };
}
