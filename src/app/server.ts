import type { Config } from "../config/load.js";
import type { ServerDeps } from "../server/app.js";
import { mcpAllowedHosts } from "../server/mcp/allowed-hosts.js";
import { VERSION } from "./version.js";

/** The settings of the HTTP server and socket gateway, as configured (its services come from buildStyx). */
export type ServerSettings = Pick<
  ServerDeps,
  | "version"
  | "profile"
  | "amnesia"
  | "logLevel"
  | "bodyLimit"
  | "trustProxy"
  | "rateLimit"
  | "ipRateLimit"
  | "embedDim"
  | "blobMaxBytes"
  | "ws"
  | "mcp"
  | "http"
  | "defaultLimits"
>;

/** The server's settings from the configuration. */
export function serverSettings(config: Config): ServerSettings {
  return {
    version: VERSION,
    profile: config.profile,
    amnesia: config.amnesia,
    logLevel: config.logLevel,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    rateLimit: config.rateLimit,
    ipRateLimit: config.ipRateLimit,
    embedDim: config.embedDim,
    blobMaxBytes: config.blobMaxBytes,
    defaultLimits: config.quotas.table[config.quotas.defaultTier],
    http: {
      headersTimeoutMs: config.http.headersTimeoutMs,
      requestTimeoutMs: config.http.requestTimeoutMs,
      keepAliveTimeoutMs: config.http.keepAliveTimeoutMs,
      unfinishedPerIp: config.http.unfinishedConnectionsPerIp,
    },
    mcp: {
      allowedHosts: mcpAllowedHosts(config.publicUrl, config.mcp.allowedHosts),
      maxSessionsPerUser: config.mcp.maxSessionsPerUser,
      sessionIdleMs: config.mcp.sessionIdleMs,
    },
    ws: {
      pingIntervalMs: config.ws.pingIntervalMs,
      authTimeoutMs: config.ws.authTimeoutMs,
      maxQueueBytes: config.ws.sendQueueBytes,
      maxConnections: config.ws.maxConnections,
      deflate: config.ws.deflate,
    },
  };
}
