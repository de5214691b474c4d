import type { FastifyInstance } from "fastify";
import { ViemSignatureVerifier } from "../adapters/evm/viem-signature-verifier.js";
import { MemoryRateLimiter } from "../adapters/memory/memory-rate-limiter.js";
import type { Config } from "../config/load.js";
import { AuthService } from "../core/identity/auth-service.js";
import { IdentityService } from "../core/identity/identity-service.js";
import { Tenancy } from "../core/identity/tenancy.js";
import type { AuditLog } from "../core/platform/audit.js";
import { type Clock, systemClock } from "../core/platform/clock.js";
import { initCrypto } from "../core/platform/crypto.js";
import { createServer } from "../server/app.js";
import { LoadMonitor } from "../server/load-monitor.js";
import { Metrics } from "../server/metrics.js";
import { type AdminToken, resolveAdminToken } from "./admin-token.js";
import { openStorage, type Storage } from "./storage.js";
import { VERSION } from "./version.js";

/** A wired Styx process: the HTTP app and the services behind it. */
export interface Styx {
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly adminToken: AdminToken;
  readonly identity: IdentityService;
  readonly audit: AuditLog;
  readonly storage: Storage;
  /** Load shedding decisions (sampled every second while listening). */
  readonly load: LoadMonitor;
  /** Listens on the configured host and port; resolves with the URL. */
  listen(): Promise<string>;
  /** Graceful stop: refuse new requests, drain in-flight ones, close stores. Idempotent. */
  close(): Promise<void>;
}

/** Options for tests and embedding. */
export interface BuildOptions {
  readonly clock?: Clock;
  readonly logStream?: NodeJS.WritableStream;
}

/** The composition root: picks adapters for the profile and wires services, server and monitors. */
export async function buildStyx(config: Config, options: BuildOptions = {}): Promise<Styx> {
  await initCrypto();
  const clock = options.clock ?? systemClock;
  const storage = openStorage(config, clock);
  try {
    const adminToken = resolveAdminToken(config);
    const tenancy = new Tenancy({ identity: storage.identity, audit: storage.audit });
    const identity = new IdentityService({ store: storage.identity, audit: storage.audit, clock });
    const auth = new AuthService({
      store: storage.identity,
      audit: storage.audit,
      clock,
      verifier: new ViemSignatureVerifier(),
      options: { adminToken: adminToken.token, challengeTtlMs: 5 * 60_000, sessionTtlMs: config.sessionTtlMs },
    });
    const metrics = new Metrics();
    const load = new LoadMonitor({
      maxLagMs: config.maxEventLoopLagMs,
      maxInflight: config.maxInflight,
      inflight: () => metrics.inflightNow,
      dependencies: storage.checks,
    });
    let closing = false;
    const app = await createServer({
      version: VERSION,
      profile: config.profile,
      amnesia: config.amnesia,
      logLevel: config.logLevel,
      bodyLimit: config.bodyLimit,
      trustProxy: config.trustProxy,
      clock,
      auth,
      identity,
      tenancy,
      audit: storage.audit,
      limiter: new MemoryRateLimiter(clock),
      rateLimit: config.rateLimit,
      ipRateLimit: config.ipRateLimit,
      dependencies: storage.checks,
      load,
      metrics,
      closing: () => closing,
      ...(options.logStream ? { logStream: options.logStream } : {}),
    });
    let closed: Promise<void> | undefined;
    return {
      config,
      app,
      adminToken,
      identity,
      audit: storage.audit,
      storage,
      load,
      async listen() {
        load.start();
        return app.listen({ host: config.host, port: config.port });
      },
      close() {
        closed ??= (async () => {
          closing = true;
          load.stop();
          await app.close();
          await storage.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}
