import type { CausalService } from "../../core/coordination/causal-service.js";
import type { DeathStore } from "../../core/coordination/death.js";
import type { PheromoneService } from "../../core/coordination/pheromone-service.js";
import type { PulseService } from "../../core/coordination/pulse-service.js";
import type { FabricService } from "../../core/fabric/fabric-service.js";
import type { IdentityStore } from "../../core/identity/identity-store.js";
import type { CallContext, Principal } from "../../core/identity/principal.js";
import type { Tenancy } from "../../core/identity/tenancy.js";
import type { EntryService } from "../../core/knowledge/entry-service.js";
import type { KnowledgeService } from "../../core/knowledge/knowledge-service.js";
import type { Clock } from "../../core/platform/clock.js";
import type { FairQueue } from "../../core/platform/fair-queue.js";

/** The core services MCP calls: the same ones, with the same rules, as the HTTP routes. */
export interface McpDeps {
  readonly knowledge: KnowledgeService;
  readonly entries: EntryService;
  readonly identity: Pick<IdentityStore, "getUser" | "getGolem" | "listGolems">;
  readonly tenancy: Tenancy;
  /** Fair admission of heavy work (a recall, as a query route). */
  readonly heavy: FairQueue;
  readonly pheromones: PheromoneService;
  readonly causal: CausalService;
  readonly deaths: Pick<DeathStore, "graveyard">;
  readonly pulse: PulseService;
  readonly fabric: FabricService;
  readonly clock: Clock;
  readonly online: (golemId: string) => boolean;
  readonly dimensions: number;
  /**
   * Whether x402 pricing is on (SPEC §11). MCP carries no payment, so on a priced instance the
   * tools, resources and prompts that read or write what HTTP charges for refuse with
   * STYX_PAYMENT_REQUIRED instead of serving it for free (`refusePriced`).
   */
  readonly priced: boolean;
}

/** The MCP calls that do what a priced HTTP route does (SPEC §11.1): the tool, resource or prompt → its HTTP route. */
export const PRICED_OVER_MCP: ReadonlyMap<string, string> = new Map([
  ["remember", "POST /v1/styx/entries"],
  ["recall", "POST /v1/styx/query"],
  ["sense", "GET /v1/styx/pheromone/sense"],
  ["deposit", "POST /v1/styx/pheromone/deposit"],
  ["discover_causal", "GET /v1/styx/causal/discover"],
  ["pheromone-field", "GET /v1/styx/pheromone/sense"],
  ["pre_trade_briefing", "GET /v1/styx/pheromone/sense and POST /v1/styx/query"],
]);

/** The credential a session runs with, as of its latest HTTP request (re-authenticated each time). */
export interface McpCaller {
  principal(): Extract<Principal, { kind: "user" }>;
  /** The latest request's id and address, for audit records. */
  ctx(): CallContext;
}
