import { validateHostHeader, validateOriginHeader } from "@modelcontextprotocol/server";
import { StyxError } from "../../core/platform/errors.js";

/**
 * Refuses a request whose `Host` is not an allowed name (mcpAllowedHosts), or whose `Origin` (sent by browsers)
 * is not on an allowed name: 403 STYX_AUTH_FORBIDDEN, whatever the credential. A page on another
 * site that rebinds its DNS to this server's address cannot reach /mcp from a browser.
 */
export function checkMcpHost(headers: { host?: string | undefined; origin?: string | undefined }, allowed: string[]): void {
  const host = validateHostHeader(headers.host, allowed);
  if (!host.ok) {
    throw new StyxError(
      "STYX_AUTH_FORBIDDEN",
      "This Host is not allowed for /mcp: use STYX_PUBLIC_URL's host or add it to STYX_MCP_ALLOWED_HOSTS.",
    );
  }
  const origin = validateOriginHeader(headers.origin, allowed);
  if (!origin.ok) {
    throw new StyxError(
      "STYX_AUTH_FORBIDDEN",
      "This Origin is not allowed for /mcp: use STYX_PUBLIC_URL's host or add it to STYX_MCP_ALLOWED_HOSTS.",
    );
  }
}
