import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { StyxError } from "../../core/platform/errors.js";
import type { FairQueue } from "../../core/platform/fair-queue.js";
import { fairTurns } from "../../core/platform/fair-turns.js";
import { rateLimited } from "../admission.js";
import type { Metrics } from "../metrics.js";

/**
 * Fair admission of heavy routes (`config.heavy`: queries, snapshots, batch writes; SPEC §12).
 * A preHandler registered after authentication, validation and tenancy, so refused requests never
 * take a place. The request's user (every key and session of it) asks the FairQueue for a slot;
 * the handler runs once granted, and the slot is freed when the response closes — answered,
 * streamed to its end, or cut off. A client that leaves while its request waits frees its place,
 * and its handler never runs.
 *
 * Refusals: the user's own backlog full → 429 `STYX_RATE_LIMITED` (the flood is this user's);
 * every user's backlog full → 503 `STYX_OVERLOADED` with `details.reasons: ["heavy_queue"]`.
 * Both carry `Retry-After` and `details.retry_after_ms`.
 *
 * What the queue can and cannot do: on a micronode heavy work runs in stretches of the event loop
 * (SQLite and BM25 are synchronous), and the queue can reorder work only between them. So it
 * bounds how many stretches of one user come before another user's request: while the loop is
 * busy (STYX_HEAVY_BUSY_LOOP) and users contend, each user runs one piece at a time; large answers are serialized
 * in slices (server/sliced-json.ts). The limits are per process: on a macronode, per gateway.
 */
export function registerHeavy(app: FastifyInstance, deps: { queue: FairQueue; metrics: Metrics }): void {
  const { queue, metrics } = deps;
  metrics.gauge("styx_heavy_running", "Heavy requests running now (fair queue).", () => queue.stats().running);
  metrics.gauge("styx_heavy_waiting", "Heavy requests waiting for a slot now (fair queue).", () => queue.stats().waiting);
  app.addHook("preHandler", (req, reply, done) => {
    if (!req.routeOptions.config.heavy || req.principal?.kind !== "user") return done();
    admit(req, reply, deps, done);
  });
}

function admit(req: FastifyRequest, reply: FastifyReply, deps: { queue: FairQueue; metrics: Metrics }, done: (err?: Error) => void): void {
  const user = (req.principal as { userId: string }).userId;
  const gone = () => reply.raw.destroyed || req.raw.socket?.destroyed === true;
  // Already gone: nothing to run, nothing to answer (the request is dropped here).
  if (gone()) return;
  let entering = true;
  let grantedAtOnce = false;
  const a = deps.queue.enter(user, (waitedMs) => {
    deps.metrics.heavyWait.observe(waitedMs / 1000);
    // Granted by another request's end: run in a turn of its own, not inside that request's close —
    // the user's fair turn (core/platform/fair-turns.ts), so a flooder's next piece waits behind a lighter user's slices.
    if (entering) grantedAtOnce = true;
    else
      void fairTurns
        .lane(user)
        .pause()
        .then(() => (gone() ? undefined : done()));
  });
  entering = false;
  if (a.kind === "refused") {
    deps.metrics.rejected.inc({ reason: a.reason === "user_queue" ? "heavy_user_queue" : "heavy_queue_full" });
    done(refusal(a.reason, a.retryAfterMs));
    return;
  }
  // 'close' fires once: after the last byte of the answer, or when the connection drops first.
  reply.raw.once("close", () => a.ticket.end());
  if (grantedAtOnce) done();
}

/**
 * Runs heavy work that is not a route of its own (an MCP tool's query) under the same fair
 * queue: waits for the user's slot, runs `work`, frees the slot; refused as a heavy route is.
 */
export async function runHeavy<T>(queue: FairQueue, userId: string, work: () => Promise<T>): Promise<T> {
  let end = () => {};
  await new Promise<void>((resolve, reject) => {
    const a = queue.enter(userId, () => resolve());
    if (a.kind === "refused") reject(refusal(a.reason, a.retryAfterMs));
    else end = () => a.ticket.end();
  });
  try {
    return await work();
  } finally {
    end();
  }
}

function refusal(reason: "user_queue" | "queue_full", retryAfterMs: number): StyxError {
  if (reason === "user_queue") {
    const e = rateLimited(retryAfterMs);
    return new StyxError("STYX_RATE_LIMITED", "Too many heavy requests (queries, snapshots, batches) of this user are waiting.", {
      ...(e.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: e.retryAfterSeconds }),
      details: e.details,
    });
  }
  const ms = Math.ceil(retryAfterMs);
  return new StyxError("STYX_OVERLOADED", "Too many heavy requests are waiting.", {
    retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)),
    details: { reasons: ["heavy_queue"], retry_after_ms: ms },
  });
}
