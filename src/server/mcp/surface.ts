import { completable, type McpServer, ResourceTemplate } from "@modelcontextprotocol/server";
import { Type } from "typebox";
import { pulseJson } from "../../core/coordination/pulse-service.js";
import { DOMAIN_PATTERN } from "../../core/fabric/streams.js";
import { isGolemCredential } from "../../core/identity/principal.js";
import { StyxError } from "../../core/platform/errors.js";
import { SenseQuery } from "../../protocol/coordination.js";
import { Domain } from "../../protocol/knowledge.js";
import { runHeavy } from "../plugins/heavy.js";
import { graveyardPage } from "../routes/coordination/engagement.routes.js";
import { sensePheromones } from "../routes/coordination/pheromone.routes.js";
import { golemSnapshot } from "../routes/fabric/fabric.routes.js";
import { rankedQuery } from "../routes/knowledge/query.routes.js";
import { refusePriced, toMcpError } from "./errors.js";
import { RESOURCE_URIS, snapshotUri } from "./resources.js";
import { standardSchema } from "./schema.js";
import type { McpCaller, McpDeps } from "./types.js";

/** Most values one completion answers (MCP's own cap). */
const MAX_COMPLETIONS = 100;
const DOMAIN_RE = new RegExp(DOMAIN_PATTERN);
const SNAPSHOT_RE = /^styx:\/\/golems\/([^/]+)\/snapshot$/;
const PHEROMONES_PREFIX = "styx://pheromones/";

/** Reading one resource by URI: the checks of its HTTP route (tenancy, owner-only) included. */
export type ResourceReader = (uri: string) => Promise<object>;

/**
 * The reader of every Styx resource for one caller. An unknown URI, a malformed domain and
 * another user's golem all answer STYX_NOT_FOUND (never confirming what exists).
 */
export function resourceReader(deps: McpDeps, caller: McpCaller): ResourceReader {
  return async (uri) => {
    if (uri === RESOURCE_URIS.pulse) return pulseJson(await deps.pulse.current());
    if (uri === RESOURCE_URIS.graveyard) {
      deps.tenancy.ownerOnly(caller.principal());
      return graveyardPage(deps.deaths, caller.principal().userId, {});
    }
    const snapshot = SNAPSHOT_RE.exec(uri);
    if (snapshot) {
      let id: string;
      try {
        id = decodeURIComponent(snapshot[1] as string);
      } catch {
        throw new StyxError("STYX_NOT_FOUND", "No such resource.");
      }
      return golemSnapshot(deps, await deps.tenancy.golem(caller.principal(), id, caller.ctx()));
    }
    if (uri.startsWith(PHEROMONES_PREFIX)) {
      refusePriced(deps, "pheromone-field");
      const domain = uri.slice(PHEROMONES_PREFIX.length);
      if (!DOMAIN_RE.test(domain)) throw new StyxError("STYX_NOT_FOUND", "No such resource: a domain is a lowercase token.");
      const sensed = await sensePheromones(deps.pheromones, [domain], undefined, 50);
      return { domain, ...(sensed.domains[domain] as object) };
    }
    throw new StyxError("STYX_NOT_FOUND", "No such resource.");
  };
}

/** Completion values among `values` that start with `prefix`, at most 100. */
export function completeFrom(values: Iterable<string>, prefix: string): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v.startsWith(prefix) && !out.includes(v)) out.push(v);
    if (out.length >= MAX_COMPLETIONS) break;
  }
  return out;
}

/** The caller's golem ids (a golem credential: its own only) and the domains with live pheromones, for completions. */
function completers(deps: McpDeps, caller: McpCaller) {
  return {
    golemIds: async (prefix: string) => {
      const p = caller.principal();
      if (isGolemCredential(p)) return completeFrom([p.golemId], prefix);
      return completeFrom(
        (await deps.identity.listGolems(p.userId)).map((g) => g.id),
        prefix,
      );
    },
    domains: async (prefix: string) =>
      completeFrom(
        (await deps.pheromones.field(MAX_COMPLETIONS)).map((c) => c.domain),
        prefix,
      ),
  };
}

/**
 * Registers the resources (pulse, graveyard, a golem's snapshot, a domain's pheromone field),
 * the `pre_trade_briefing` prompt and the completions of their arguments on a session's server.
 * Every read goes through `read`; errors leave as MCP errors with the Styx code in `data`.
 */
export function registerSurface(server: McpServer, deps: McpDeps, caller: McpCaller, read: ResourceReader): void {
  const complete = completers(deps, caller);
  const json = async (uri: string) => {
    try {
      return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(await read(uri)) }] };
    } catch (err) {
      throw toMcpError(err);
    }
  };

  server.registerResource(
    "pulse",
    RESOURCE_URIS.pulse,
    { title: "Ecosystem pulse", description: "The public pulse, recomputed every 60 s.", mimeType: "application/json" },
    (uri) => json(uri.href),
  );
  server.registerResource(
    "graveyard",
    RESOURCE_URIS.graveyard,
    { title: "Graveyard", description: "Your dead golems, newest first (owner credentials).", mimeType: "application/json" },
    (uri) => json(uri.href),
  );
  server.registerResource(
    "golem-snapshot",
    new ResourceTemplate(RESOURCE_URIS.snapshot, {
      list: async () => {
        const p = caller.principal();
        const ids = isGolemCredential(p) ? [p.golemId] : (await deps.identity.listGolems(p.userId)).map((g) => g.id);
        return { resources: ids.map((id) => ({ uri: snapshotUri(id), name: `golem ${id}`, mimeType: "application/json" })) };
      },
      complete: { golem_id: (value) => complete.golemIds(value) },
    }),
    { title: "Golem snapshot", description: "One of your golems: identity facts and last heartbeat.", mimeType: "application/json" },
    (uri) => json(uri.href),
  );
  server.registerResource(
    "pheromone-field",
    new ResourceTemplate(RESOURCE_URIS.pheromones, { list: undefined, complete: { domain: (value) => complete.domains(value) } }),
    { title: "Pheromone field", description: "A domain's live pheromones and levels.", mimeType: "application/json" },
    (uri) => json(uri.href),
  );

  const BriefingArgs = Type.Object({ domain: Domain, regime: SenseQuery.properties.regime }, { additionalProperties: false });
  const args = Object.assign(standardSchema<{ domain: string; regime?: string }>(BriefingArgs), {
    shape: {
      domain: completable(standardSchema<string>(Domain), (value) => complete.domains(String(value ?? ""))),
      regime: standardSchema(Type.String()),
    },
  });
  server.registerPrompt(
    "pre_trade_briefing",
    {
      title: "Pre-trade briefing",
      description: "What the swarm senses in a domain (pheromones) and what you know of it (a ranked recall), as one briefing.",
      argsSchema: args,
    },
    async ({ domain, regime }) => {
      try {
        const p = caller.principal();
        refusePriced(deps, "pre_trade_briefing");
        const sensed = await sensePheromones(deps.pheromones, [domain], regime, 20);
        const recalled = await runHeavy(deps.heavy, p.userId, () =>
          rankedQuery(deps, p, { text: domain, domains: [domain], limit: 5, explain: false }),
        );
        const text = [
          `Pre-trade briefing for ${domain}${regime ? ` (regime ${regime})` : ""}.`,
          "Pheromones sensed (threat, opportunity, wisdom levels and live deposits):",
          JSON.stringify(sensed.domains[domain] ?? {}),
          "Most relevant knowledge recalled (vault, clade, lethe):",
          JSON.stringify(recalled.hits),
          "Weigh the threats against the opportunities and the recalled knowledge before deciding.",
        ].join("\n");
        return { description: `Briefing for ${domain}`, messages: [{ role: "user", content: { type: "text", text } }] };
      } catch (err) {
        throw toMcpError(err);
      }
    },
  );
}
