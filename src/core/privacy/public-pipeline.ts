import type { Golem } from "../identity/types.js";
import { StyxError } from "../platform/errors.js";
import { nextTurn, runPaced } from "../platform/paced.js";
import type { IdentifierDirectory, KnownIdentifier } from "./directory.js";
import { publicClass, publicToken } from "./grammar.js";
import { identifierSteps, scrubSteps, type Writer } from "./scrub.js";

/**
 * The optional last stage (SPEC §4.2 step 8): a model that may generalize already-scrubbed
 * lethe text. Its answer is never trusted: it is scrubbed again; undefined (or a throw) keeps
 * the deterministic result.
 */
export interface TextGeneralizer {
  generalize(text: string): Promise<string | undefined>;
}

/** Metadata keys that may reach a public copy; their values must be public tokens (or lists of them, or booleans). */
export const PUBLIC_METADATA_KEYS = ["tags", "asset", "market", "timeframe", "horizon", "method", "source_kind", "bloodstain"] as const;
/** Items kept of a list value in public metadata. */
const PUBLIC_LIST_MAX = 16;

/** Structural values remembered with their answer (all writers together); the memory is cleared when full. */
const TOKEN_MEMO_MAX = 4096;

const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Public timestamps: lethe to the hour, pheromones and causal edges to the minute (SPEC §4.2 step 6). */
export const PUBLIC_TIME_RESOLUTION_MS = { lethe: HOUR, field: MINUTE } as const;

/** A time rounded down to a public resolution. */
export function publicTime(ms: number, resolution: number): number {
  return Math.floor(ms / resolution) * resolution;
}

/** What a long-text scrub does: the whole deterministic scrub, or only the identifier pass (text scrubbed earlier). */
export type ScrubKind = "text" | "identifiers";

/**
 * Where long public texts are scrubbed (lethe copies): on the event loop in paced slices
 * (`PacedScrubber`, the default), or off it (a worker thread holding its own copy of the
 * directory, `adapters/thread/`). Every implementation answers exactly what `scrubSteps`
 * (kind `text`) or `identifierSteps` (kind `identifiers`) answers against the directory as it
 * was when the call was made, identifiers added before the call included.
 */
export interface TextScrubber {
  scrub(kind: ScrubKind, text: string, writer: Writer): Promise<string>;
  close?(): Promise<void>;
}

/** Scrubs on the event loop, one scrub at a time, handing the loop back between slices (`runPaced`). */
export class PacedScrubber implements TextScrubber {
  readonly #directory: IdentifierDirectory;
  readonly #pause: () => Promise<void>;
  /** Paced scrubs run one at a time: concurrent ones would each take a slice per turn, and a request would wait for all of them. */
  #lane: Promise<unknown> = Promise.resolve();

  constructor(directory: IdentifierDirectory, pause: () => Promise<void> = nextTurn) {
    this.#directory = directory;
    this.#pause = pause;
  }

  scrub(kind: ScrubKind, text: string, writer: Writer): Promise<string> {
    const steps = () => (kind === "text" ? scrubSteps(text, this.#directory, writer) : identifierSteps(text, this.#directory, writer));
    const run = this.#lane.then(() => runPaced(steps(), this.#pause));
    this.#lane = run.catch(() => undefined);
    return run;
  }
}

/**
 * The one pipeline every public output goes through (SPEC §4.2): lethe copies, pheromone
 * fields and metadata, causal edges, domain-stream payloads, the pulse, the public stream —
 * and, as they land, marketplace browse fields and federation records. Pure: it holds the
 * directory of known identifiers and an optional generalizer port, nothing else.
 */
export class PublicPipeline {
  readonly #directory: IdentifierDirectory;
  readonly #scrubber: TextScrubber;
  readonly #generalizer: TextGeneralizer | undefined;
  /**
   * Answers of `token` and `className` by writer, then kind and value ("t" or "c" + the value):
   * a deposit's class, domain and regime repeat, and checking one costs ~20 µs (normalization,
   * the directory, every detector). Valid while the directory is at `#memoGeneration`; by
   * writer, so a quicker answer never tells a tenant what another tenant wrote.
   */
  readonly #memo = new Map<string | null, Map<string, string | undefined>>();
  #memoSize = 0;
  #memoGeneration = -1;

  /**
   * @param deps.scrubber where long texts are scrubbed (default: paced on the event loop with
   *   `pause`); it must see every identifier added to `directory`.
   */
  constructor(deps: {
    directory: IdentifierDirectory;
    pause?: () => Promise<void>;
    scrubber?: TextScrubber | undefined;
    generalizer?: TextGeneralizer | undefined;
  }) {
    this.#directory = deps.directory;
    this.#scrubber = deps.scrubber ?? new PacedScrubber(deps.directory, deps.pause);
    this.#generalizer = deps.generalizer;
  }

  /** Makes identifiers known (idempotent): the writer's own are added before their text is scrubbed. */
  remember(ids: Iterable<KnownIdentifier>): void {
    this.#directory.add(ids);
  }

  /** Free text for a public copy, scrubbed deterministically by the scrubber (what a lethe candidate stores). */
  text(text: string, writer: Writer): Promise<string> {
    return this.#scrubber.scrub("text", text, writer);
  }

  /** Text scrubbed earlier, matched again against the identifiers known now (idempotent). */
  rescrub(text: string): Promise<string> {
    return this.#scrubber.scrub("identifiers", text, { userId: null });
  }

  /**
   * The text a lethe copy is published with: `rescrub`, then — when a generalizer is
   * configured — its rewrite, scrubbed again in full and never trusted; on its failure (or an
   * empty answer) the deterministic text. Runs at publication, so writes never wait for the
   * model and the endpoint only sees text whose publication is due.
   */
  async publishable(text: string): Promise<string> {
    const scrubbed = await this.rescrub(text);
    if (!this.#generalizer || scrubbed.length === 0) return scrubbed;
    let general: string | undefined;
    try {
      general = await this.#generalizer.generalize(scrubbed);
    } catch {
      general = undefined;
    }
    if (general === undefined || general.trim().length === 0) return scrubbed;
    return this.#scrubber.scrub("text", general, { userId: null });
  }

  /** A structural value, normalized, or undefined when it may not be published (see publicToken). */
  token(value: string, writer: Writer): string | undefined {
    return this.#remembered("t", value, writer, publicToken);
  }

  /** A pheromone class (a token, or `from->to`), or undefined when it may not be published. */
  className(value: string, writer: Writer): string | undefined {
    return this.#remembered("c", value, writer, publicClass);
  }

  #remembered(
    kind: "t" | "c",
    value: string,
    writer: Writer,
    check: (value: string, directory: IdentifierDirectory, writer: Writer) => string | undefined,
  ): string | undefined {
    // Long values are refused at once (publicToken): nothing to gain, only memory to hold.
    if (value.length > 256) return check(value, this.#directory, writer);
    if (this.#memoGeneration !== this.#directory.generation || this.#memoSize >= TOKEN_MEMO_MAX) {
      this.#memo.clear();
      this.#memoSize = 0;
      this.#memoGeneration = this.#directory.generation;
    }
    let mine = this.#memo.get(writer.userId);
    const key = kind + value;
    if (mine?.has(key)) return mine.get(key);
    const answer = check(value, this.#directory, writer);
    if (!mine) {
      mine = new Map();
      this.#memo.set(writer.userId, mine);
    }
    mine.set(key, answer);
    this.#memoSize++;
    return answer;
  }

  /**
   * The public form of a public-only object's structural field (deposit, causal edge,
   * bloodstain warning), or `400 STYX_NOT_PUBLISHABLE` at `path`; `kind: "class"` also takes
   * `from->to`. The refusal says the same whatever failed.
   */
  required(value: string, writer: Writer, path: string, kind: "token" | "class" = "token"): string {
    const v = kind === "class" ? this.className(value, writer) : this.token(value, writer);
    if (v === undefined) throw new StyxError("STYX_NOT_PUBLISHABLE", undefined, { details: [{ path }] });
    return v;
  }

  /** Makes a golem's own identifiers known (its id, wallet and user) before its public fields are checked. */
  rememberGolem(golem: Golem): void {
    this.remember([
      { kind: "user", value: golem.userId, userId: golem.userId },
      { kind: "golem", value: golem.id, userId: golem.userId },
      ...(golem.walletAddress ? [{ kind: "wallet" as const, value: golem.walletAddress, userId: golem.userId }] : []),
    ]);
  }

  /**
   * The public part of a metadata object: allow-listed keys only; strings that pass the closed
   * grammar (others dropped), lists of them, booleans. Numbers and objects never pass (amounts,
   * nested identifiers).
   */
  metadata(meta: Readonly<Record<string, unknown>>, writer: Writer): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of PUBLIC_METADATA_KEYS) {
      if (!Object.hasOwn(meta, key)) continue;
      const v = meta[key];
      if (typeof v === "boolean") out[key] = v;
      else if (typeof v === "string") {
        const t = this.token(v, writer);
        if (t !== undefined) out[key] = t;
      } else if (Array.isArray(v)) {
        const items = v
          .slice(0, PUBLIC_LIST_MAX)
          .flatMap((x) => (typeof x === "string" ? [this.token(x, writer)] : []))
          .filter((x): x is string => x !== undefined);
        if (items.length > 0) out[key] = items;
      }
    }
    return out;
  }
}
