// @styx/client: typed HTTP routes, a reconnecting socket with resume, a circuit breaker and an offline write queue.
export { type BackoffOptions, reconnectDelay } from "./backoff.js";
export { type BreakerOptions, type BreakerState, CircuitBreaker } from "./breaker.js";
export { CLIENT_ROUTES, StyxClient } from "./client.js";
export { type ConnectOptions, connect, Styx } from "./connect.js";
export { CircuitOpenError, ClientClosedError, isUnavailable, OfflineQueueFullError, StyxError, StyxUnreachableError } from "./errors.js";
export { isRetryable, RECONNECT_AFTER_CLOSE, RETRYABLE_CODES, shouldReconnect } from "./generated/errors.js";
export type * from "./generated/frames.js";
export { ROUTES, type RouteId, type RouteInfo, type Routes } from "./generated/routes.js";
export { type CallInput, type EntryInput, type EntryWritten, type HttpOptions, StyxHttp } from "./http.js";
export {
  type BoughtPackage,
  type CreatedListing,
  createListing,
  type MarketplaceAccess,
  type NewListing,
  purchase,
  unwrapCek,
  wrapCek,
} from "./marketplace.js";
export { OfflineQueue } from "./queue.js";
export { type EventFrame, type RecoveryReport, type SocketEvents, type SocketOptions, type StreamPosition, StyxSocket } from "./socket.js";
