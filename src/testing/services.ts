import { createHash, randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import postgres from "postgres";
import type { ConfigOverrides } from "../config/load.js";
import { SERVICE_URLS } from "./test-env.js";

/**
 * The real services that service-backed tests (`npm run test:services`) talk to: the standard
 * local ports unless `STYX_TEST_DATABASE_URL`, `STYX_TEST_NATS_URL` or `STYX_TEST_REDIS_URL`
 * say otherwise. Nothing here skips: a service that is down fails the test that needs it.
 */
export const SERVICES = SERVICE_URLS;

/**
 * A fresh cluster name (`t_` + 12 hex): its own PostgreSQL schema, JetStream streams, Redis
 * keys and S3 prefix, so tests sharing the services never see each other's data.
 */
export function newCluster(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

/** Where an S3-compatible server listens and the credentials it accepts. */
export interface S3Endpoint {
  readonly endpoint: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * The STYX_SECRET_KEY of a test cluster: derived from its name, so every gateway (and CLI) of
 * one cluster has the same key and two clusters never share one.
 */
export function testSecretKey(cluster: string): string {
  return createHash("sha256").update(`styx-test-secret-key:${cluster}`).digest("base64");
}

/** Configuration of a macronode gateway of `cluster` over the local services and `s3`. */
export function macroEnv(cluster: string, s3: S3Endpoint): ConfigOverrides {
  return {
    STYX_PROFILE: "macro",
    STYX_CLUSTER: cluster,
    STYX_SECRET_KEY: testSecretKey(cluster),
    STYX_DATABASE_URL: SERVICES.databaseUrl,
    STYX_NATS_URL: SERVICES.natsUrl,
    STYX_REDIS_URL: SERVICES.redisUrl,
    STYX_S3_ENDPOINT: s3.endpoint,
    STYX_S3_BUCKET: s3.bucket,
    STYX_S3_ACCESS_KEY_ID: s3.accessKeyId,
    STYX_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  };
}

/**
 * Removes everything a test cluster left on the services: its PostgreSQL schema, its
 * JetStream streams (named after the cluster, upper-cased), its Redis keys (`<cluster>:*`).
 * S3 data lives in the in-process server's temp dir and goes with it.
 */
export async function dropClusters(match: (cluster: string) => boolean): Promise<string[]> {
  const dropped = new Set<string>();
  const sql = postgres(SERVICES.databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const schemas = await sql<{ n: string }[]>`SELECT nspname AS n FROM pg_namespace WHERE nspname LIKE 't\\_%'`;
    for (const { n } of schemas.filter((s) => match(s.n))) {
      await sql`DROP SCHEMA IF EXISTS ${sql(n)} CASCADE`;
      dropped.add(n);
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
  const nc = await connect({ servers: SERVICES.natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    for await (const name of jsm.streams.names()) {
      const cluster = name.toLowerCase().replace(/_events$/, "");
      if (cluster !== name.toLowerCase() && match(cluster)) {
        await jsm.streams.delete(name);
        dropped.add(cluster);
      }
    }
  } finally {
    await nc.close();
  }
  const redis = new Redis(SERVICES.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", "t_*", "COUNT", 1000);
      cursor = next;
      const mine = keys.filter((k) => match(k.slice(0, k.indexOf(":"))));
      if (mine.length) await redis.del(...mine);
      for (const k of mine) dropped.add(k.slice(0, k.indexOf(":")));
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return [...dropped];
}
