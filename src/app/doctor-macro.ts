import { jetStreamAccount } from "../adapters/nats/jetstream-account.js";
import { connectNats } from "../adapters/nats/nats-connection.js";
import { openPostgres, POSTGRES_SCHEMA_VERSION, postgresSchemaVersion } from "../adapters/postgres/database.js";
import { postgresServerVersion } from "../adapters/postgres/postgres-health.js";
import { connectRedis } from "../adapters/redis/redis-connection.js";
import { S3BlobStore } from "../adapters/s3/s3-blob-store.js";
import type { Config } from "../config/load.js";
import type { Finding } from "./doctor.js";
import { s3Options } from "./macro-storage.js";

/** Shown for a URL: scheme, host and port, never credentials. */
function shown(raw: string): string {
  const u = new URL(raw);
  return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ""}`;
}

/** PostgreSQL reached, its version, and the cluster schema's version against this build's. */
async function checkPostgres(url: string, schema: string): Promise<Finding[]> {
  const sql = openPostgres(url, { schema, max: 1, connectTimeoutS: 3 });
  try {
    const version = await postgresServerVersion(sql);
    const v = await postgresSchemaVersion(sql, schema);
    const schemaFinding: Finding =
      v === POSTGRES_SCHEMA_VERSION
        ? { level: "ok", what: "schema", detail: `${schema} at version ${v}` }
        : {
            level: v > POSTGRES_SCHEMA_VERSION ? "fail" : "warn",
            what: "schema",
            detail: `${schema} at version ${v}, this build expects ${POSTGRES_SCHEMA_VERSION} (run styx migrate)`,
          };
    return [{ level: "ok", what: "postgres", detail: `${shown(url)}: PostgreSQL ${version ?? "?"}` }, schemaFinding];
  } catch (err) {
    return [{ level: "fail", what: "postgres", detail: `${shown(url)}: ${(err as Error).message}` }];
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** NATS reached within 3 s, with JetStream on. */
async function checkNats(url: string): Promise<Finding> {
  let nats: Awaited<ReturnType<typeof connectNats>> | undefined;
  try {
    nats = await Promise.race([
      connectNats({ url, name: "styx-doctor" }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no connection within 3 s")), 3000).unref()),
    ]);
    const account = await jetStreamAccount(nats);
    return {
      level: "ok",
      what: "nats",
      detail: `${shown(url)}: JetStream on, ${account.streams} stream(s), server ${account.server ?? "?"}`,
    };
  } catch (err) {
    return { level: "fail", what: "nats", detail: `${shown(url)}: ${(err as Error).message} (the server must run with JetStream: -js)` };
  } finally {
    await nats?.close().catch(() => {});
  }
}

/** Redis reached, answering PING. */
async function checkRedis(url: string, cluster: string): Promise<Finding> {
  try {
    const redis = await connectRedis({ url, prefix: `${cluster}:` }, 3000);
    try {
      const status = await redis.check();
      return status.status === "up"
        ? { level: "ok", what: "redis", detail: `${shown(url)}: PING ${status.latency_ms} ms` }
        : { level: "fail", what: "redis", detail: `${shown(url)}: ${status.detail ?? "down"}` };
    } finally {
      await redis.close();
    }
  } catch (err) {
    return { level: "fail", what: "redis", detail: `${shown(url)}: ${(err as Error).message}` };
  }
}

/** The S3 bucket reachable with the configured credentials. */
async function checkS3(config: Config): Promise<Finding> {
  const bucket = config.s3.bucket as string;
  const blobs = new S3BlobStore(s3Options(config, bucket));
  try {
    // The first request of a fresh process loads the SDK's credential chain: allow it 5 s.
    const status = await blobs.check(5000);
    const where = `${config.s3.endpoint ? shown(config.s3.endpoint) : "AWS S3"} bucket ${bucket}`;
    return status.status === "up"
      ? { level: "ok", what: "s3", detail: `${where} reachable` }
      : { level: "fail", what: "s3", detail: `${where}: ${status.detail ?? "down"}` };
  } finally {
    blobs.close();
  }
}

/**
 * The macronode checks of `styx doctor`: each service is reached with the adapter the server
 * uses, and asked what the server needs — PostgreSQL and the cluster schema's version, NATS
 * with JetStream enabled, Redis answering PING, the S3 bucket reachable.
 */
export async function checkMacro(config: Config): Promise<Finding[]> {
  const out: Finding[] = [{ level: "ok", what: "cluster", detail: `${config.cluster}` }];
  if (config.databaseUrl) out.push(...(await checkPostgres(config.databaseUrl, config.cluster)));
  if (config.natsUrl) out.push(await checkNats(config.natsUrl));
  if (config.redisUrl) out.push(await checkRedis(config.redisUrl, config.cluster));
  if (config.s3.bucket) out.push(await checkS3(config));
  return out;
}
