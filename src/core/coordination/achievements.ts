import type { EventBus } from "../fabric/event-bus.js";
import { golemStream, userStream } from "../fabric/streams.js";
import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import type { SealedBox } from "../platform/sealed-box.js";

/** Every achievement (SPEC §8) with its title and the rule that unlocks it. */
export const ACHIEVEMENTS = {
  first_words: { title: "First words", description: "Wrote its first entry." },
  scarred: { title: "Scarred", description: "Left the first bloodstain of its clade." },
  elder: { title: "Elder", description: "Lived 10,000 ticks." },
  third_generation: { title: "Third generation", description: "Born in generation 3 or later." },
  prophet: { title: "Prophet", description: "A causal edge it published reached 5 validations." },
  swarm: { title: "Swarm", description: "A pheromone it deposited was confirmed by 3 other golems." },
} as const;
export type AchievementCode = keyof typeof ACHIEVEMENTS;

/** Facts a trigger knows about one golem; a rule whose fact is absent is not evaluated. */
export interface AchievementFacts {
  readonly entriesWritten?: number;
  readonly firstBloodstainOfClade?: boolean;
  readonly ticksLived?: number;
  readonly generation?: number;
  /** Validations of one of its published edges. */
  readonly edgeValidations?: number;
  /** Confirmations of one of its deposits. */
  readonly depositConfirmations?: number;
}

const RULES: readonly { readonly code: AchievementCode; readonly when: (f: AchievementFacts) => boolean }[] = [
  { code: "first_words", when: (f) => (f.entriesWritten ?? 0) >= 1 },
  { code: "scarred", when: (f) => f.firstBloodstainOfClade === true },
  { code: "elder", when: (f) => (f.ticksLived ?? 0) >= 10_000 },
  { code: "third_generation", when: (f) => (f.generation ?? 0) >= 3 },
  { code: "prophet", when: (f) => (f.edgeValidations ?? 0) >= 5 },
  { code: "swarm", when: (f) => (f.depositConfirmations ?? 0) >= 3 },
];

/** The achievements the facts earn (the rule engine; pure). */
export function earned(facts: AchievementFacts): AchievementCode[] {
  return RULES.filter((r) => r.when(facts)).map((r) => r.code);
}

/** An unlocked achievement. */
export interface Unlocked {
  readonly code: AchievementCode;
  readonly unlockedAt: number;
}

/**
 * Unlocked achievements, and the sealed source directory: per anonymous source hash, the golem
 * id sealed under a key derived from STYX_SECRET_KEY (the store only ever sees the sealed
 * text), which lets an edge's or a deposit's first publisher be credited without the field
 * storing ids and without a copy of the database linking a hash to a golem.
 * Obligations: `unlock` is atomic and true only the first time for a (golem, code);
 * `rememberSource` keeps the first sealed value of a hash.
 */
export interface AchievementStore {
  unlock(golemId: string, code: AchievementCode, at: number): Promise<boolean>;
  list(golemId: string): Promise<Unlocked[]>;
  rememberSource(sourceHash: string, sealedGolem: string): Promise<void>;
  sealedGolemOf(sourceHash: string): Promise<string | undefined>;
}

/** Bound of the in-memory set of known unlocks (it only saves store round trips). */
const KNOWN_MAX = 100_000;

/** Evaluates the rules for a golem and unlocks what is new, once each, announcing `styx:achievement`. */
export class AchievementService {
  readonly #store: AchievementStore;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #known = new Set<string>();
  readonly #sources = new Set<string>();

  readonly #box: SealedBox;

  /** `box` seals the source directory's golem ids (SealedBox of purpose `source-directory`). */
  constructor(deps: { store: AchievementStore; bus: EventBus; clock: Clock; box: SealedBox }) {
    this.#store = deps.store;
    this.#box = deps.box;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
  }

  /** Unlocks every achievement the facts earn that the golem lacks; returns the new ones. */
  async evaluate(golem: Golem, facts: AchievementFacts): Promise<AchievementCode[]> {
    const fresh: AchievementCode[] = [];
    for (const code of earned(facts)) {
      const k = `${golem.id}\u0000${code}`;
      if (this.#known.has(k)) continue;
      const at = this.#clock.now();
      if (await this.#store.unlock(golem.id, code, at)) {
        fresh.push(code);
        const payload = { golem_id: golem.id, code, title: ACHIEVEMENTS[code].title, unlocked_at: new Date(at).toISOString() };
        // On the owner's stream and the golem's own (SPEC §9).
        await Promise.all(
          [userStream(golem.userId), golemStream(golem.id)].map((stream) =>
            this.#bus.publish({ stream, channel: "styx:achievement", payload }),
          ),
        );
      }
      if (this.#known.size >= KNOWN_MAX) this.#known.clear();
      this.#known.add(k);
    }
    return fresh;
  }

  list(golemId: string): Promise<Unlocked[]> {
    return this.#store.list(golemId);
  }

  /** Records which golem a source hash stands for, sealed and bound to the hash (first time only per process). */
  async remember(sourceHash: string, golemId: string): Promise<void> {
    if (this.#sources.has(sourceHash)) return;
    await this.#store.rememberSource(sourceHash, await this.#box.seal(golemId, sourceHash));
    if (this.#sources.size >= KNOWN_MAX) this.#sources.clear();
    this.#sources.add(sourceHash);
  }

  /** The golem a source hash stands for, when it was remembered under this key (a sealed value that does not open is nobody). */
  async golemOfSource(sourceHash: string): Promise<string | undefined> {
    const sealed = await this.#store.sealedGolemOf(sourceHash);
    return sealed === undefined ? undefined : this.#box.unseal(sealed, sourceHash);
  }
}
