import type { EventBus } from "../fabric/event-bus.js";
import { FEDERATION_RECORD_CHANNEL, federationStream } from "../fabric/streams.js";
import type { Clock } from "../platform/clock.js";
import type { SecretKey } from "../platform/secret-key.js";
import { PUBLIC_TIME_RESOLUTION_MS, publicTime } from "../privacy/public-pipeline.js";
import type { FederationLink, FederationStore, OutboxEntry } from "./federation-store.js";
import { type FederatedDomains, type Flows, parseFederatedDomains, parseFlows, type RecordKind, sendsUp, takesDown } from "./flows.js";
import { type FederationRecord, isFederatedSource, outboundSource, recordSource } from "./records.js";

/** A local fact as a record before it leaves: no origin yet, its source the local source hash. */
export type LocalFact = FederationRecord extends infer R ? (R extends FederationRecord ? Omit<R, "origin"> : never) : never;

/** A local fact made a record of this Styx, and the outbox entry its write carries when it goes up. */
export interface OwnRecord {
  readonly record: FederationRecord;
  readonly outbox: OutboxEntry | undefined;
}

/**
 * Where the fact services hand federation their facts (SPEC §17): `own` makes a local fact this
 * Styx's record (before the write, whose transaction takes the outbox entry), `relay` hands a
 * record — own, or applied from another instance with its origin — to this Styx's downstreams.
 */
export interface FederationOutlet {
  /** The record of a local fact; undefined for a fact of a federated source (only own records leave). */
  own(fact: LocalFact): OwnRecord | undefined;
  /**
   * Publishes a record on `federation:{domain}` when a downstream link takes its kind in its
   * domain. Never rejects: the fact is stored whatever becomes of its relay (a failure is
   * reported). Not durable with the write: a relay that fails, or a process killed between the
   * fact's commit and its relay, leaves no gap in the stream, so a downstream never learns of
   * that record (it would only through a snapshot, taken when its history is gone). The
   * federation soak counts this window (test/chaos/federation-soak.test.ts); closing it needs a
   * relay outbox written in the fact's transaction, like the outbox up.
   */
  relay(record: FederationRecord): Promise<void>;
}

/** How long the downstream links are trusted before they are read again (a hello on another gateway). */
export const LINKS_CACHE_MS = 30_000;

/**
 * The federation outlet of one process. `own` stamps the origin (this Styx's STYX_INSTANCE_ID),
 * rounds `at` (lethe to the hour, the others to the minute), re-hashes the source
 * (`outboundSource`) and queues the record for the upstream when `sendsUp` and an upstream is
 * configured. `relay` publishes only while this Styx has a downstream link taking the record's
 * kind and domain: a standalone Styx (or one whose downstreams take other domains) pays no
 * history append per fact. The links are cached and read again on `linksChanged` (a hello on
 * this process) or after LINKS_CACHE_MS (a hello on another gateway).
 */
export class FederationEmitter implements FederationOutlet {
  readonly #d: EmitterDeps;
  #links: { readonly at: number; readonly down: Promise<readonly LinkTakes[]> } | undefined;

  /**
   * `upstream`: whether an upstream is configured (STYX_UPSTREAM_URL); `wire`: a record's wire
   * form (the stream payload, the same JSON as pushes and snapshot lines).
   */
  constructor(deps: EmitterDeps) {
    this.#d = deps;
  }

  /** This Styx's instance id, the origin of its records. */
  get origin(): string {
    return this.#d.instanceId;
  }

  own(fact: LocalFact): OwnRecord | undefined {
    const local = recordSource(fact as FederationRecord);
    if (isFederatedSource(local)) return undefined;
    const d = this.#d;
    const record = stamp(fact, d.instanceId, outboundSource(d.key, local));
    const up = d.upstream && sendsUp(d.flows, d.domains, record.kind, record.domain);
    return { record, outbox: up ? { record, enqueuedAt: d.clock.now() } : undefined };
  }

  async relay(record: FederationRecord): Promise<void> {
    try {
      const links = await this.#downstreams();
      if (!links.some((l) => takesDown(l.flows, l.domains, record.kind, record.domain))) return;
      await this.#d.bus.publish({
        stream: federationStream(record.domain),
        channel: FEDERATION_RECORD_CHANNEL,
        payload: this.#d.wire(record),
      });
    } catch (err) {
      this.#d.warn("relaying a federation record to the downstreams failed", err);
    }
  }

  /** Forgets the cached links (a downstream said hello). */
  linksChanged(): void {
    this.#links = undefined;
  }

  #downstreams(): Promise<readonly LinkTakes[]> {
    const now = this.#d.clock.now();
    if (!this.#links || now - this.#links.at > LINKS_CACHE_MS) {
      const down = this.#d.store.links().then((ls) => ls.map(linkTakes));
      // A failed read is not cached: the next fact reads again.
      down.catch(() => {
        if (this.#links?.down === down) this.#links = undefined;
      });
      this.#links = { at: now, down };
    }
    return this.#links.down;
  }
}

/** The emitter's dependencies (see FederationEmitter). */
export interface EmitterDeps {
  readonly instanceId: string;
  readonly key: SecretKey;
  readonly flows: Flows;
  readonly domains: FederatedDomains;
  readonly upstream: boolean;
  readonly store: Pick<FederationStore, "links">;
  readonly bus: Pick<EventBus, "publish">;
  readonly clock: Clock;
  readonly wire: (record: FederationRecord) => Record<string, unknown>;
  /** Reports a relay that failed (the fact itself is stored). */
  readonly warn: (msg: string, err: unknown) => void;
}

/** What a downstream link takes, as the upstream reads its agreed flows and domains. */
interface LinkTakes {
  readonly flows: Flows;
  readonly domains: FederatedDomains;
}

/** A link's agreed flows and domains, parsed (they were checked at hello). */
export function linkTakes(link: Pick<FederationLink, "flows" | "domains">): LinkTakes {
  return { flows: parseFlows(link.flows.join(",")), domains: parseFederatedDomains(link.domains.join(",")) };
}

/** Whether a link takes records of `kind` in `domain` down from here. */
export function linkTakesDown(link: Pick<FederationLink, "flows" | "domains">, kind: RecordKind, domain: string): boolean {
  const t = linkTakes(link);
  return takesDown(t.flows, t.domains, kind, domain);
}

/** Whether a link may push records of `kind` in `domain` up to here. */
export function linkSendsUp(link: Pick<FederationLink, "flows" | "domains">, kind: RecordKind, domain: string): boolean {
  const t = linkTakes(link);
  return sendsUp(t.flows, t.domains, kind, domain);
}

/** A local fact as this Styx's record: its origin, its time rounded as its kind's public times are, its source re-hashed. */
function stamp(fact: LocalFact, origin: string, source: string): FederationRecord {
  const f = fact as FederationRecord;
  switch (f.kind) {
    case "pheromone":
      return { ...f, origin, at: publicTime(f.at, PUBLIC_TIME_RESOLUTION_MS.field), pheromone: { ...f.pheromone, source } };
    case "lethe":
      return { ...f, origin, at: publicTime(f.at, PUBLIC_TIME_RESOLUTION_MS.lethe), lethe: { ...f.lethe, source } };
    case "causal":
      return { ...f, origin, at: publicTime(f.at, PUBLIC_TIME_RESOLUTION_MS.field), causal: { ...f.causal, source } };
  }
}
