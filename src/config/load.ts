import { readFileSync } from "node:fs";
import type { FederatedDomains, Flows } from "../core/federation/flows.js";
import type { Tier } from "../core/identity/types.js";
import type { PriceTable } from "../core/payments/money.js";
import { type PaymentNetwork, resolveNetwork } from "../core/payments/networks.js";
import type { BucketSpec } from "../core/platform/rate-limiter.js";
import { tierTable, type UserLimits } from "../core/quota/limits.js";
import { type RawConfig, SETTINGS, type SettingName } from "./schema.js";

/** How Styx charges (STYX_PRICING=1): network and token, payee, facilitator, prices, checks. */
/** The marketplace's settings (SPEC §16.3). Durations in ms, amounts in atomic units. */
export interface MarketplaceConfig {
  readonly listingTtlMs: number;
  readonly listingMaxTtlMs: number;
  readonly retentionMs: number;
  readonly payoutThreshold: number;
  readonly payoutIntervalMs: number;
  /** Escrow key ids, oldest first; the last is offered to sellers. */
  readonly escrowKids: readonly string[];
}

export interface X402Config {
  readonly network: PaymentNetwork;
  readonly payTo: string;
  readonly facilitatorUrl: string;
  readonly facilitatorToken: string | undefined;
  readonly prices: PriceTable;
  readonly verify: "local" | "facilitator";
  /** Seconds. */
  readonly maxTimeoutSeconds: number;
  /** Seconds. */
  readonly minValiditySeconds: number;
  /** Settlement: longest wait of an accepted payment (ms) and the batch size. */
  readonly settleIntervalMs: number;
  readonly settleBatch: number;
  /** STYX_CREDIT_LOW: relay credit, in events, under which `styx:credit:low` goes out. */
  readonly creditLowEvents: number;
}

/** Federation (SPEC §17): the upstream link, what flows, and the push limit of the federate keys this Styx issues. */
export interface FederationConfig {
  /** The upstream's base URL and key; undefined: this Styx links to no upstream (it may still serve downstreams). */
  readonly upstream: { readonly url: string; readonly key: string } | undefined;
  readonly flows: Flows;
  readonly domains: FederatedDomains;
  /** STYX_UPSTREAM_NATS: records over a NATS leaf node (macronodes); refused while that transport is not built. */
  readonly nats: boolean;
  /** Records a federate key may push per minute, as a token bucket. */
  readonly maxRecords: BucketSpec;
}

/** OpenTelemetry tracing (the OTEL_* variables): on while OTEL_EXPORTER_OTLP_ENDPOINT is set. */
export interface TracingConfig {
  /** The collector's base URL; spans are posted to `<endpoint>/v1/traces`. */
  readonly endpoint: string;
  readonly protocol: "http/protobuf" | "http/json";
  readonly headers: ReadonlyMap<string, string>;
  readonly serviceName: string;
  /** Share of new traces sampled (parent-based: a caller's sampled flag is followed). */
  readonly sampleRatio: number;
}

/** The validated, frozen configuration passed down from the composition root. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly profile: "micro" | "macro";
  readonly dataDir: string;
  readonly amnesia: boolean;
  /** Undefined: the composition root generates one (and stores it unless amnesia). */
  readonly adminToken: string | undefined;
  /**
   * STYX_SECRET_KEY as given (base64; validated). Undefined: a micronode generates one into its
   * data dir (amnesia: memory); a macronode refuses to start (checked here).
   */
  readonly secretKey: string | undefined;
  /** Macronode: names this Styx's schema, stream, key and object prefixes on shared services. */
  readonly cluster: string;
  readonly databaseUrl: string | undefined;
  readonly natsUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly s3: {
    readonly endpoint: string | undefined;
    readonly bucket: string | undefined;
    readonly region: string;
    readonly accessKeyId: string | undefined;
    readonly secretAccessKey: string | undefined;
  };
  readonly embedDim: number;
  readonly embedderUrl: string | undefined;
  readonly embedderModel: string | undefined;
  readonly embedderApiKey: string | undefined;
  /** The optional last stage of the anonymizer (SPEC §4.2 step 8); off while `url` is undefined. */
  readonly anonymizer: {
    readonly url: string | undefined;
    readonly model: string | undefined;
    readonly apiKey: string | undefined;
    readonly timeoutMs: number;
  };
  readonly letheDelay: { readonly minMs: number; readonly maxMs: number };
  /** Distinct users a domain needs before its lethe entries publish (STYX_LETHE_K; 1 = off). */
  readonly letheK: number;
  readonly pricing: boolean;
  /** x402 payments (SPEC §11): undefined while pricing is off. */
  readonly x402: X402Config | undefined;
  /** The marketplace (SPEC §16): undefined while STYX_MARKETPLACE=0. */
  readonly marketplace: MarketplaceConfig | undefined;
  readonly federation: FederationConfig;
  readonly rateLimit: BucketSpec;
  readonly ipRateLimit: BucketSpec;
  /** STYX_LIMIT_LEASE: how long's worth of a rate (and of a quota block) a macronode gateway leases from Redis, ms; 0: none. */
  readonly limitLeaseMs: number;
  /** Per-user limits (SPEC §12): new users' tier and the tier table in force (defaults, STYX_RATE_LIMIT, STYX_QUOTAS). */
  readonly quotas: { readonly defaultTier: Tier; readonly table: Readonly<Record<Tier, UserLimits>> };
  readonly logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  readonly bodyLimit: number;
  /** Largest blob a PUT may store. */
  readonly blobMaxBytes: number;
  /** How long an orphaned blob reference (its last entry gone) is kept before collection (STYX_BLOB_GRACE), ms. */
  readonly blobGraceMs: number;
  /** STYX_ERASURE_STEP_PAUSE: pause between the steps of an erasure job (ms). */
  readonly erasureStepPauseMs: number;
  readonly trustProxy: false | number | string[];
  /** Node HTTP server timers and the cap on connections that have not sent their headers yet. */
  readonly http: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly keepAliveTimeoutMs: number;
    readonly unfinishedConnectionsPerIp: number;
  };
  readonly shutdownTimeoutMs: number;
  /** How long /readyz answers 503 before a shutdown stops listening (STYX_SHUTDOWN_DRAIN). */
  readonly shutdownDrainMs: number;
  readonly sessionTtlMs: number;
  /** The MCP endpoint: extra allowed hosts, sessions per user, idle timeout. */
  readonly mcp: { readonly allowedHosts: readonly string[]; readonly maxSessionsPerUser: number; readonly sessionIdleMs: number };
  /** The public origin (STYX_PUBLIC_URL, canonical; default `http://localhost:<port>`): the SIWE domain and URI. */
  readonly publicUrl: string;
  /** EIP-155 chain id of wallet sign-in and bloodstain typed data (STYX_CHAIN_ID). */
  readonly chainId: number;
  /** STYX_INSTANCE_ID as given; undefined: the composition root generates one and keeps it with the secrets. */
  readonly instanceId: string | undefined;
  readonly maxEventLoopLagMs: number;
  readonly maxInflight: number;
  /** Fair admission of heavy work (SPEC §12), per process: limits of core/platform/fair-queue.ts. */
  readonly heavy: {
    readonly concurrency: number;
    readonly perUser: number;
    readonly queuePerUser: number;
    readonly queueTotal: number;
    /** Loop utilization (percent) above which each user runs one piece at a time; 100: never. */
    readonly busyLoopPercent: number;
  };
  /** Sockets and stream history (SPEC §9). */
  readonly ws: {
    readonly pingIntervalMs: number;
    readonly authTimeoutMs: number;
    readonly sendQueueBytes: number;
    readonly maxConnections: number;
    readonly deflate: boolean;
    readonly fanoutTickMs: number;
  };
  readonly historyRetentionMs: number;
  /** How often the pulse is recomputed (ms). */
  readonly pulseIntervalMs: number;
  /** Provisioned storage in bytes (STYX_STORAGE_CAPACITY), if known. */
  readonly storageCapacityBytes: number | undefined;
  /** OpenTelemetry tracing; undefined (off, nothing of OpenTelemetry loaded) while OTEL_EXPORTER_OTLP_ENDPOINT is unset. */
  readonly tracing: TracingConfig | undefined;
  /** Variables that look like Styx settings but are not (likely typos). */
  readonly warnings: readonly string[];
}

/** Raised when configuration is invalid; `problems` lists every bad variable, by name. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** Source strings for settings, by variable name (e.g. CLI flags turned into overrides). */
export type ConfigOverrides = Partial<Record<SettingName | "STYX_CONFIG_FILE", string>>;

/**
 * Builds the configuration: defaults, then the JSON file named by `STYX_CONFIG` (same keys),
 * then the environment, then `overrides`. The only reader of `process.env` in Styx.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: ConfigOverrides = {}): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const sources: Record<string, string> = {};
  const file = overrides.STYX_CONFIG_FILE ?? env.STYX_CONFIG;
  if (file) Object.assign(sources, readConfigFile(file, problems));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined || k === "STYX_CONFIG") continue;
    // The OpenTelemetry variables Styx reads keep their standard names; other OTEL_* ones belong to other programs.
    if (k.startsWith("OTEL_") && Object.hasOwn(SETTINGS, k)) sources[k] = v;
    if (!k.startsWith("STYX_")) continue;
    if (Object.hasOwn(SETTINGS, k)) sources[k] = v;
    else warnings.push(`${k} is not a Styx setting and was ignored`);
  }
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined && k !== "STYX_CONFIG_FILE") sources[k] = v;

  const raw: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const given = sources[name];
    const text = given !== undefined && given !== "" ? given : "default" in s ? s.default : undefined;
    if (text === undefined) continue;
    try {
      raw[name] = s.parse(text);
    } catch (err) {
      const shown = "secret" in s && s.secret ? "(hidden)" : JSON.stringify(text);
      problems.push(`${name}: ${(err as Error).message} (got ${shown})`);
    }
  }
  const r = raw as RawConfig;
  if (problems.length === 0) checkProfile(r, problems);
  const x402 = problems.length === 0 ? checkPricing(r, problems) : undefined;
  if (problems.length === 0 && r.STYX_MARKETPLACE && !r.STYX_PRICING)
    problems.push("STYX_MARKETPLACE: the marketplace sells through x402 and needs STYX_PRICING=1 (SPEC §16)");
  if (problems.length === 0 && r.STYX_LISTING_TTL > r.STYX_LISTING_MAX_TTL)
    problems.push("STYX_LISTING_TTL: must be at most STYX_LISTING_MAX_TTL");
  // Node refuses a headers timeout above the request timeout (the headers are part of the request).
  if (problems.length === 0 && r.STYX_HEADERS_TIMEOUT > r.STYX_REQUEST_TIMEOUT)
    problems.push("STYX_HEADERS_TIMEOUT: must be at most STYX_REQUEST_TIMEOUT");
  if (problems.length === 0) checkFederation(r, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    host: r.STYX_HOST,
    port: r.STYX_PORT,
    profile: r.STYX_PROFILE,
    dataDir: r.STYX_DATA_DIR,
    amnesia: r.STYX_AMNESIA,
    adminToken: r.STYX_ADMIN_TOKEN,
    secretKey: r.STYX_SECRET_KEY,
    cluster: r.STYX_CLUSTER,
    databaseUrl: r.STYX_DATABASE_URL,
    natsUrl: r.STYX_NATS_URL,
    redisUrl: r.STYX_REDIS_URL,
    s3: {
      endpoint: r.STYX_S3_ENDPOINT,
      bucket: r.STYX_S3_BUCKET,
      region: r.STYX_S3_REGION,
      accessKeyId: r.STYX_S3_ACCESS_KEY_ID,
      secretAccessKey: r.STYX_S3_SECRET_ACCESS_KEY,
    },
    embedDim: r.STYX_EMBED_DIM,
    embedderUrl: r.STYX_EMBEDDER_URL,
    embedderModel: r.STYX_EMBEDDER_MODEL,
    embedderApiKey: r.STYX_EMBEDDER_API_KEY,
    anonymizer: {
      url: r.STYX_ANONYMIZER_URL,
      model: r.STYX_ANONYMIZER_MODEL,
      apiKey: r.STYX_ANONYMIZER_API_KEY,
      timeoutMs: r.STYX_ANONYMIZER_TIMEOUT,
    },
    letheDelay: r.STYX_LETHE_DELAY,
    letheK: r.STYX_LETHE_K,
    pricing: r.STYX_PRICING,
    x402,
    marketplace: r.STYX_MARKETPLACE
      ? {
          listingTtlMs: r.STYX_LISTING_TTL,
          listingMaxTtlMs: r.STYX_LISTING_MAX_TTL,
          retentionMs: r.STYX_MARKETPLACE_RETENTION,
          payoutThreshold: r.STYX_PAYOUT_THRESHOLD,
          payoutIntervalMs: r.STYX_PAYOUT_INTERVAL,
          escrowKids: r.STYX_ESCROW_KIDS,
        }
      : undefined,
    federation: {
      upstream:
        r.STYX_UPSTREAM_URL !== undefined && r.STYX_UPSTREAM_KEY !== undefined
          ? { url: r.STYX_UPSTREAM_URL, key: r.STYX_UPSTREAM_KEY }
          : undefined,
      flows: r.STYX_FEDERATE,
      domains: r.STYX_FEDERATE_DOMAINS,
      nats: r.STYX_UPSTREAM_NATS,
      maxRecords: r.STYX_FEDERATION_MAX_RECORDS,
    },
    rateLimit: r.STYX_RATE_LIMIT,
    ipRateLimit: r.STYX_IP_RATE_LIMIT,
    limitLeaseMs: r.STYX_LIMIT_LEASE,
    quotas: { defaultTier: r.STYX_DEFAULT_TIER, table: tierTable(r.STYX_DEFAULT_TIER, r.STYX_RATE_LIMIT, r.STYX_QUOTAS) },
    logLevel: r.STYX_LOG_LEVEL,
    bodyLimit: r.STYX_BODY_LIMIT,
    blobMaxBytes: r.STYX_BLOB_MAX_BYTES,
    blobGraceMs: r.STYX_BLOB_GRACE,
    erasureStepPauseMs: r.STYX_ERASURE_STEP_PAUSE,
    trustProxy: r.STYX_TRUST_PROXY,
    http: {
      headersTimeoutMs: r.STYX_HEADERS_TIMEOUT,
      requestTimeoutMs: r.STYX_REQUEST_TIMEOUT,
      keepAliveTimeoutMs: r.STYX_KEEP_ALIVE_TIMEOUT,
      unfinishedConnectionsPerIp: r.STYX_UNFINISHED_CONNECTIONS_PER_IP,
    },
    shutdownTimeoutMs: r.STYX_SHUTDOWN_TIMEOUT,
    shutdownDrainMs: r.STYX_SHUTDOWN_DRAIN,
    sessionTtlMs: r.STYX_SESSION_TTL,
    mcp: {
      allowedHosts: r.STYX_MCP_ALLOWED_HOSTS ?? [],
      maxSessionsPerUser: r.STYX_MCP_MAX_SESSIONS,
      sessionIdleMs: r.STYX_MCP_SESSION_IDLE,
    },
    publicUrl: r.STYX_PUBLIC_URL ?? `http://localhost:${r.STYX_PORT}`,
    chainId: r.STYX_CHAIN_ID,
    instanceId: r.STYX_INSTANCE_ID,
    maxEventLoopLagMs: r.STYX_MAX_EVENT_LOOP_LAG,
    maxInflight: r.STYX_MAX_INFLIGHT,
    heavy: {
      concurrency: r.STYX_HEAVY_CONCURRENCY,
      perUser: r.STYX_HEAVY_PER_USER,
      queuePerUser: r.STYX_HEAVY_QUEUE,
      queueTotal: r.STYX_HEAVY_QUEUE_TOTAL,
      busyLoopPercent: r.STYX_HEAVY_BUSY_LOOP,
    },
    ws: {
      pingIntervalMs: r.STYX_WS_PING_INTERVAL,
      authTimeoutMs: r.STYX_WS_AUTH_TIMEOUT,
      sendQueueBytes: r.STYX_WS_SEND_QUEUE,
      maxConnections: r.STYX_WS_MAX_CONNECTIONS,
      deflate: r.STYX_WS_DEFLATE,
      fanoutTickMs: r.STYX_WS_FANOUT_TICK,
    },
    historyRetentionMs: r.STYX_HISTORY_RETENTION,
    pulseIntervalMs: r.STYX_PULSE_INTERVAL,
    storageCapacityBytes: r.STYX_STORAGE_CAPACITY,
    tracing:
      r.OTEL_EXPORTER_OTLP_ENDPOINT === undefined
        ? undefined
        : {
            endpoint: r.OTEL_EXPORTER_OTLP_ENDPOINT,
            protocol: r.OTEL_EXPORTER_OTLP_PROTOCOL,
            headers: r.OTEL_EXPORTER_OTLP_HEADERS ?? new Map(),
            serviceName: r.OTEL_SERVICE_NAME,
            sampleRatio: r.OTEL_TRACES_SAMPLER_ARG,
          },
    warnings,
  });
}

function readConfigFile(file: string, problems: string[]): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    problems.push(`STYX_CONFIG: cannot read ${file} as JSON (${(err as Error).message})`);
    return {};
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    problems.push(`STYX_CONFIG: ${file} must hold a JSON object of STYX_* keys`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    // Own keys only: `constructor` or `__proto__` in a config file is an unknown key, not a member of Object.prototype.
    if (!Object.hasOwn(SETTINGS, k)) problems.push(`STYX_CONFIG: ${file} sets unknown key ${k}`);
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") out[k] = String(v);
    else problems.push(`${k}: in ${file} must be a string, number or boolean`);
  }
  return out;
}

function checkProfile(r: RawConfig, problems: string[]): void {
  if (r.STYX_PROFILE !== "macro") return;
  if (r.STYX_AMNESIA) problems.push("STYX_AMNESIA: amnesia is a micronode mode (STYX_PROFILE=micro)");
  const needed: [SettingName, unknown][] = [
    ["STYX_DATABASE_URL", r.STYX_DATABASE_URL],
    ["STYX_NATS_URL", r.STYX_NATS_URL],
    ["STYX_REDIS_URL", r.STYX_REDIS_URL],
    ["STYX_S3_BUCKET", r.STYX_S3_BUCKET],
  ];
  for (const [name, v] of needed) if (v === undefined) problems.push(`${name}: required when STYX_PROFILE=macro`);
  // Never generated on a macronode: it would have to be stored where every gateway finds it,
  // which is the database, and a copy of the database must not hold it (SPEC §3).
  if (r.STYX_SECRET_KEY === undefined)
    problems.push(
      "STYX_SECRET_KEY: required when STYX_PROFILE=macro (base64 of ≥ 32 random bytes, e.g. `openssl rand -base64 32`; the same value on every gateway, kept outside the database)",
    );
}

/** Pricing's settings, or undefined while it is off; its problems are added to `problems`. */
function checkFederation(r: RawConfig, problems: string[]): void {
  if ((r.STYX_UPSTREAM_URL === undefined) !== (r.STYX_UPSTREAM_KEY === undefined))
    problems.push("STYX_UPSTREAM_URL, STYX_UPSTREAM_KEY: set both (the upstream and the federate key it issued this Styx) or neither");
  if (r.STYX_UPSTREAM_NATS)
    problems.push(
      "STYX_UPSTREAM_NATS: the NATS leaf-node transport is not built in this version; leave it 0 (links go over the socket and HTTP)",
    );
  if (
    r.STYX_UPSTREAM_URL === undefined &&
    (r.STYX_FEDERATE.size > 0 || !(!r.STYX_FEDERATE_DOMAINS.all && r.STYX_FEDERATE_DOMAINS.names.size === 0))
  )
    problems.push("STYX_FEDERATE, STYX_FEDERATE_DOMAINS: federation needs an upstream (STYX_UPSTREAM_URL and STYX_UPSTREAM_KEY)");
  if (r.STYX_FEDERATE.get("marketplace")?.down && r.STYX_MARKETPLACE)
    problems.push(
      "STYX_FEDERATE, STYX_MARKETPLACE: a Styx serves its own marketplace or its upstream's (the marketplace flow), not both: drop one",
    );
}

function checkPricing(r: RawConfig, problems: string[]): X402Config | undefined {
  if (!r.STYX_PRICING) return undefined;
  // A payment is durable or it is not a payment: the ledger's replay protection and settlement need a database.
  if (r.STYX_AMNESIA)
    problems.push("STYX_PRICING: pricing keeps a payments ledger, which amnesia cannot hold (use a data dir or a macronode)");
  if (r.STYX_X402_PAY_TO === undefined) problems.push("STYX_X402_PAY_TO: required when STYX_PRICING=1");
  if (r.STYX_X402_FACILITATOR_URL === undefined)
    problems.push("STYX_X402_FACILITATOR_URL: required when STYX_PRICING=1 (every payment is settled through it)");
  let network: PaymentNetwork | undefined;
  try {
    network = resolveNetwork(r.STYX_X402_NETWORK, {
      ...(r.STYX_X402_ASSET === undefined ? {} : { address: r.STYX_X402_ASSET }),
      ...(r.STYX_X402_ASSET_NAME === undefined ? {} : { name: r.STYX_X402_ASSET_NAME }),
      ...(r.STYX_X402_ASSET_VERSION === undefined ? {} : { version: r.STYX_X402_ASSET_VERSION }),
    });
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (r.STYX_X402_MIN_VALIDITY >= r.STYX_X402_MAX_TIMEOUT)
    problems.push("STYX_X402_MIN_VALIDITY: must be below STYX_X402_MAX_TIMEOUT (a fresh payment would be refused)");
  if (r.STYX_PRICES.event_relay_per_1000 % 1000 !== 0)
    problems.push("STYX_PRICES: event_relay_per_1000 must be a multiple of 0.001 USD (one event costs a whole number of atomic units)");
  if (problems.length > 0 || !network || r.STYX_X402_PAY_TO === undefined || r.STYX_X402_FACILITATOR_URL === undefined) return undefined;
  return {
    network,
    payTo: r.STYX_X402_PAY_TO,
    facilitatorUrl: r.STYX_X402_FACILITATOR_URL,
    facilitatorToken: r.STYX_X402_FACILITATOR_TOKEN,
    prices: r.STYX_PRICES,
    verify: r.STYX_X402_VERIFY,
    maxTimeoutSeconds: Math.round(r.STYX_X402_MAX_TIMEOUT / 1000),
    minValiditySeconds: Math.round(r.STYX_X402_MIN_VALIDITY / 1000),
    settleIntervalMs: r.STYX_SETTLE_INTERVAL,
    settleBatch: r.STYX_SETTLE_BATCH,
    creditLowEvents: r.STYX_CREDIT_LOW,
  };
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (typeof v === "object" && v !== null) deepFreeze(v);
  return Object.freeze(o);
}
