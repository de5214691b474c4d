const LOCAL = ["localhost", "127.0.0.1", "[::1]"];

/**
 * The host names `/mcp` answers to (DNS-rebinding protection): STYX_PUBLIC_URL's host, the
 * loopback names when that host is a loopback one (a local Styx is reached by any of them),
 * and STYX_MCP_ALLOWED_HOSTS. Ports never matter. Apart from hosts.ts so that configuring the
 * endpoint does not load the MCP SDK (see mcp.routes.ts).
 */
export function mcpAllowedHosts(publicUrl: string, extra: readonly string[]): string[] {
  const host = new URL(publicUrl).hostname.toLowerCase();
  return [...new Set([host, ...(LOCAL.includes(host) ? LOCAL : []), ...extra])];
}
