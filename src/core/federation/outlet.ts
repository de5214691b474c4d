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

/** A local fact made a record of this Styx, and the outbox entry its write carries when it goes up or down. */
export interface OwnRecord {
  readonly record: FederationRecord;
  readonly outbox: OutboxEntry | undefined;
}

/**
 * Where the fact services hand federation their facts (SPEC §17): `own` makes a local fact this
 * Styx's record before the write, whose transaction takes the outbox entry (up: for the
 * upstream; down: for the relay to this Styx's downstreams, see RecordRelay), `written` wakes
 * the relay once the write committed, and `relay` hands a record applied from another instance
 * on to this Styx's downstreams.
 */
export interface FederationOutlet {
  /**
   * The record of a local fact, with its outbox entry; undefined when it does not leave: a fact of
   * a federated source (only own records leave), or one no upstream or downstream link takes. Never rejects.
   */
  own(fact: LocalFact): Promise<OwnRecord | undefined>;
  /** The fact's write committed: the relay publishes its record when it went into the relay outbox. */
  written(own: OwnRecord | undefined): void;
  /**
   * Publishes a record applied from another instance (with its origin) on `federation:{domain}`
   * when a downstream link takes its kind in its domain. Never rejects: the record is applied
   * whatever becomes of its relay (a failure is reported). Not durable with the apply, unlike an
   * own record: a process killed between the apply and this publish leaves no gap in the stream,
   * so this Styx's downstreams miss that record (a chain of Styx, not a star, would notice).
   */
  relay(record: FederationRecord): Promise<void>;
}

/** How long the downstream links are trusted before they are read again (a hello on another gateway). */
export const LINKS_CACHE_MS = 30_000;

/**
 * The federation outlet of one process. `own` stamps the origin (this Styx's STYX_INSTANCE_ID),
 * rounds `at` (lethe to the hour, the others to the minute), re-hashes the source
 * (`outboundSource`), and marks the record for the outbox up when `sendsUp` and an upstream is
 * configured, for the relay outbox down only while this Styx has a downstream link taking the
 * record's kind and domain: a standalone Styx (or one whose downstreams take other domains)
 * writes no relay row and appends nothing to any history per fact. The links are cached and
 * read again on `linksChanged` (a hello on this process) or after LINKS_CACHE_MS (a hello on
 * another gateway).
 */
export class FederationEmitter implements FederationOutlet {
  readonly #d: EmitterDeps;
  #links: { readonly at: number; readonly down: Promise<readonly LinkTakes[]> } | undefined;

  constructor(deps: EmitterDeps) {
    this.#d = deps;
  }

  /** This Styx's instance id, the origin of its records. */
  get origin(): string {
    return this.#d.instanceId;
  }

  async own(fact: LocalFact): Promise<OwnRecord | undefined> {
    const local = recordSource(fact as FederationRecord);
    if (isFederatedSource(local)) return undefined;
    const d = this.#d;
    const up = d.upstream && sendsUp(d.flows, d.domains, fact.kind, fact.domain);
    const down = await this.#takenDown(fact);
    // Nothing leaves (a standalone Styx, a flow or domain not federated): no record is made at all,
    // so a deposit there pays neither the source's keyed hash nor the copies.
    if (!up && !down) return undefined;
    const record = stamp(fact, d.instanceId, outboundSource(d.key, local));
    return { record, outbox: { record, enqueuedAt: d.clock.now(), up, down } };
  }

  written(own: OwnRecord | undefined): void {
    if (own?.outbox?.down) this.#d.wake();
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

  /** Whether some downstream is linked here (the relay's sweep runs only then). */
  async hasDownstreams(): Promise<boolean> {
    return (await this.#downstreams()).length > 0;
  }

  /** Forgets the cached links (a downstream said hello). */
  linksChanged(): void {
    this.#links = undefined;
  }

  /** Whether a downstream link takes `record` (a failed read of the links: reported, and not relayed, as a failed publish was). */
  async #takenDown(record: Pick<FederationRecord, "kind" | "domain">): Promise<boolean> {
    try {
      const links = await this.#downstreams();
      return links.some((l) => takesDown(l.flows, l.domains, record.kind, record.domain));
    } catch (err) {
      this.#d.warn("reading the downstream links failed: a record is not relayed to the downstreams", err);
      return false;
    }
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
  /** Whether an upstream is configured (STYX_UPSTREAM_URL). */
  readonly upstream: boolean;
  readonly store: Pick<FederationStore, "links">;
  readonly bus: Pick<EventBus, "publish">;
  readonly clock: Clock;
  /** A record's wire form (the stream payload, the same JSON as pushes and snapshot lines). */
  readonly wire: (record: FederationRecord) => Record<string, unknown>;
  /** Wakes the relay (RecordRelay's task): an own record was written into the relay outbox. */
  readonly wake: () => void;
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
