import type { Routes } from "./generated/routes.js";
import { StyxHttp } from "./http.js";

type Body<K extends keyof Routes> = Routes[K]["body"];
type Query<K extends keyof Routes> = Routes[K]["query"];
type Res<K extends keyof Routes> = Promise<Routes[K]["response"]>;

/**
 * Every HTTP route of Styx as a named, typed method (`call` reaches any route by its
 * `METHOD /path` key). `CLIENT_ROUTES` lists which route each method calls; the contract test
 * checks it covers every route of the server's OpenAPI document.
 */
export class StyxClient extends StyxHttp {
  /** Liveness and each dependency's status (no credential). */
  health(): Res<"GET /v1/styx/health"> {
    return this.call("GET /v1/styx/health");
  }
  /** Readiness: answers 503 (thrown as StyxError) once writes are shed (`{ for: "reads" }`: once reads are). */
  ready(query: Query<"GET /readyz"> = {}): Res<"GET /readyz"> {
    return this.call("GET /readyz", { query });
  }
  /** Prometheus metrics text. */
  metrics(): Res<"GET /metrics"> {
    return this.call("GET /metrics");
  }
  /** Admin: creates a user. */
  createUser(body: Body<"POST /v1/admin/users">): Res<"POST /v1/admin/users"> {
    return this.call("POST /v1/admin/users", { body });
  }
  /** Admin: issues an API key for a user (the secret is in the answer, once). */
  createKey(userId: string, body: Body<"POST /v1/admin/users/{user_id}/keys">): Res<"POST /v1/admin/users/{user_id}/keys"> {
    return this.call("POST /v1/admin/users/{user_id}/keys", { params: { user_id: userId }, body });
  }
  /** Admin: lists a user's keys. */
  listKeys(userId: string): Res<"GET /v1/admin/users/{user_id}/keys"> {
    return this.call("GET /v1/admin/users/{user_id}/keys", { params: { user_id: userId } });
  }
  /** Admin: revokes a key. */
  revokeKey(keyId: string): Res<"DELETE /v1/admin/keys/{key_id}"> {
    return this.call("DELETE /v1/admin/keys/{key_id}", { params: { key_id: keyId } });
  }
  /** Admin: reads the audit log. */
  audit(query: Query<"GET /v1/admin/audit"> = {}): Res<"GET /v1/admin/audit"> {
    return this.call("GET /v1/admin/audit", { query });
  }
  /** Admin: verifies the audit log's hash chain. */
  verifyAudit(): Res<"GET /v1/admin/audit/verify"> {
    return this.call("GET /v1/admin/audit/verify");
  }
  /** Admin: the dashboard's snapshot (event count, sockets, pheromone heat map, pulse, recent deaths, active keys). */
  dashboard(): Res<"GET /v1/admin/dashboard"> {
    return this.call("GET /v1/admin/dashboard");
  }
  /** Admin: federation (SPEC §17.4): this Styx's instance id, its link to the upstream (state, cursors, outbox), its downstreams. */
  federation(): Res<"GET /v1/admin/federation"> {
    return this.call("GET /v1/admin/federation");
  }
  /** Registers a golem of the caller (generation = parent's + 1). */
  registerGolem(body: Body<"POST /v1/styx/golems"> = {}): Res<"POST /v1/styx/golems"> {
    return this.call("POST /v1/styx/golems", { body });
  }
  /** Reads a golem. */
  golem(golemId: string): Res<"GET /v1/styx/golems/{golem_id}"> {
    return this.call("GET /v1/styx/golems/{golem_id}", { params: { golem_id: golemId } });
  }
  /** Reads a user. */
  user(userId: string): Res<"GET /v1/styx/users/{user_id}"> {
    return this.call("GET /v1/styx/users/{user_id}", { params: { user_id: userId } });
  }
  /** Lists a user's golems. */
  userGolems(userId: string): Res<"GET /v1/styx/users/{user_id}/golems"> {
    return this.call("GET /v1/styx/users/{user_id}/golems", { params: { user_id: userId } });
  }
  /** Who the credential belongs to. */
  me(): Res<"GET /v1/styx/me"> {
    return this.call("GET /v1/styx/me");
  }
  /** The caller's usage and limits: every quota (limit, used), the request bucket, the admin's override (owner credentials). */
  usage(): Res<"GET /v1/styx/usage"> {
    return this.call("GET /v1/styx/usage");
  }
  /** A user's usage and limits (admin token). */
  userUsage(userId: string): Res<"GET /v1/admin/users/{user_id}/usage"> {
    return this.call("GET /v1/admin/users/{user_id}/usage", { params: { user_id: userId } });
  }
  /** Sets a user's whole override of the tier's limits; `{}` clears it (admin token). */
  setUserLimits(userId: string, body: Body<"PUT /v1/admin/users/{user_id}/usage">): Res<"PUT /v1/admin/users/{user_id}/usage"> {
    return this.call("PUT /v1/admin/users/{user_id}/usage", { params: { user_id: userId }, body });
  }
  /** Wallet sign-in, step 1: an EIP-4361 (Sign-In with Ethereum) message for the wallet to sign. */
  challenge(body: Body<"POST /v1/auth/challenge">): Res<"POST /v1/auth/challenge"> {
    return this.call("POST /v1/auth/challenge", { body });
  }
  /** Wallet sign-in, step 2: the message, unchanged, and its personal_sign (EIP-191) signature for a session token. */
  verify(body: Body<"POST /v1/auth/verify">): Res<"POST /v1/auth/verify"> {
    return this.call("POST /v1/auth/verify", { body });
  }
  /**
   * Wallet sign-in in one call: asks a challenge for `walletAddress`, has `signMessage` sign its
   * EIP-4361 message (e.g. viem's `account.signMessage({ message })`) and trades the signature
   * for a session token (use it as `token` of a new client).
   */
  async signIn(walletAddress: string, signMessage: (message: string) => Promise<string>): Res<"POST /v1/auth/verify"> {
    const { message } = await this.challenge({ wallet_address: walletAddress });
    return this.verify({ message, signature: await signMessage(message) });
  }
  /** The caller's wallet sessions still valid (a golem credential sees its golem's). */
  sessions(): Res<"GET /v1/auth/sessions"> {
    return this.call("GET /v1/auth/sessions");
  }
  /** Ends a wallet session: its token stops working and its sockets close. */
  endSession(sessionId: string): Res<"DELETE /v1/auth/sessions/{session_id}"> {
    return this.call("DELETE /v1/auth/sessions/{session_id}", { params: { session_id: sessionId } });
  }
  /** Writes up to the batch limit of entries in one transaction (not queued offline). */
  writeEntries(body: Body<"POST /v1/styx/entries/batch">): Res<"POST /v1/styx/entries/batch"> {
    return this.call("POST /v1/styx/entries/batch", { body });
  }
  /** One ranked query across vault, clade and lethe. */
  query(body: Body<"POST /v1/styx/query">): Res<"POST /v1/styx/query"> {
    return this.call("POST /v1/styx/query", { body });
  }
  /** The same query as a GET with a query string. */
  queryByUrl(query: Query<"GET /v1/styx/query">): Res<"GET /v1/styx/query"> {
    return this.call("GET /v1/styx/query", { query });
  }
  /** A page of everything a golem stored (JSON paging; `after` is the previous page's `next_after`). */
  snapshot(golemId: string, query: Query<"GET /v1/styx/snapshot/{golem_id}"> = {}): Res<"GET /v1/styx/snapshot/{golem_id}"> {
    return this.call("GET /v1/styx/snapshot/{golem_id}", { params: { golem_id: golemId }, query: { format: "json", ...query } });
  }
  /** One of your entries by id (404 for anything not yours: another user's, a sibling golem's private one). */
  getEntry(id: string): Res<"GET /v1/styx/entries/{id}"> {
    return this.call("GET /v1/styx/entries/{id}", { params: { id } });
  }
  /**
   * A page of your entries, oldest first; pass `next_cursor` back as `cursor` for the next.
   * Metadata filters are `"metadata.<key>": value` fields (at most 8).
   */
  listEntries(
    query: Query<"GET /v1/styx/entries"> & { readonly [filter: `metadata.${string}`]: string } = {},
  ): Res<"GET /v1/styx/entries"> {
    return this.call("GET /v1/styx/entries", { query });
  }
  /** Deletes one of your entries (vault, clade, vectors; a queued lethe copy too — `lethe` says what became of it). */
  deleteEntry(id: string): Res<"DELETE /v1/styx/entries/{id}"> {
    return this.call("DELETE /v1/styx/entries/{id}", { params: { id } });
  }
  /** Validates (`agrees: true`) or contradicts an entry of your clade, or a lethe entry of another user. */
  validateEntry(id: string, body: Body<"POST /v1/styx/entries/{id}/validate">): Res<"POST /v1/styx/entries/{id}/validate"> {
    return this.call("POST /v1/styx/entries/{id}/validate", { params: { id }, body });
  }
  /** Deposits (or reinforces) a pheromone. */
  depositPheromone(body: Body<"POST /v1/styx/pheromone/deposit">): Res<"POST /v1/styx/pheromone/deposit"> {
    return this.call("POST /v1/styx/pheromone/deposit", { body });
  }
  /** Senses the pheromone field of some domains. */
  sense(query: Query<"GET /v1/styx/pheromone/sense">): Res<"GET /v1/styx/pheromone/sense"> {
    return this.call("GET /v1/styx/pheromone/sense", { query });
  }
  /** The EIP-712 domain, types and instance a golem's wallet signs its bloodstain under (no credential). */
  bloodstainTypedData(): Res<"GET /v1/styx/bloodstain/typed-data"> {
    return this.call("GET /v1/styx/bloodstain/typed-data");
  }
  /** Records a golem's death and its testament. */
  bloodstain(body: Body<"POST /v1/styx/bloodstain">): Res<"POST /v1/styx/bloodstain"> {
    return this.call("POST /v1/styx/bloodstain", { body });
  }
  /** Publishes causal edges. */
  publishCausal(body: Body<"POST /v1/styx/causal/publish">): Res<"POST /v1/styx/causal/publish"> {
    return this.call("POST /v1/styx/causal/publish", { body });
  }
  /** Discovers causal edges. */
  discoverCausal(query: Query<"GET /v1/styx/causal/discover">): Res<"GET /v1/styx/causal/discover"> {
    return this.call("GET /v1/styx/causal/discover", { query });
  }
  /** A user's lineage tree. */
  lineage(userId: string, query: Query<"GET /v1/styx/lineage/{user_id}"> = {}): Res<"GET /v1/styx/lineage/{user_id}"> {
    return this.call("GET /v1/styx/lineage/{user_id}", { params: { user_id: userId }, query });
  }
  /** A user's dead golems. */
  graveyard(userId: string, query: Query<"GET /v1/styx/graveyard/{user_id}"> = {}): Res<"GET /v1/styx/graveyard/{user_id}"> {
    return this.call("GET /v1/styx/graveyard/{user_id}", { params: { user_id: userId }, query });
  }
  /** A golem's achievements. */
  achievements(golemId: string): Res<"GET /v1/styx/achievements/{golem_id}"> {
    return this.call("GET /v1/styx/achievements/{golem_id}", { params: { golem_id: golemId } });
  }
  /** The ecosystem's pulse (no credential). */
  pulse(query: Query<"GET /v1/styx/pulse"> = {}): Res<"GET /v1/styx/pulse"> {
    return this.call("GET /v1/styx/pulse", { query });
  }
  /** Presence of each of a user's golems. */
  fleet(userId: string): Res<"GET /v1/styx/fleet/{user_id}"> {
    return this.call("GET /v1/styx/fleet/{user_id}", { params: { user_id: userId } });
  }
  /** Aggregates over a user's fleet. */
  fleetAggregate(userId: string): Res<"GET /v1/styx/fleet/{user_id}/aggregate"> {
    return this.call("GET /v1/styx/fleet/{user_id}/aggregate", { params: { user_id: userId } });
  }
  /** One golem's status and presence. */
  golemSnapshot(golemId: string): Res<"GET /v1/styx/golem/{golem_id}/snapshot"> {
    return this.call("GET /v1/styx/golem/{golem_id}/snapshot", { params: { golem_id: golemId } });
  }
  /** Registers a golem as a clade member (for clade deltas). */
  registerClade(body: Body<"POST /v1/styx/clade/register">): Res<"POST /v1/styx/clade/register"> {
    return this.call("POST /v1/styx/clade/register", { body });
  }
  /** A user's registered clade members. */
  cladePeers(userId: string): Res<"GET /v1/styx/clade/peers/{user_id}"> {
    return this.call("GET /v1/styx/clade/peers/{user_id}", { params: { user_id: userId } });
  }
  /** Owner → golem steering over HTTP. */
  steer(golemId: string, body: Body<"POST /v1/styx/golem/{golem_id}/steer">): Res<"POST /v1/styx/golem/{golem_id}/steer"> {
    return this.call("POST /v1/styx/golem/{golem_id}/steer", { params: { golem_id: golemId }, body });
  }
  /** Stores bytes as a content-addressed blob. */
  putBlob(bytes: Uint8Array): Res<"PUT /v1/styx/blobs"> {
    return this.call("PUT /v1/styx/blobs", { body: bytes });
  }
  /** Reads a blob, or a byte range of it (`range` like `bytes=0-99`). */
  getBlob(cid: string, range?: string): Res<"GET /v1/styx/blobs/{cid}"> {
    return this.call("GET /v1/styx/blobs/{cid}", { params: { cid }, ...(range ? { headers: { range } } : {}) });
  }
  /** Erases one of your golems (owner key): a durable job, answered 202; follow it with `erasure`. */
  eraseGolem(golemId: string): Res<"DELETE /v1/styx/golems/{golem_id}"> {
    return this.call("DELETE /v1/styx/golems/{golem_id}", { params: { golem_id: golemId } });
  }
  /** Admin: erases a user and everything of theirs (a durable job, answered 202). */
  eraseUser(userId: string): Res<"DELETE /v1/admin/users/{user_id}"> {
    return this.call("DELETE /v1/admin/users/{user_id}", { params: { user_id: userId } });
  }
  /** An erasure job you asked for: `state` is `done` once every step ran. */
  erasure(jobId: string): Res<"GET /v1/styx/erasures/{job_id}"> {
    return this.call("GET /v1/styx/erasures/{job_id}", { params: { job_id: jobId } });
  }
  /** Admin: any erasure job. */
  adminErasure(jobId: string): Res<"GET /v1/admin/erasures/{job_id}"> {
    return this.call("GET /v1/admin/erasures/{job_id}", { params: { job_id: jobId } });
  }
  /** Everything of yours as NDJSON text (owner key): one JSON record a line with its `type`. */
  exportData(): Res<"GET /v1/styx/export"> {
    return this.call("GET /v1/styx/export");
  }
  /** Your payment receipts (a golem key: its golem's), oldest first; page with `next_cursor`. */
  payments(query: Query<"GET /v1/styx/payments"> = {}): Res<"GET /v1/styx/payments"> {
    return this.call("GET /v1/styx/payments", { query });
  }
  /** One of your payment receipts. */
  payment(paymentId: string): Res<"GET /v1/styx/payments/{payment_id}"> {
    return this.call("GET /v1/styx/payments/{payment_id}", { params: { payment_id: paymentId } });
  }
  /** Admin: payment receipts of every user, or of one (`user_id`). */
  adminPayments(query: Query<"GET /v1/admin/payments"> = {}): Res<"GET /v1/admin/payments"> {
    return this.call("GET /v1/admin/payments", { query });
  }
  /** Admin: USD by status and operation over a time window. */
  paymentSummary(query: Query<"GET /v1/admin/payments/summary"> = {}): Res<"GET /v1/admin/payments/summary"> {
    return this.call("GET /v1/admin/payments/summary", { query });
  }
  /** Your relay credit (socket events it pays for). */
  credit(): Res<"GET /v1/styx/credit"> {
    return this.call("GET /v1/styx/credit");
  }
  /** Tops up relay credit; priced (x402): give the client a paying `fetch` (`@x402/fetch`) on a Styx that charges. */
  topUpCredit(body: Body<"POST /v1/styx/credit/topup">): Res<"POST /v1/styx/credit/topup"> {
    return this.call("POST /v1/styx/credit/topup", { body });
  }
  /** Admin: sets a key's spend limits (USD per UTC day and month; `spend_limit: null` clears them). */
  setKeySpendLimit(keyId: string, body: Body<"PATCH /v1/admin/keys/{key_id}">): Res<"PATCH /v1/admin/keys/{key_id}"> {
    return this.call("PATCH /v1/admin/keys/{key_id}", { params: { key_id: keyId }, body });
  }
  /** Deletes one of your blobs (owner key); 409 STYX_CONFLICT while an entry names it as content_blob. */
  deleteBlob(cid: string): Res<"DELETE /v1/styx/blobs/{cid}"> {
    return this.call("DELETE /v1/styx/blobs/{cid}", { params: { cid } });
  }
}

/** Which route each method of `StyxClient` calls (`writeEntry` comes from `StyxHttp`). */
export const CLIENT_ROUTES = {
  health: "GET /v1/styx/health",
  ready: "GET /readyz",
  metrics: "GET /metrics",
  createUser: "POST /v1/admin/users",
  createKey: "POST /v1/admin/users/{user_id}/keys",
  listKeys: "GET /v1/admin/users/{user_id}/keys",
  revokeKey: "DELETE /v1/admin/keys/{key_id}",
  audit: "GET /v1/admin/audit",
  verifyAudit: "GET /v1/admin/audit/verify",
  dashboard: "GET /v1/admin/dashboard",
  federation: "GET /v1/admin/federation",
  registerGolem: "POST /v1/styx/golems",
  golem: "GET /v1/styx/golems/{golem_id}",
  user: "GET /v1/styx/users/{user_id}",
  userGolems: "GET /v1/styx/users/{user_id}/golems",
  me: "GET /v1/styx/me",
  usage: "GET /v1/styx/usage",
  userUsage: "GET /v1/admin/users/{user_id}/usage",
  setUserLimits: "PUT /v1/admin/users/{user_id}/usage",
  challenge: "POST /v1/auth/challenge",
  verify: "POST /v1/auth/verify",
  signIn: "POST /v1/auth/verify",
  sessions: "GET /v1/auth/sessions",
  endSession: "DELETE /v1/auth/sessions/{session_id}",
  writeEntry: "POST /v1/styx/entries",
  writeEntries: "POST /v1/styx/entries/batch",
  query: "POST /v1/styx/query",
  queryByUrl: "GET /v1/styx/query",
  snapshot: "GET /v1/styx/snapshot/{golem_id}",
  getEntry: "GET /v1/styx/entries/{id}",
  listEntries: "GET /v1/styx/entries",
  deleteEntry: "DELETE /v1/styx/entries/{id}",
  validateEntry: "POST /v1/styx/entries/{id}/validate",
  depositPheromone: "POST /v1/styx/pheromone/deposit",
  sense: "GET /v1/styx/pheromone/sense",
  bloodstainTypedData: "GET /v1/styx/bloodstain/typed-data",
  bloodstain: "POST /v1/styx/bloodstain",
  publishCausal: "POST /v1/styx/causal/publish",
  discoverCausal: "GET /v1/styx/causal/discover",
  lineage: "GET /v1/styx/lineage/{user_id}",
  graveyard: "GET /v1/styx/graveyard/{user_id}",
  achievements: "GET /v1/styx/achievements/{golem_id}",
  pulse: "GET /v1/styx/pulse",
  fleet: "GET /v1/styx/fleet/{user_id}",
  fleetAggregate: "GET /v1/styx/fleet/{user_id}/aggregate",
  golemSnapshot: "GET /v1/styx/golem/{golem_id}/snapshot",
  registerClade: "POST /v1/styx/clade/register",
  cladePeers: "GET /v1/styx/clade/peers/{user_id}",
  steer: "POST /v1/styx/golem/{golem_id}/steer",
  putBlob: "PUT /v1/styx/blobs",
  getBlob: "GET /v1/styx/blobs/{cid}",
  deleteBlob: "DELETE /v1/styx/blobs/{cid}",
  eraseGolem: "DELETE /v1/styx/golems/{golem_id}",
  eraseUser: "DELETE /v1/admin/users/{user_id}",
  erasure: "GET /v1/styx/erasures/{job_id}",
  adminErasure: "GET /v1/admin/erasures/{job_id}",
  exportData: "GET /v1/styx/export",
  payments: "GET /v1/styx/payments",
  payment: "GET /v1/styx/payments/{payment_id}",
  adminPayments: "GET /v1/admin/payments",
  paymentSummary: "GET /v1/admin/payments/summary",
  credit: "GET /v1/styx/credit",
  topUpCredit: "POST /v1/styx/credit/topup",
  setKeySpendLimit: "PATCH /v1/admin/keys/{key_id}",
} as const satisfies Record<string, keyof Routes>;
