import { jetstreamManager } from "@nats-io/jetstream";
import { jetStreamName } from "./event-codec.js";
import type { NatsConnection } from "./nats-connection.js";

/** What a NATS server tells of its JetStream account: how many streams, and the server's version. Fails when JetStream is off. */
export async function jetStreamAccount(conn: NatsConnection): Promise<{ streams: number; server: string | undefined }> {
  const jsm = await jetstreamManager(conn.nc, { timeout: 2000 });
  const info = await jsm.getAccountInfo();
  return { streams: info.streams, server: conn.nc.info?.version };
}

/** Bytes the cluster's event stream holds (JetStream's own count of its messages: the macronode's stream history). */
export async function eventStreamBytes(conn: NatsConnection, cluster: string): Promise<number> {
  const jsm = await jetstreamManager(conn.nc, { timeout: 2000 });
  return (await jsm.streams.info(jetStreamName(cluster))).state.bytes;
}
