import type { IdentityRecordIds, IdentityStore } from "../identity/identity-store.js";
import type { Clock } from "../platform/clock.js";
import type { IdentifierDirectory, KnownIdentifier } from "./directory.js";

/** The known identifiers one identity record carries: its id, and its wallet when it has one. */
export function identifiersOf(records: Iterable<IdentityRecordIds>): KnownIdentifier[] {
  const out: KnownIdentifier[] = [];
  for (const r of records) {
    out.push({ kind: r.kind, value: r.id, userId: r.userId });
    if (r.walletAddress) out.push({ kind: "wallet", value: r.walletAddress, userId: r.userId });
  }
  return out;
}

/** How far back an incremental refresh looks, past its last run (clock skew between gateways, slow commits). */
const REFRESH_OVERLAP_MS = 5 * 60_000;

/**
 * Keeps a directory in step with the identity store: `load` reads every identifier once (at
 * start), `refresh` reads those created since the last refresh (with an overlap), so records
 * created by another process — another gateway, the CLI — are learnt even if their signal was
 * lost. Additions are idempotent.
 */
export class IdentifierFeed {
  readonly #store: Pick<IdentityStore, "listIdentifiers">;
  readonly #directory: IdentifierDirectory;
  readonly #clock: Clock;
  #since = 0;

  constructor(deps: { store: Pick<IdentityStore, "listIdentifiers">; directory: IdentifierDirectory; clock: Clock }) {
    this.#store = deps.store;
    this.#directory = deps.directory;
    this.#clock = deps.clock;
  }

  /** Adds records reported by this process or another (a signal). */
  add(records: Iterable<IdentityRecordIds>): void {
    this.#directory.add(identifiersOf(records));
  }

  /** Reads the identifiers created since the last refresh (all of them the first time). */
  async refresh(): Promise<number> {
    const started = this.#clock.now();
    const records = await this.#store.listIdentifiers(this.#since);
    this.add(records);
    this.#since = Math.max(0, started - REFRESH_OVERLAP_MS);
    return records.length;
  }
}
