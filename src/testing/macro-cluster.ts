import type { ConfigOverrides } from "../config/load.js";
import { type S3Server, startS3Server } from "./s3-server.js";
import { dropClusters, macroEnv, newCluster } from "./services.js";

/** Clusters of test data dirs: a server restarted on the same data dir finds the same cluster. */
const clusterOfDir = new Map<string, string>();
/** One in-process S3 server per test process, in the background (its blobs outlive server restarts). */
let s3: Promise<S3Server> | undefined;

/**
 * A macronode cluster for one test server, on the local services and the process's
 * in-process S3 server. A cluster without a data dir is dropped when its server closes; one
 * tied to a data dir outlives it (so a restart finds its data) and is swept by the next
 * `test:services` run.
 */
export async function macroCluster(dataDir: string | undefined): Promise<{ env: ConfigOverrides; release(): Promise<void> }> {
  let cluster = dataDir ? clusterOfDir.get(dataDir) : undefined;
  if (!cluster) {
    cluster = newCluster();
    if (dataDir) clusterOfDir.set(dataDir, cluster);
  }
  s3 ??= startS3Server({ background: true });
  const name = cluster;
  let released = false;
  return {
    env: macroEnv(name, await s3),
    async release() {
      if (released) return;
      released = true;
      if (!dataDir) await dropClusters((c) => c === name);
    },
  };
}
