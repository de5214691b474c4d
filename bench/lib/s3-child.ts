/**
 * s3rver in a child process of its own, so a bench can count its CPU (/proc of the child)
 * apart from the bench process's (its samplers, its counters): `startS3Child()` in the bench,
 * this file forked with --s3-child answers `{op:"start"}` with the endpoint and `{op:"close"}`
 * by stopping the server (its files go with it).
 */
import { fileURLToPath } from "node:url";
import { type S3Server, startS3Server } from "../../src/testing/s3-server.js";
import type { S3Endpoint } from "../../src/testing/services.js";
import { forkChild, type Json, serveParent } from "./fabric.js";

/** A forked S3 server: its endpoint, its pid (for its CPU) and its stop. */
export interface S3Child extends S3Endpoint {
  readonly pid: number;
  close(): Promise<void>;
}

const FILE = fileURLToPath(import.meta.url);

/** Forks this file and starts s3rver in it. */
export async function startS3Child(): Promise<S3Child> {
  const child = forkChild(FILE, ["--s3-child"]);
  const endpoint = await child.request<S3Endpoint>({ op: "start" });
  return {
    ...endpoint,
    pid: child.proc.pid as number,
    async close() {
      await child.request({ op: "close" }).catch(() => {});
      child.end();
    },
  };
}

if (process.argv.includes("--s3-child")) {
  let server: S3Server | undefined;
  serveParent(async (msg: Json) => {
    const op = (msg as { op?: string }).op;
    if (op === "start") {
      server ??= await startS3Server();
      const { close: _, ...endpoint } = server;
      return endpoint;
    }
    if (op === "close") {
      await server?.close();
      server = undefined;
      return { closed: true };
    }
    throw new Error(`unknown op ${String(op)}`);
  });
}
