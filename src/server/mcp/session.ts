import { randomUUID } from "node:crypto";
import { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import { McpServer, SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";
import type { CallContext, Principal } from "../../core/identity/principal.js";
import { toMcpError } from "./errors.js";
import type { McpSessions, SessionHandle } from "./sessions.js";
import { registerSurface, resourceReader } from "./surface.js";
import { registerTools } from "./tools.js";
import type { McpDeps } from "./types.js";

/** A user principal (what `/mcp` admits). */
type UserPrincipal = Extract<Principal, { kind: "user" }>;

/** One MCP session: its transport and the credential it runs with, refreshed by each HTTP request. */
export interface McpSession extends SessionHandle {
  readonly transport: NodeStreamableHTTPServerTransport;
  /** Records the principal and request facts of the HTTP request about to be handled. */
  enter(principal: UserPrincipal, ctx: CallContext): void;
}

/**
 * Opens a session for `principal`: an McpServer of its own (tools, resources, prompt,
 * completions, logging; `resources/subscribe` answered here, after the resource was read with
 * the session's credential) on a Streamable HTTP transport that registers itself in `sessions`
 * once `initialize` gave it an id, and leaves it when closed (DELETE /mcp, idle, shutdown).
 * Only the 2025 protocol revisions are offered: sessions, subscriptions and logging belong to them.
 */
export async function openSession(
  deps: McpDeps,
  sessions: McpSessions<McpSession>,
  version: string,
  first: UserPrincipal,
): Promise<McpSession> {
  let principal = first;
  let ctx: CallContext = {};
  const caller = { principal: () => principal, ctx: () => ctx };
  const server = new McpServer(
    { name: "styx", version },
    {
      capabilities: { logging: {}, resources: { subscribe: true, listChanged: false }, completions: {} },
      supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
      instructions:
        "Styx relays knowledge between golems (autonomous agents): remember and recall entries, sense and deposit pheromones, publish and discover causal edges. Owner credentials also see the fleet and the graveyard and may steer.",
    },
  );
  const read = resourceReader(deps, caller);
  registerTools(server, deps, caller);
  registerSurface(server, deps, caller, read);

  const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS],
    onsessioninitialized: (id) => sessions.add(id, session),
  });
  const session: McpSession = {
    owner: { userId: first.userId, credentialId: first.credentialId },
    transport,
    enter: (p, c) => {
      principal = p;
      ctx = c;
    },
    close: async () => {
      await transport.close().catch(() => {});
      await server.close().catch(() => {});
    },
    updated: (uri) => void server.server.sendResourceUpdated({ uri }).catch(() => {}),
  };
  transport.onclose = () => {
    if (transport.sessionId !== undefined) void sessions.remove(transport.sessionId);
  };

  server.server.setRequestHandler("resources/subscribe", async (request) => {
    const uri = request.params.uri;
    try {
      await read(uri);
    } catch (err) {
      throw toMcpError(err);
    }
    if (transport.sessionId !== undefined) sessions.subscribe(transport.sessionId, uri);
    return {};
  });
  server.server.setRequestHandler("resources/unsubscribe", async (request) => {
    if (transport.sessionId !== undefined) sessions.unsubscribe(transport.sessionId, request.params.uri);
    return {};
  });
  await server.connect(transport);
  return session;
}
