import type { Unlocked } from "../coordination/achievements.js";
import type { DeathRecord, DeathStore } from "../coordination/death.js";
import type { FederationLink, FederationStore } from "../federation/federation-store.js";
import type { EntryStore } from "../knowledge/entry-store.js";
import type { Entry } from "../knowledge/types.js";
import type { MarketplaceStore } from "../marketplace/store.js";
import type { Listing, Purchase, Rating } from "../marketplace/types.js";
import type { BlobStore } from "../platform/blob-store.js";
import type { Clock } from "../platform/clock.js";
import type { IdentityStore } from "./identity-store.js";
import type { ApiKey, Golem, User } from "./types.js";

/** Rows read per store page: the export never holds more than one page of a kind. */
const PAGE = 200;
/** Marketplace rows of each kind exported (listings, purchases, ratings): read at once, newest first. */
const MARKET_ROWS = 10_000;

/** One record of an export, by kind (the presenter turns each into one NDJSON line). */
export type ExportRecord =
  | { readonly type: "user"; readonly user: User }
  | { readonly type: "golem"; readonly golem: Golem }
  | { readonly type: "api_key"; readonly key: ApiKey }
  | { readonly type: "entry"; readonly entry: Entry }
  | { readonly type: "death"; readonly death: DeathRecord }
  | { readonly type: "achievement"; readonly golemId: string; readonly unlocked: Unlocked }
  | { readonly type: "blob"; readonly cid: string; readonly size: number }
  | { readonly type: "listing"; readonly listing: Listing }
  | { readonly type: "purchase"; readonly purchase: Purchase }
  | { readonly type: "rating"; readonly rating: Rating }
  | { readonly type: "federation_link"; readonly link: FederationLink };

/** Dependencies of the export. */
export interface ExportDeps {
  readonly identity: Pick<IdentityStore, "getUser" | "listGolems" | "listApiKeys">;
  readonly entries: Pick<EntryStore, "listEntries">;
  readonly deaths: Pick<DeathStore, "graveyard">;
  readonly achievements: { list(golemId: string): Promise<Unlocked[]> };
  readonly blobs: Pick<BlobStore, "owned" | "stat">;
  readonly marketplace: Pick<MarketplaceStore, "listingsOfUser" | "purchasesOfBuyer" | "ratingsOfBuyer">;
  readonly federation: Pick<FederationStore, "links">;
  readonly clock: Clock;
}

/**
 * Everything of user `userId` (SPEC §3 `GET /v1/styx/export`), read lazily page by page so the
 * caller's backpressure bounds memory: the user, golems, keys (the store never returns a secret;
 * the presenter leaves out the hash), entries (unexpired), deaths, achievements, blobs held, and
 * the marketplace (SPEC §16): the user's listings (any status), purchases and ratings, and the
 * federation links (SPEC §17) downstreams made with the user's federate keys.
 */
export async function* exportUser(d: ExportDeps, userId: string): AsyncGenerator<ExportRecord> {
  const user = await d.identity.getUser(userId);
  if (!user) return;
  yield { type: "user", user };
  const golems = await d.identity.listGolems(userId);
  for (const golem of golems) yield { type: "golem", golem };
  for (const key of await d.identity.listApiKeys(userId)) yield { type: "api_key", key };
  const now = d.clock.now();
  let after: Entry | undefined;
  for (;;) {
    const page = await d.entries.listEntries({ userId, cladeOnly: false, metadata: [], now }, after, PAGE);
    for (const entry of page) yield { type: "entry", entry };
    after = page.at(-1);
    if (page.length < PAGE) break;
  }
  let grave: DeathRecord | undefined;
  for (;;) {
    const page = await d.deaths.graveyard(userId, PAGE, grave);
    for (const death of page) yield { type: "death", death };
    grave = page.at(-1);
    if (page.length < PAGE) break;
  }
  for (const g of golems) for (const unlocked of await d.achievements.list(g.id)) yield { type: "achievement", golemId: g.id, unlocked };
  for await (const cid of d.blobs.owned(userId)) {
    const s = await d.blobs.stat(userId, cid);
    if (s) yield { type: "blob", cid, size: s.size };
  }
  for (const listing of await d.marketplace.listingsOfUser(userId, MARKET_ROWS)) yield { type: "listing", listing };
  for (const purchase of await d.marketplace.purchasesOfBuyer(userId, MARKET_ROWS)) yield { type: "purchase", purchase };
  for (const rating of await d.marketplace.ratingsOfBuyer(userId, MARKET_ROWS)) yield { type: "rating", rating };
  // An upstream has a handful of downstreams: the whole list, filtered here.
  for (const link of await d.federation.links()) if (link.userId === userId) yield { type: "federation_link", link };
}
