import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CLIENT_ROUTES, ROUTES } from "../../../packages/client/src/index.js";
import { fetchOpenApi, generateRoutesSource, ROUTES_FILE } from "../../../scripts/gen-client.mjs";

/** The first lines where two texts differ, as a short unified-style excerpt. */
function firstDifferences(committed: string, fresh: string, max = 12): string {
  const a = committed.split("\n");
  const b = fresh.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && out.length < max; i++) {
    if (a[i] === b[i]) continue;
    out.push(`line ${i + 1}:`, `- ${a[i] ?? "(end of file)"}`, `+ ${b[i] ?? "(end of file)"}`);
  }
  return out.join("\n");
}

describe("client ↔ server OpenAPI contract", () => {
  it("the committed routes.ts equals the one generated from the server's OpenAPI document", async () => {
    const fresh = generateRoutesSource(await fetchOpenApi());
    const committed = readFileSync(new URL(`../../../${ROUTES_FILE}`, import.meta.url), "utf8");
    assert.ok(
      committed === fresh,
      `a server route or schema changed without the client: run \`node --import tsx scripts/gen-client.mts\` and adapt packages/client.\n${firstDifferences(committed, fresh)}`,
    );
  });

  it("StyxClient has a method for every route of the server", () => {
    const covered = new Set<string>(Object.values(CLIENT_ROUTES));
    // `/admin` and its assets are the dashboard's browser page files, not an API; `/mcp` is spoken by MCP clients;
    // `/v1/styx/federation/*` by another Styx's federation link (SPEC §17.2), never by a golem.
    const spokenByOthers = (id: string) =>
      /^GET \/admin(\/|$)/.test(id) || /^[A-Z]+ \/mcp$/.test(id) || /^[A-Z]+ \/v1\/styx\/federation\//.test(id);
    const missing = Object.keys(ROUTES).filter((id) => !covered.has(id) && !spokenByOthers(id));
    assert.deepEqual(missing, [], `routes without a StyxClient method (add one to packages/client/src/client.ts): ${missing.join(", ")}`);
  });
});
