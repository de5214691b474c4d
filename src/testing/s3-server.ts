import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { openS3Client } from "../adapters/s3/s3-blob-store.js";
import type { S3Endpoint } from "./services.js";

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
type S3rverClass = new (opts: Record<string, unknown>) => S3rverInstance;

/** An in-process S3-compatible server for tests, and its shutdown. */
export interface S3Server extends S3Endpoint {
  /** Stops the server and deletes its files. */
  close(): Promise<void>;
}

/**
 * Starts s3rver (files in a fresh temp directory) on a random local port and creates one
 * bucket through the S3 API. s3rver accepts only its built-in key pair, `S3RVER`/`S3RVER`.
 * Clients must come from `openS3Client`: s3rver 5 mis-signs bucket-level paths (see there).
 * `background`: the server does not keep the process alive and its files go at process exit
 * (for a server shared by every test server of a test file, across their restarts).
 */
export async function startS3Server(opts: { background?: boolean } = {}): Promise<S3Server> {
  const S3rver = createRequire(import.meta.url)("@20minutes/s3rver") as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), "styx-s3-"));
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, vhostBuckets: false });
  let running = false;
  const close = async (): Promise<void> => {
    if (running) {
      running = false;
      // Keep-alive sockets of the test's clients would otherwise hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
    }
    await rm(directory, { recursive: true, force: true });
  };
  try {
    const { port } = await server.run();
    running = true;
    if (opts.background) {
      server.httpServer?.unref();
      process.once("exit", () => rmSync(directory, { recursive: true, force: true }));
    }
    const endpoint: S3Endpoint = {
      endpoint: `http://127.0.0.1:${port}`,
      bucket: "styx-test",
      accessKeyId: "S3RVER",
      secretAccessKey: "S3RVER",
    };
    const client = openS3Client({
      region: "us-east-1",
      endpoint: endpoint.endpoint,
      credentials: { accessKeyId: endpoint.accessKeyId, secretAccessKey: endpoint.secretAccessKey },
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: endpoint.bucket }));
    } finally {
      client.destroy();
    }
    return { ...endpoint, close };
  } catch (err) {
    await close();
    throw err;
  }
}
