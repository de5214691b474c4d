import type { FastifyInstance } from "fastify";
import type { Config } from "../config/load.js";
import type { LoadMonitor } from "../server/load-monitor.js";
import type { Scheduler } from "../tasks/scheduler.js";
import type { FabricStack } from "./fabric.js";
import type { KnowledgeStack } from "./knowledge.js";
import type { ProcessLog } from "./log.js";
import type { PrivacyStack } from "./privacy.js";
import type { Storage } from "./storage.js";

/** What starting and stopping a built process touch. */
export interface ServingParts {
  readonly config: Pick<Config, "host" | "port">;
  readonly app: Pick<FastifyInstance, "ready" | "listen" | "close">;
  readonly log: ProcessLog;
  readonly load: Pick<LoadMonitor, "start" | "stop">;
  readonly tasks: Pick<Scheduler, "start" | "stop">;
  readonly knowledge: Pick<KnowledgeStack, "rebuild" | "wakeDue" | "close">;
  readonly privacy: Pick<PrivacyStack, "stop">;
  readonly fabric: Pick<FabricStack, "flush" | "close">;
  readonly storage: Pick<Storage, "close">;
  /** This process's meter of relay credit (pricing on): its unspent rests are given back at stop. */
  readonly credit?: { close(): Promise<void> } | undefined;
}

/**
 * Brings a built process up and resolves with its URL: the vector indexes first (every vector
 * in the exact overlay at once, so queries see them all; the ANN index absorbs them in its
 * worker thread while the server already answers), then every route compiled, then load
 * sampling, the background tasks, the next lethe publication's wake-up, and the port.
 */
export async function startServing(p: ServingParts): Promise<string> {
  const rebuilt = await p.knowledge.rebuild();
  if (rebuilt.loaded > 0 || rebuilt.put > 0) {
    p.log.info(
      { cached_indexes: rebuilt.loaded, vectors_to_index: rebuilt.put },
      "vector indexes loaded; the rest are indexed in the background",
    );
  }
  // Compiling every route's validators and serializers stalls the loop for up to a second
  // (measured 1.1 s on a macronode); done before the lag sampler starts, it is not load,
  // and a fresh gateway answers /readyz 200 from its first request.
  await p.app.ready();
  p.load.start();
  p.tasks.start();
  await p.knowledge.wakeDue();
  return p.app.listen({ host: p.config.host, port: p.config.port });
}

/**
 * Stops a process in dependency order: load sampling; the server (new requests refused,
 * in-flight ones finished, sockets closed); the background tasks (runs in progress awaited);
 * the scrub thread and the identifier refresh; the events still being batched, stored, then
 * the bus; the vector indexes (their cache saved); the stores last.
 */
export async function stopServing(p: ServingParts): Promise<void> {
  p.load.stop();
  await p.app.close();
  // The unspent rests of drawn relay credit go back to their users (SPEC §11.4).
  await p.credit?.close().catch(() => {});
  await p.tasks.stop();
  await p.privacy.stop();
  await p.fabric.flush();
  await p.fabric.close();
  await p.knowledge.close();
  await p.storage.close();
}

/**
 * Where a served process is in its shutdown: draining (a window in which /readyz answers 503
 * while the load balancer lets go, everything else still served), then closing (new requests
 * refused while the process stops, once).
 */
export class Lifecycle {
  #draining = false;
  #closing = false;
  #closed: Promise<void> | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** Starts the drain window. */
  drain(): void {
    this.#draining = true;
  }

  /** Marks the process closing and runs `stop`; every later call resolves with that same stop. */
  close(stop: () => Promise<void>): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      await stop();
    })();
    return this.#closed;
  }
}
