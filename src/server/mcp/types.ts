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
}

/** The credential a session runs with, as of its latest HTTP request (re-authenticated each time). */
export interface McpCaller {
  principal(): Extract<Principal, { kind: "user" }>;
  /** The latest request's id and address, for audit records. */
  ctx(): CallContext;
}
