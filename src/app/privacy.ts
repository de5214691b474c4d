import { OpenAiGeneralizer } from "../adapters/http/openai-generalizer.js";
import { ThreadedScrubber } from "../adapters/thread/threaded-scrubber.js";
import type { Config } from "../config/load.js";
import type { IdentityRecordIds, IdentityStore } from "../core/identity/identity-store.js";
import type { Clock } from "../core/platform/clock.js";
import type { Signals } from "../core/platform/signals.js";
import { IdentifierDirectory } from "../core/privacy/directory.js";
import { IdentifierFeed } from "../core/privacy/identifier-feed.js";
import { PacedScrubber, PublicPipeline, type TextGeneralizer } from "../core/privacy/public-pipeline.js";
import type { ProcessLog } from "./log.js";

/** The public pipeline as wired for one process, and the feed that keeps its directory current. */
export interface PrivacyStack {
  readonly pipeline: PublicPipeline;
  readonly directory: IdentifierDirectory;
  /** Tells the directory (and, on a macronode, the other gateways) of identity records just created. */
  report(records: IdentityRecordIds[]): void;
  /** Loads every known identifier, then refreshes from the store every `refreshMs`. */
  start(): Promise<void>;
  /** Stops the refresh and the scrub thread. */
  stop(): Promise<void>;
}

/** Signal topic of identity records created on one gateway. */
export const IDENTIFIERS_SIGNAL = "identifiers";

/** How often the directory re-reads identifiers created meanwhile (by another gateway whose signal was lost, or the CLI). */
const REFRESH_MS = 60_000;

/** Whether a signalled payload is an identity record (another gateway's, so not trusted blindly). */
function isRecord(x: unknown): x is IdentityRecordIds {
  if (typeof x !== "object" || x === null) return false;
  const r = x as Record<string, unknown>;
  return (
    (r.kind === "user" || r.kind === "golem" || r.kind === "key" || r.kind === "session") &&
    typeof r.id === "string" &&
    typeof r.userId === "string" &&
    (r.walletAddress === null || typeof r.walletAddress === "string")
  );
}

/**
 * The optional generalizer of lethe text (SPEC §4.2 step 8), when STYX_ANONYMIZER_URL is set.
 * Its failures are logged by reason, never with the text.
 */
function generalizerOf(anonymizer: Config["anonymizer"], log: ProcessLog): TextGeneralizer | undefined {
  if (!anonymizer.url) return undefined;
  return new OpenAiGeneralizer({
    url: anonymizer.url,
    timeoutMs: anonymizer.timeoutMs,
    onFailure: (reason) => log.warn({ reason }, "the anonymizer endpoint was not used; lethe text stays as scrubbed"),
    ...(anonymizer.model ? { model: anonymizer.model } : {}),
    ...(anonymizer.apiKey ? { apiKey: anonymizer.apiKey } : {}),
  });
}

/**
 * Builds the public pipeline over a directory of every identifier in the identity store (learnt
 * as created, here or — macronode — by signal from the other gateways), with the anonymizer
 * endpoint as its last stage when one is configured.
 */
export function buildPrivacy(opts: {
  identity: Pick<IdentityStore, "listIdentifiers">;
  clock: Clock;
  signals?: Signals | undefined;
  anonymizer: Config["anonymizer"];
  log: ProcessLog;
}): PrivacyStack {
  const { log } = opts;
  const directory = new IdentifierDirectory();
  // Long texts (lethe copies) are scrubbed in a worker thread, off the event loop; paced on the loop if it fails.
  const paced = new PacedScrubber(directory);
  const scrubber = new ThreadedScrubber(directory, paced, (err) =>
    log.warn({ err }, "the scrub thread failed: public texts are scrubbed on the event loop from now on"),
  );
  const feed = new IdentifierFeed({ store: opts.identity, directory, clock: opts.clock });
  const pipeline = new PublicPipeline({ directory, scrubber, generalizer: generalizerOf(opts.anonymizer, log) });
  const signals = opts.signals;
  signals?.subscribe(IDENTIFIERS_SIGNAL, (p, origin) => {
    if (origin === signals.origin || !Array.isArray(p.records)) return;
    feed.add((p.records as unknown[]).filter(isRecord));
  });
  let timer: NodeJS.Timeout | undefined;
  return {
    pipeline,
    directory,
    report(records) {
      feed.add(records);
      signals?.publish(IDENTIFIERS_SIGNAL, { records });
    },
    async start() {
      await feed.refresh();
      timer = setInterval(() => {
        feed.refresh().catch((err) => log.warn({ err }, "could not refresh the directory of known identifiers"));
      }, REFRESH_MS);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await scrubber.close();
    },
  };
}
