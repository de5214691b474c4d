import type { McpServer, ServerContext } from "@modelcontextprotocol/server";
import { type TSchema, Type } from "typebox";
import { pulseJson } from "../../core/coordination/pulse-service.js";
import type { Golem } from "../../core/identity/types.js";
import { Id } from "../../protocol/common.js";
import { CausalPublishBody, DepositBody, DiscoverQuery, GraveyardQuery, SenseQuery } from "../../protocol/coordination.js";
import { EntryIdParams } from "../../protocol/entries.js";
import { SteerBody } from "../../protocol/fabric.js";
import { Domain, QueryBody, WriteEntryBody } from "../../protocol/knowledge.js";
import { requireScope } from "../admission.js";
import { runHeavy } from "../plugins/heavy.js";
import { discoverEdges, publishEdge } from "../routes/coordination/causal.routes.js";
import { graveyardPage } from "../routes/coordination/engagement.routes.js";
import { depositPheromone, sensePheromones } from "../routes/coordination/pheromone.routes.js";
import { fleetView, steerGolem } from "../routes/fabric/fabric.routes.js";
import { ownerWallets, presentWrite, writeInput } from "../routes/knowledge/entries.routes.js";
import { queryOfBody, rankedQuery } from "../routes/knowledge/query.routes.js";
import { refusePriced, toolError } from "./errors.js";
import { standardSchema } from "./schema.js";
import type { McpCaller, McpDeps } from "./types.js";

const Strict = { additionalProperties: false } as const;

/** `sense` takes its domains as a list (the HTTP query's comma-separated string, as JSON). */
const SenseArgs = Type.Object(
  {
    domains: Type.Array(Domain, { minItems: 1, maxItems: 32, uniqueItems: true, description: "Knowledge domains (≤ 32)" }),
    regime: SenseQuery.properties.regime,
    limit: SenseQuery.properties.limit,
  },
  Strict,
);

/** `steer` names its golem in the arguments (the HTTP route, in the path). */
const SteerArgs = Type.Object({ golem_id: Id, ...SteerBody.properties }, Strict);

/** A tool without arguments. */
const NoArgs = Type.Object({}, Strict);

/**
 * One MCP tool: its name, what it does, its arguments (a `protocol/` schema), whether it changes
 * anything (scope `write`, else `read`), whether only an owner credential may call it (SPEC §3's
 * golem-credential table: fleet, graveyard, steer), and what it runs.
 */
export interface ToolSpec {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly input: TSchema;
  readonly writes: boolean;
  readonly ownerOnly: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: arguments were validated against `input`
  readonly run: (args: any, caller: McpCaller) => Promise<object>;
}

/** The tools of Styx's MCP server, each calling what its HTTP route calls. */
export function toolSpecs(deps: McpDeps): ToolSpec[] {
  /** A golem of the caller (tenancy's one rule); `acts`: refused once dead, made alive at its first act. */
  const golem = async (c: McpCaller, id: string, acts: boolean): Promise<Golem> => {
    const g = await deps.tenancy.golem(c.principal(), id, c.ctx());
    return acts ? deps.tenancy.acting(g) : g;
  };
  return [
    {
      name: "remember",
      title: "Remember",
      description:
        "Write a knowledge entry for one of your golems: always to the private vault; to the clade and the public lethe when `layer` allows and the promotion gates hold (POST /v1/styx/entries).",
      input: WriteEntryBody(deps.dimensions),
      writes: true,
      ownerOnly: false,
      run: async (b, c) => {
        const input = writeInput(await golem(c, b.golem_id, true), b);
        const p = c.principal();
        return presentWrite(await deps.knowledge.write(input, () => ownerWallets(deps.identity, input.golem.userId), p.golemId));
      },
    },
    {
      name: "recall",
      title: "Recall",
      description: "Ranked query across the vault, clade and lethe layers you may read (POST /v1/styx/query).",
      input: QueryBody(deps.dimensions),
      writes: false,
      ownerOnly: false,
      run: (b, c) => {
        const p = c.principal();
        return runHeavy(deps.heavy, p.userId, () => rankedQuery(deps, p, queryOfBody(b)));
      },
    },
    {
      name: "forget",
      title: "Forget",
      description: "Delete one of your entries by id: vault and clade copies, vectors, a queued lethe copy (DELETE /v1/styx/entries/:id).",
      input: EntryIdParams,
      writes: true,
      ownerOnly: false,
      run: async (b, c) => {
        const r = await deps.entries.delete(c.principal(), b.id, c.ctx());
        return { id: r.id, deleted: [...r.deleted], lethe: r.lethe };
      },
    },
    {
      name: "sense",
      title: "Sense pheromones",
      description: "Live pheromones and threat/opportunity/wisdom levels per domain (GET /v1/styx/pheromone/sense).",
      input: SenseArgs,
      writes: false,
      ownerOnly: false,
      run: (b) => sensePheromones(deps.pheromones, b.domains, b.regime, b.limit ?? 50),
    },
    {
      name: "deposit",
      title: "Deposit a pheromone",
      description:
        "Deposit a pheromone for one of your golems; a matching live one is reinforced instead (POST /v1/styx/pheromone/deposit).",
      input: DepositBody,
      writes: true,
      ownerOnly: false,
      run: async (b, c) => depositPheromone(deps.pheromones, await golem(c, b.golem_id, true), b),
    },
    {
      name: "publish_causal",
      title: "Publish a causal edge",
      description:
        "Publish a causal edge for one of your golems; another publisher's agreement validates it, disagreement contradicts it (POST /v1/styx/causal/publish).",
      input: CausalPublishBody,
      writes: true,
      ownerOnly: false,
      run: async (b, c) => publishEdge(deps.causal, await golem(c, b.golem_id, true), b),
    },
    {
      name: "discover_causal",
      title: "Discover causal edges",
      description: "Federated causal edges, most validated first; no publisher is ever named (GET /v1/styx/causal/discover).",
      input: DiscoverQuery,
      writes: false,
      ownerOnly: false,
      run: (b) => discoverEdges(deps.causal, b),
    },
    {
      name: "pulse",
      title: "Ecosystem pulse",
      description: "The ecosystem pulse, recomputed every 60 s (GET /v1/styx/pulse).",
      input: NoArgs,
      writes: false,
      ownerOnly: false,
      run: async () => pulseJson(await deps.pulse.current()),
    },
    {
      name: "graveyard",
      title: "Graveyard",
      description: "Your dead golems with their death records, newest first, paged (owner credentials; GET /v1/styx/graveyard/:user_id).",
      input: GraveyardQuery,
      writes: false,
      ownerOnly: true,
      run: (b, c) => graveyardPage(deps.deaths, c.principal().userId, b),
    },
    {
      name: "fleet_status",
      title: "Fleet status",
      description: "Your golems from their heartbeats (owner credentials; GET /v1/styx/fleet/:user_id).",
      input: NoArgs,
      writes: false,
      ownerOnly: true,
      run: (_b, c) => fleetView(deps, c.principal().userId),
    },
    {
      name: "steer",
      title: "Steer a golem",
      description:
        "Steer one of your golems; delivered: false when it has no live socket (owner credentials; POST /v1/styx/golem/:golem_id/steer).",
      input: SteerArgs,
      writes: true,
      ownerOnly: true,
      run: async (b, c) => {
        const { golem_id, ...body } = b;
        return steerGolem(deps.fabric, await golem(c, golem_id, false), body);
      },
    },
  ];
}

/**
 * Registers every tool on a session's server. Each call checks, in order, the credential's
 * scope, the golem-credential table (owner tools answer STYX_AUTH_FORBIDDEN) and then runs; a
 * failure is the tool's result with `isError` and the Styx code (errors.ts). The outcome is
 * logged to the client at `info` (filtered by `logging/setLevel`).
 */
export function registerTools(server: McpServer, deps: McpDeps, caller: McpCaller): void {
  for (const spec of toolSpecs(deps)) {
    server.registerTool(
      spec.name,
      {
        title: spec.title,
        description: spec.description,
        inputSchema: standardSchema(spec.input),
        annotations: { readOnlyHint: !spec.writes, destructiveHint: spec.name === "forget", openWorldHint: false },
      },
      async (args: unknown, ctx: ServerContext) => {
        let result: { content: { type: "text"; text: string }[]; structuredContent: Record<string, unknown>; isError?: true };
        try {
          const p = caller.principal();
          requireScope(p, spec.writes ? "write" : "read");
          if (spec.ownerOnly) deps.tenancy.ownerOnly(p);
          refusePriced(deps, spec.name);
          const answer = await spec.run(args, caller);
          result = { content: [{ type: "text", text: JSON.stringify(answer) }], structuredContent: answer as Record<string, unknown> };
        } catch (err) {
          result = toolError(err);
        }
        const outcome = result.isError ? (result.structuredContent.error as { styx_code: string }).styx_code : "ok";
        await ctx.mcpReq.log(result.isError ? "warning" : "info", { tool: spec.name, outcome }, "styx").catch(() => {});
        return result;
      },
    );
  }
}
