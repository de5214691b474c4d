/**
 * The parts of `/mcp` that need the MCP SDK (@modelcontextprotocol/server and /node, with hono
 * and zod: ~30 MB resident, measured by importing them in a bare process), loaded by the route
 * on its first request (mcp.routes.ts): a Styx that no MCP client talks to never pays for them.
 */
export { isInitializeRequest } from "@modelcontextprotocol/server";
export { checkMcpHost } from "./hosts.js";
export { openSession } from "./session.js";
