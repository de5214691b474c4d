import type { IncomingMessage } from "node:http";
import proxyAddr from "@fastify/proxy-addr";

/** STYX_TRUST_PROXY as configured: no proxy, a hop count, or trusted proxy addresses/CIDRs. */
export type TrustProxy = false | number | readonly string[];

/** Whether the proxy at `address`, `hop` hops from the server (0: the peer), is trusted to report the client. */
export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * The one client-address rule of both transports (SPEC §12): Fastify is given this function as
 * its `trustProxy` (so `request.ip` follows it) and socket upgrades, which never reach Fastify's
 * request, apply it with the same library (`@fastify/proxy-addr`, the one Fastify uses). A hop
 * count trusts that many proxies nearest the server; addresses and CIDRs trust those proxies.
 */
export function trustFunction(trust: TrustProxy): TrustFunction {
  if (trust === false || trust === 0) return () => false;
  if (typeof trust === "number") return (_address, hop) => hop < trust;
  const compiled = proxyAddr.compile([...trust]);
  return (address, hop) => compiled(address, hop);
}

/** The client address of a request or upgrade under `trust` ("unknown" once the peer is gone). */
export function clientIp(req: IncomingMessage, trust: TrustFunction): string {
  if (req.socket.remoteAddress === undefined) return "unknown";
  return proxyAddr(req, trust);
}
