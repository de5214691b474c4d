/** Rows of `clade_members` as domain objects, for both adapters: the domains are a JSON array in text. */
import type { CladeMember } from "../../core/fabric/clade.js";

/** The columns of `clade_members`. */
export interface CladeMemberRow {
  golem_id: string;
  user_id: string;
  domains: string;
  registered_at: number;
}

/** A member's domains as the `domains` column holds them. */
export function domainsColumn(domains: readonly string[]): string {
  return JSON.stringify(domains);
}

export function toCladeMember(r: CladeMemberRow): CladeMember {
  return { golemId: r.golem_id, userId: r.user_id, domains: JSON.parse(r.domains) as string[], registeredAt: r.registered_at };
}
