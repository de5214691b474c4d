import { parseFederatedDomains, parseFlows } from "../core/federation/flows.js";
import { TIERS } from "../core/identity/types.js";
import { parsePrices, usdToAtomic } from "../core/payments/money.js";
import { INSTANCE_ID_PATTERN } from "../core/platform/instance-id.js";
import { SecretKey } from "../core/platform/secret-key.js";
import { parseQuotaOverrides } from "../core/quota/limits.js";
import {
  parseAddress,
  parseBool,
  parseDurationIn,
  parseDurationRange,
  parseHostList,
  parseInteger,
  parseOneOf,
  parseOrigin,
  parseRate,
  parseSize,
  parseString,
  parseTrustProxy,
  parseUrl,
} from "./parse.js";

/** One configuration variable: its parser, default (as the string an operator would write) and meaning. */
export interface Setting<T> {
  readonly parse: (raw: string) => T;
  readonly default?: string;
  readonly doc: string;
  /** Never printed (doctor shows only whether it is set). */
  readonly secret?: boolean;
}

/**
 * Every variable Styx reads, by name. `config/load.ts` applies defaults, a config file
 * (`STYX_CONFIG`), the environment and CLI flags, in that order, and reports every bad
 * value at once. README's configuration table is this list.
 */
export const SETTINGS = {
  STYX_HOST: { parse: parseString, default: "0.0.0.0", doc: "Listen address." },
  STYX_PORT: { parse: parseInteger(0, 65535), default: "8080", doc: "Listen port (0 = any free port; the chosen URL is logged)." },
  STYX_PROFILE: {
    parse: parseOneOf(["micro", "macro"] as const),
    default: "micro",
    doc: "`micro` (one process, embedded storage) or `macro` (gateways over PostgreSQL, NATS, Redis, S3).",
  },
  STYX_DATA_DIR: { parse: parseString, default: "./data", doc: "Micronode files: SQLite database, blobs, generated admin token." },
  STYX_AMNESIA: { parse: parseBool, default: "0", doc: "RAM only: nothing is written to disk; everything is gone at exit." },
  STYX_ADMIN_TOKEN: {
    parse: parseAdminToken,
    doc: "Admin shared secret (≥ 16 chars). Unset: generated, stored (0600 in the data dir; macronode: the cluster's database), printed once.",
    secret: true,
  },
  STYX_SECRET_KEY: {
    parse: parseSecretKey,
    doc: "Key of every keyed hash (lethe, pheromone and causal sources) and of the sealed source directory: base64, ≥ 32 bytes decoded (`openssl rand -base64 32`). Never written to the database. Unset: micronode generates it once into a 0600 file in the data dir (amnesia: memory only); macronode: required, the same on every gateway.",
    secret: true,
  },
  STYX_CLUSTER: {
    parse: parseClusterName,
    default: "styx",
    doc: "Macronode cluster name: the PostgreSQL schema, JetStream stream prefix, Redis key prefix and S3 key prefix of one Styx (gateways sharing it are one Styx).",
  },
  STYX_DATABASE_URL: { parse: parseUrl(["postgres", "postgresql"]), doc: "Macronode PostgreSQL URL.", secret: true },
  STYX_NATS_URL: { parse: parseUrl(["nats", "tls"]), doc: "Macronode NATS URL." },
  STYX_REDIS_URL: { parse: parseUrl(["redis", "rediss"]), doc: "Macronode Redis URL.", secret: true },
  STYX_S3_ENDPOINT: { parse: parseUrl(["http", "https"]), doc: "Macronode S3-compatible endpoint." },
  STYX_S3_BUCKET: { parse: parseString, doc: "Macronode blob bucket." },
  STYX_S3_REGION: { parse: parseString, default: "us-east-1", doc: "S3 region." },
  STYX_S3_ACCESS_KEY_ID: { parse: parseString, doc: "S3 access key id.", secret: true },
  STYX_S3_SECRET_ACCESS_KEY: { parse: parseString, doc: "S3 secret access key.", secret: true },
  STYX_EMBED_DIM: { parse: parseInteger(1, 4096), default: "384", doc: "Embedding dimension." },
  STYX_EMBEDDER_URL: { parse: parseUrl(["http", "https"]), doc: "Optional OpenAI-compatible embeddings endpoint." },
  STYX_EMBEDDER_MODEL: { parse: parseString, doc: "Model name sent to the embeddings endpoint (default text-embedding-3-small)." },
  STYX_EMBEDDER_API_KEY: { parse: parseString, doc: "Bearer key for the embeddings endpoint.", secret: true },
  STYX_ANONYMIZER_URL: {
    parse: parseUrl(["http", "https"]),
    doc: "Optional OpenAI-compatible chat endpoint (`…/v1/chat/completions`) that generalizes already-scrubbed lethe text; its answer is scrubbed again, and on error or timeout the deterministic text stands (docs/privacy.md). Unset: off.",
  },
  STYX_ANONYMIZER_MODEL: { parse: parseString, doc: "Model name sent to the anonymizer endpoint (default gpt-4o-mini)." },
  STYX_ANONYMIZER_API_KEY: { parse: parseString, doc: "Bearer key for the anonymizer endpoint.", secret: true },
  STYX_ANONYMIZER_TIMEOUT: {
    parse: parseDurationIn(100, 120_000),
    default: "10s",
    doc: "Budget of one anonymizer request; the lethe publication waits at most this long for it, then keeps the deterministic text (writes never wait).",
  },
  STYX_LETHE_DELAY: { parse: parseDurationRange, default: "1h-6h", doc: "Lethe publication delay range `<min>-<max>` (ms, s, m, h)." },
  STYX_LETHE_K: {
    parse: parseInteger(1, 1000),
    default: "3",
    doc: "Distinct users a domain needs before its lethe entries publish (k-anonymity; 1 turns it off).",
  },
  STYX_PRICING: {
    parse: parseBool,
    default: "0",
    doc: "x402 pricing (SPEC §11): 0 — nothing is charged, no 402, no payment header read; 1 — priced routes answer 402 until paid in USDC. Needs STYX_X402_PAY_TO and STYX_X402_FACILITATOR_URL and a database (refused under amnesia).",
  },
  STYX_PRICES: {
    parse: parsePrices,
    default: "{}",
    doc: 'JSON object of operation → USD overriding SPEC §11.1\'s prices, e.g. `{"query": "0.003"}` (entry_write, query, pheromone_deposit, pheromone_sense, bloodstain, snapshot, causal_discover, listing, event_relay_per_1000).',
  },
  STYX_X402_PAY_TO: { parse: parseAddress, doc: "Pricing: the address paid (0x…, 40 hex digits)." },
  STYX_X402_FACILITATOR_URL: {
    parse: parseUrl(["http", "https"]),
    doc: "Pricing: the x402 facilitator (its /verify checks smart-wallet signatures, its /settle settles every payment).",
  },
  STYX_X402_FACILITATOR_TOKEN: { parse: parseString, doc: "Pricing: bearer token sent to the facilitator, if it needs one.", secret: true },
  STYX_X402_NETWORK: {
    parse: parseString,
    default: "eip155:8453",
    doc: "Pricing: CAIP-2 network: eip155:8453 (Base, USDC) or eip155:84532 (Base Sepolia, USDC); another needs STYX_X402_ASSET, _ASSET_NAME and _ASSET_VERSION.",
  },
  STYX_X402_ASSET: {
    parse: parseString,
    doc: "Pricing: the token contract, for a network other than Base and Base Sepolia (or to override theirs).",
  },
  STYX_X402_ASSET_NAME: { parse: parseString, doc: "Pricing: the token's EIP-712 domain name (Base USDC: `USD Coin`)." },
  STYX_X402_ASSET_VERSION: { parse: parseString, doc: "Pricing: the token's EIP-712 domain version (USDC: `2`)." },
  STYX_X402_VERIFY: {
    parse: parseOneOf(["local", "facilitator"] as const),
    default: "local",
    doc: "Pricing: `local` checks ordinary wallets' signatures offline and sends smart-wallet ones to the facilitator's /verify; `facilitator` sends every payment there.",
  },
  STYX_X402_MAX_TIMEOUT: {
    parse: parseDurationIn(30_000, 3_600_000),
    default: "300s",
    doc: "Pricing: `maxTimeoutSeconds` offered (how long a signed payment stays valid).",
  },
  STYX_SETTLE_INTERVAL: {
    parse: parseDurationIn(1000, 3_600_000),
    default: "60s",
    doc: "Pricing: longest an accepted payment waits for its settlement batch (a batch also starts at STYX_SETTLE_BATCH payments, or when one expires within 60 s).",
  },
  STYX_CREDIT_LOW: {
    parse: parseInteger(0, 1_000_000_000),
    default: "10000",
    doc: "Pricing: relay credit (in events) under which `styx:credit:low` is published once on the user's stream (again after a top-up lifts it above).",
  },
  STYX_SETTLE_BATCH: {
    parse: parseInteger(1, 10_000),
    default: "100",
    doc: "Pricing: accepted payments that start a settlement batch at once; the most one batch settles.",
  },
  STYX_X402_MIN_VALIDITY: {
    parse: parseDurationIn(0, 3_600_000),
    default: "120s",
    doc: "Pricing: how long a payment must still be valid when it arrives (time left to settle it).",
  },
  STYX_MARKETPLACE: {
    parse: parseBool,
    default: "0",
    doc: "The marketplace (SPEC §16): 1 — users list encrypted knowledge packages and buy them through x402 (needs STYX_PRICING=1); 0 — its routes answer 404 STYX_MARKETPLACE_DISABLED.",
  },
  STYX_LISTING_TTL: {
    parse: parseDurationIn(3_600_000, 180 * 86_400_000),
    default: "30d",
    doc: "Marketplace: how long a listing stays active when it names no ttl_seconds.",
  },
  STYX_LISTING_MAX_TTL: {
    parse: parseDurationIn(3_600_000, 3650 * 86_400_000),
    default: "180d",
    doc: "Marketplace: the longest ttl_seconds a listing may ask for.",
  },
  STYX_MARKETPLACE_RETENTION: {
    parse: parseDurationIn(0, 3650 * 86_400_000),
    default: "90d",
    doc: "Marketplace: how long after a listing expired or was withdrawn its ciphertext and escrow wrap are kept for buyers' downloads before the purge.",
  },
  STYX_PAYOUT_THRESHOLD: {
    parse: parseUsd,
    default: "10.00",
    doc: "Marketplace: a seller's payable USD at which the payout task makes a due payout without waiting for STYX_PAYOUT_INTERVAL.",
  },
  STYX_PAYOUT_INTERVAL: {
    parse: parseDurationIn(60_000, 366 * 86_400_000),
    default: "24h",
    doc: "Marketplace: how often every payable amount becomes a due payout (one per seller and payout address).",
  },
  STYX_ESCROW_KIDS: {
    parse: parseKids,
    default: "esc1",
    doc: "Marketplace: comma list of escrow key ids; each X25519 escrow key is derived from STYX_SECRET_KEY and its kid (the same on every gateway). The last is offered; adding a kid rotates, older ones still open their listings.",
  },
  STYX_RATE_LIMIT: { parse: parseRate, default: "50/s:100", doc: "Per-identity token bucket: rate/s:burst." },
  STYX_IP_RATE_LIMIT: { parse: parseRate, default: "200/s:400", doc: "Per-IP token bucket: rate/s:burst." },
  STYX_LIMIT_LEASE: {
    parse: parseDurationIn(0, 10_000),
    default: "100ms",
    doc: "Macronode: how much of a rate limit or windowed quota a gateway takes from Redis at once, as time. A gateway leases up to this long's worth of a bucket's rate (and blocks of at most 1 % of a quota), spends it without a Redis round trip and drops (buckets) or gives back (quotas) what it did not spend within it; the limits across gateways hold within one such lease (architecture.md). `0ms`: every take asks Redis.",
  },
  STYX_DEFAULT_TIER: {
    parse: parseOneOf(TIERS),
    default: "consumer",
    doc: "Tier of new users (SPEC §12: observer, consumer, contributor, steward); its request bucket is STYX_RATE_LIMIT.",
  },
  STYX_QUOTAS: {
    parse: parseQuotaOverrides,
    default: "{}",
    doc: 'Overrides of the tier table, JSON: `{"consumer":{"stored_bytes":1073741824,"rate":80,"burst":160}}` (cells: rate, burst, stored_bytes, entries_per_day, lethe_writes_per_day, deposits_per_minute, sockets_per_user, sockets_per_key, sockets_per_ip).',
  },
  STYX_LOG_LEVEL: {
    parse: parseOneOf(["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const),
    default: "info",
    doc: "Log level (pino).",
  },
  STYX_BODY_LIMIT: { parse: parseSize, default: "1mb", doc: "Largest request body, after decompression (413 above)." },
  STYX_BLOB_MAX_BYTES: {
    parse: parseSize,
    default: "64mb",
    doc: "Largest blob a `PUT /v1/styx/blobs` may store (413 above; nothing is kept).",
  },
  STYX_BLOB_GRACE: {
    parse: parseDurationIn(0, 365 * 86_400_000),
    default: "24h",
    doc: "How long a blob stays after the last entry referencing it was deleted or expired, before the hourly blob collection releases it (0 = at the next run). Blobs no entry ever referenced stay until their owner deletes them.",
  },
  STYX_ERASURE_STEP_PAUSE: {
    parse: parseDurationIn(0, 3_600_000),
    default: "0s",
    doc: "Pause between the steps of an erasure job (golem or user): spreads a large erasure's load over time. Each finished step is recorded, so a job stopped between steps resumes at the next one.",
  },
  STYX_TRUST_PROXY: {
    parse: parseTrustProxy,
    default: "0",
    doc: "Client IPs from X-Forwarded-For, for requests and socket upgrades alike (rate buckets, socket caps per IP, audit): `0` (no), a hop count, or trusted proxy addresses/CIDRs.",
  },
  STYX_HEADERS_TIMEOUT: {
    parse: parseDurationIn(1000, 600_000),
    default: "10s",
    doc: "Time a connection has to send a request's headers (a socket's upgrade included); slower ones get 408 STYX_REQUEST_TIMEOUT and are closed, within this plus at most 1 s. At most STYX_REQUEST_TIMEOUT.",
  },
  STYX_REQUEST_TIMEOUT: {
    parse: parseDurationIn(1000, 3_600_000),
    default: "120s",
    doc: "Time a request has to arrive whole, body included (408 STYX_REQUEST_TIMEOUT after it; long enough for a 64 MB blob at ~0.5 MB/s). Open sockets are not cut by it.",
  },
  STYX_KEEP_ALIVE_TIMEOUT: {
    parse: parseDurationIn(1000, 600_000),
    default: "5s",
    doc: "How long an idle keep-alive connection is kept open between requests. Behind a load balancer set it above the balancer's idle timeout (e.g. 65s behind a 60 s one).",
  },
  STYX_UNFINISHED_CONNECTIONS_PER_IP: {
    parse: parseInteger(1, 1_000_000),
    default: "32",
    doc: "Connections one address may hold open before their first request's headers are complete; more are dropped at once. Connections from a trusted proxy (STYX_TRUST_PROXY) are not capped: cap them at the proxy.",
  },
  STYX_SHUTDOWN_DRAIN: {
    parse: parseDurationIn(0, 300_000),
    default: "0s",
    doc: "On SIGTERM, how long /readyz answers 503 (reason draining) while everything else is still served, so a load balancer takes the gateway out before it stops listening (e.g. 10s behind Kubernetes or Nomad).",
  },
  STYX_SHUTDOWN_TIMEOUT: {
    parse: parseDurationIn(1000, 600_000),
    default: "10s",
    doc: "Longest graceful drain on SIGTERM before in-flight work is cut.",
  },
  STYX_SESSION_TTL: { parse: parseDurationIn(60_000, 30 * 86_400_000), default: "1h", doc: "Lifetime of a wallet session token." },
  STYX_PUBLIC_URL: {
    parse: parseOrigin,
    doc: "Public origin of this Styx (`https://styx.example.com`, no path): the domain and URI of the Sign-In with Ethereum message. Unset: `http://localhost:<STYX_PORT>`. Behind a proxy and on a macronode set it (the same on every gateway); its host must be a domain name with a dot, an IPv4 address or `localhost` (EIP-4361).",
  },
  STYX_MCP_ALLOWED_HOSTS: {
    parse: parseHostList,
    doc: "Host names (comma-separated, no port) that `/mcp` accepts in `Host` and `Origin` besides STYX_PUBLIC_URL's host (DNS-rebinding protection; `localhost`, `127.0.0.1` and `[::1]` are added when STYX_PUBLIC_URL is on localhost). Any other host answers 403.",
  },
  STYX_MCP_MAX_SESSIONS: {
    parse: parseInteger(1, 10_000),
    default: "8",
    doc: "Most open MCP sessions per user; one more answers 429 STYX_QUOTA_EXCEEDED (close one with `DELETE /mcp`, or let it idle out).",
  },
  STYX_MCP_SESSION_IDLE: {
    parse: parseDurationIn(10_000, 86_400_000),
    default: "10m",
    doc: "An MCP session without a request for this long is closed (its subscriptions end; the client initializes again).",
  },
  STYX_CHAIN_ID: {
    parse: parseInteger(1, Number.MAX_SAFE_INTEGER),
    default: "8453",
    doc: "EIP-155 chain id named by wallet sign-in (SIWE) and bound into bloodstain typed data (8453: Base). Signatures are still verified offline.",
  },
  STYX_INSTANCE_ID: {
    parse: parseInstanceId,
    doc: "This Styx's identity (`sx_` + 16 hex), bound into bloodstain typed data. Not secret. Unset: generated once and kept with the server's secrets (a file in the data dir; macronode: the cluster's database).",
  },
  STYX_UPSTREAM_URL: {
    parse: parseUrl(["http", "https"]),
    doc: "Federation (SPEC §17): the upstream Styx this one links to (its base URL, e.g. `https://styx.example`). Set with STYX_UPSTREAM_KEY, or neither.",
  },
  STYX_UPSTREAM_KEY: {
    parse: parseString,
    doc: "Federation: the API key the upstream issued this Styx, with the `federate` scope.",
    secret: true,
  },
  STYX_FEDERATE: {
    parse: parseFlows,
    default: "",
    doc: "Federation: the flows, each both ways unless suffixed `:up` or `:down`: `pheromone`, `lethe`, `causal`, `marketplace` (down only), e.g. `pheromone,lethe:down,marketplace`. Empty: nothing federates.",
  },
  STYX_FEDERATE_DOMAINS: {
    parse: parseFederatedDomains,
    default: "",
    doc: "Federation: the domains whose records flow (comma-separated, or `*` for all). Empty: none.",
  },
  STYX_UPSTREAM_NATS: {
    parse: parseBool,
    default: "0",
    doc: "Federation between macronodes over a NATS leaf node (SPEC §17.2 item 5): not built in this version, so only 0 is accepted; links go over the socket (down) and HTTP pushes (up) on every profile.",
  },
  STYX_FEDERATION_MAX_RECORDS: {
    parse: parseRate,
    default: "600/m:600",
    doc: "Federation: records a `federate` key may push (POST /v1/styx/federation/records): rate/m:burst (600 a minute), then 429.",
  },
  STYX_MAX_EVENT_LOOP_LAG: {
    parse: parseDurationIn(20, 60_000),
    default: "250ms",
    doc: "Event-loop lag above which writes are shed (reads at 4×).",
  },
  STYX_MAX_INFLIGHT: {
    parse: parseInteger(1, 1_000_000),
    default: "2048",
    doc: "In-flight requests above which writes are shed (reads at 2×).",
  },
  STYX_HEAVY_CONCURRENCY: {
    parse: parseInteger(1, 1_000_000),
    default: "8",
    doc: "Heavy work (queries, snapshots, batch writes) running at once in this process (macronode: per gateway), all users together; more waits its turn, round-robin across users.",
  },
  STYX_HEAVY_PER_USER: {
    parse: parseInteger(1, 1_000_000),
    default: "2",
    doc: "Heavy work running at once for one user (all its keys and sessions), per process.",
  },
  STYX_HEAVY_BUSY_LOOP: {
    parse: parseInteger(1, 100),
    default: "50",
    doc: "Event-loop utilization (percent, over the last ~100 ms) above which, while more than one user asks for heavy work (within 1 s), each user runs one heavy request at a time (STYX_HEAVY_PER_USER otherwise): on a busy loop a user's second piece adds little throughput, only turns that other users' requests wait behind. 100 turns the rule off.",
  },
  STYX_HEAVY_QUEUE: {
    parse: parseInteger(1, 1_000_000),
    default: "32",
    doc: "Heavy requests one user may have waiting; the next is refused with 429 STYX_RATE_LIMITED.",
  },
  STYX_HEAVY_QUEUE_TOTAL: {
    parse: parseInteger(1, 10_000_000),
    default: "1024",
    doc: "Heavy requests all users together may have waiting; the next is refused with 503 STYX_OVERLOADED.",
  },
  STYX_WS_PING_INTERVAL: {
    parse: parseDurationIn(100, 600_000),
    default: "20s",
    doc: "Server ping interval on sockets; three unanswered pings close the socket (4009).",
  },
  STYX_WS_AUTH_TIMEOUT: {
    parse: parseDurationIn(100, 60_000),
    default: "5s",
    doc: "Time a socket without credentials at upgrade has to send its `auth` message.",
  },
  STYX_WS_SEND_QUEUE: {
    parse: parseSize,
    default: "4mb",
    doc: "Bytes a socket may have waiting to be sent; a reader that falls further behind is closed with 4008.",
  },
  STYX_WS_MAX_CONNECTIONS: {
    parse: parseInteger(1, 1_000_000),
    default: "20000",
    doc: "Open sockets per process, a safety cap (more are refused with 503); the caps per user, key and IP are the tier's (SPEC §12, STYX_QUOTAS: 429 STYX_QUOTA_EXCEEDED at the upgrade).",
  },
  STYX_WS_DEFLATE: {
    parse: parseBool,
    default: "0",
    doc: "permessage-deflate on sockets (no context takeover, frames ≥ 1 KiB); off by default: it costs ~10× broadcast throughput.",
  },
  STYX_WS_FANOUT_TICK: {
    parse: parseDurationIn(1, 1000),
    default: "25ms",
    doc: "Domain and public fan-out tick: events of one domain within a tick share one frame.",
  },
  STYX_PULSE_INTERVAL: {
    parse: parseDurationIn(1000, 3_600_000),
    default: "60s",
    doc: "How often the leader recomputes the ecosystem pulse, stores it for every gateway and announces it (`styx:pulse`).",
  },
  STYX_STORAGE_CAPACITY: {
    parse: parsePositiveSize,
    doc: "Provisioned storage the data fills (database + blobs + history, `styx_storage_bytes`), e.g. `50gb` or `2tb`: exported as `styx_storage_capacity_bytes`, and the StyxStorageNearlyFull alert fires past 80 % of it. Unset: no capacity is known and that alert stays silent.",
  },
  STYX_HISTORY_RETENTION: {
    parse: parseDurationIn(60_000, 3650 * 86_400_000),
    default: "7d",
    doc: "How long cold stream archives are kept (hot: last 1,000 events per stream in memory; warm: last 10,000 in the store).",
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    parse: parseUrl(["http", "https"]),
    doc: 'OpenTelemetry tracing (README "Tracing"): the OTLP/HTTP collector\'s base URL, e.g. `http://localhost:4318`; spans go to `<url>/v1/traces`. Unset: tracing is off and no OpenTelemetry package is loaded.',
  },
  OTEL_EXPORTER_OTLP_PROTOCOL: {
    parse: parseOneOf(["http/protobuf", "http/json"] as const),
    default: "http/protobuf",
    doc: "Encoding of the OTLP export: `http/protobuf` or `http/json` (gRPC is not offered).",
  },
  OTEL_EXPORTER_OTLP_HEADERS: {
    parse: parseOtlpHeaders,
    doc: "Headers sent with every export, `key=value` pairs separated by commas, values URL-encoded (e.g. `authorization=Bearer%20abc`).",
    secret: true,
  },
  OTEL_SERVICE_NAME: { parse: parseString, default: "styx", doc: "`service.name` of the exported spans." },
  OTEL_TRACES_SAMPLER_ARG: {
    parse: parseRatio,
    default: "1",
    doc: "Share of new traces recorded (0-1); a request that carries a `traceparent` follows its caller's sampled flag (parent-based sampling).",
  },
} as const satisfies Record<string, Setting<unknown>>;

/** A configuration variable name. */
export type SettingName = keyof typeof SETTINGS;

type Parsed<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]["parse"]>;

/** Raw parsed values by variable name; optional where there is no default. */
export type RawConfig = {
  [K in SettingName]: (typeof SETTINGS)[K] extends { default: string } ? Parsed<K> : Parsed<K> | undefined;
};

/** A USD amount ("10.00") as atomic units, above 0. */
function parseUsd(raw: string): number {
  const atomic = usdToAtomic(raw.trim());
  if (atomic <= 0) throw new Error("must be above 0");
  return atomic;
}

/** Escrow key ids: a comma list of 1–16 tokens of [a-z0-9_-], at most 32 characters each, no repeat. */
function parseKids(raw: string): string[] {
  const kids = raw.split(",").map((k) => k.trim());
  if (kids.length > 16 || kids.some((k) => !/^[a-z0-9_-]{1,32}$/.test(k)))
    throw new Error("must be a comma list of up to 16 ids of a-z, 0-9, _ and -");
  if (new Set(kids).size !== kids.length) throw new Error("names a kid twice");
  return kids;
}

/** OTEL_EXPORTER_OTLP_HEADERS: `k=v,k2=v2` (the OpenTelemetry form, values URL-decoded) → a Map. */
function parseOtlpHeaders(raw: string): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    const key = pair.slice(0, at).trim().toLowerCase();
    if (at <= 0 || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) throw new Error("must be key=value pairs separated by commas");
    let value: string;
    try {
      value = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new Error(`the value of ${key} is not URL-encoded`);
    }
    if (/[\r\n]/.test(value)) throw new Error(`the value of ${key} holds a line break`);
    headers.set(key, value);
  }
  return headers;
}

/** A number from 0 to 1. */
function parseRatio(raw: string): number {
  const n = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) throw new Error("must be a number from 0 to 1");
  return n;
}

function parseClusterName(raw: string): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(raw)) throw new Error("must be 1-40 of a-z, 0-9, _ and start with a letter");
  return raw;
}

function parseSecretKey(raw: string): string {
  SecretKey.fromBase64(raw);
  return raw.trim();
}

function parseInstanceId(raw: string): string {
  if (!INSTANCE_ID_PATTERN.test(raw.trim())) throw new Error("must be sx_ followed by 16 lowercase hex characters");
  return raw.trim();
}

function parsePositiveSize(raw: string): number {
  const n = parseSize(raw);
  if (n <= 0) throw new Error("must be a size above 0, such as 50gb or 2tb");
  return n;
}

function parseAdminToken(raw: string): string {
  if (raw.length < 16) throw new Error("must be at least 16 characters");
  return raw;
}
