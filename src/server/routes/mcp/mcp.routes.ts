import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { EventBus } from "../../../core/fabric/event-bus.js";
import { StyxError } from "../../../core/platform/errors.js";
import { ErrorBody } from "../../../protocol/common.js";
import { McpAnswer, McpMessage, McpQuery } from "../../../protocol/mcp.js";
import { userPrincipal } from "../../context.js";
import type { McpSession } from "../../mcp/session.js";
import { McpSessions } from "../../mcp/sessions.js";
import type { McpDeps } from "../../mcp/types.js";

/** Where the MCP server answers. */
export const MCP_PATH = "/mcp";

/** Options of the MCP endpoint (config: STYX_PUBLIC_URL, STYX_MCP_*). */
export interface McpOptions {
  /** Host names accepted in `Host` and `Origin` (see mcp/allowed-hosts.ts). */
  readonly allowedHosts: readonly string[];
  readonly maxSessionsPerUser: number;
  readonly sessionIdleMs: number;
}

/**
 * `POST|GET|DELETE /mcp`: the Model Context Protocol server (Streamable HTTP, SDK v2). A plain
 * route, so Styx's hooks run first, unchanged: shutdown, load shedding, the address's and the
 * identity's rate limits, authentication (`Authorization: Bearer` or `?token=`, as the socket),
 * body limits and JSON parsing. Then: Host/Origin (DNS rebinding), the session (its own
 * credential only; a new one only by `initialize`, at most STYX_MCP_MAX_SESSIONS per user), and
 * the SDK's transport answers on the raw response. Golem credentials are admitted: each tool and
 * resource applies SPEC §3's table itself. `read` scope is enough to talk; tools that change
 * something check `write`.
 */
export function mcpRoutes(
  app: FastifyInstance,
  deps: { mcp: McpDeps; options: McpOptions; version: string; bus: Pick<EventBus, "subscribe"> },
): void {
  const sessions = new McpSessions<McpSession>({
    limits: { maxPerUser: deps.options.maxSessionsPerUser, idleMs: deps.options.sessionIdleMs },
    clock: deps.mcp.clock,
    bus: deps.bus,
  });
  // Before the server stops listening: open SSE streams end with their sessions instead of holding the close.
  app.addHook("preClose", () => sessions.close());
  const allowed = [...deps.options.allowedHosts];

  // The SDK half of the endpoint, on the first request (mcp/runtime.ts); a failed load is tried again.
  let runtime: Promise<typeof import("../../mcp/runtime.js")> | undefined;
  const load = () => {
    runtime ??= import("../../mcp/runtime.js").catch((err: unknown) => {
      runtime = undefined;
      throw err;
    });
    return runtime;
  };

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const { checkMcpHost, isInitializeRequest, openSession } = await load();
    checkMcpHost({ host: req.headers.host, origin: req.headers.origin }, allowed);
    const principal = userPrincipal(req);
    const owner = { userId: principal.userId, credentialId: principal.credentialId };
    const id = req.headers["mcp-session-id"];
    let session: McpSession;
    if (typeof id === "string" && id !== "") {
      session = sessions.use(id, owner);
    } else if (req.method === "POST" && isInitializeRequest(req.body)) {
      sessions.reserve(principal.userId);
      session = await openSession(deps.mcp, sessions, deps.version, principal);
    } else {
      throw new StyxError("STYX_BAD_REQUEST", "No MCP session: send initialize first, then the Mcp-Session-Id header it returns.");
    }
    session.enter(principal, { requestId: req.id, ip: req.ip });
    reply.hijack();
    try {
      await session.transport.handleRequest(req.raw, reply.raw, req.body);
    } catch (err) {
      req.log.error({ err }, "mcp transport failed");
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { "content-type": "application/json; charset=utf-8" });
        reply.raw.end(JSON.stringify({ error: { code: "STYX_INTERNAL", message: "Internal error.", request_id: req.id } }));
      } else reply.raw.end();
    }
  };

  const config = { golemCredential: "own", scope: "read", queryToken: true } as const;
  const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };
  const tags = ["mcp"];
  const querystring = McpQuery;
  app.post(
    MCP_PATH,
    {
      config,
      schema: {
        tags,
        summary: "Model Context Protocol (Streamable HTTP): one JSON-RPC message; `initialize` opens a session",
        querystring,
        body: McpMessage,
        produces: ["application/json", "text/event-stream"],
        response: { 200: McpAnswer, 202: McpAnswer, ...errors },
      },
    },
    handle,
  );
  app.get(
    MCP_PATH,
    {
      config,
      schema: {
        tags,
        summary: "Model Context Protocol: the session's stream of server messages (SSE; resource updates)",
        querystring,
        produces: ["text/event-stream"],
        response: { 200: McpAnswer, ...errors },
      },
    },
    handle,
  );
  app.delete(
    MCP_PATH,
    { config, schema: { tags, querystring, summary: "Model Context Protocol: end the session", response: { 200: McpAnswer, ...errors } } },
    handle,
  );
}
