import { federationStream } from "../fabric/streams.js";
import type { Clock } from "../platform/clock.js";
import type { FederationStore } from "./federation-store.js";
import { agreedDomains, type FederatedDomains, type Flows, formatFlows, RECORD_KINDS } from "./flows.js";
import { DownLink } from "./link-down.js";
import { OutboxPump, type RecordCounter } from "./link-outbox.js";
import { backoffMs, refusedRetryMs, STABLE_CONNECTION_MS } from "./link-timing.js";
import type { RecordApplier } from "./records.js";
import { federationDomain, type HelloReply, type RecordChannel, UpstreamError, type UpstreamTransport } from "./upstream-transport.js";

/** Where the link to the upstream is (SPEC §17.4): `refused` — the upstream refused the key or the link would loop. */
export type LinkState = "connecting" | "connected" | "disconnected" | "refused";

/** Most federation streams one link follows (the socket's domain bound). */
export const MAX_LINK_DOMAINS = 256;

/** The log calls the link makes (pino's `(fields, message)`). */
export interface LinkLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** What the link is built from. */
export interface FederationLinkDeps {
  /** This Styx's STYX_INSTANCE_ID. */
  readonly instanceId: string;
  readonly version: string;
  readonly embedDim: number;
  readonly flows: Flows;
  readonly domains: FederatedDomains;
  readonly store: FederationStore;
  readonly applier: RecordApplier;
  readonly transport: UpstreamTransport;
  readonly clock: Clock;
  /** Uniform in [0, 1), for the jitter (default Math.random). */
  readonly random?: () => number;
  /** With STYX_FEDERATE_DOMAINS=*: the domains this Styx has seen locally (followed beside those the hello names). */
  readonly localDomains?: () => Promise<readonly string[]>;
  readonly count?: RecordCounter;
  readonly log?: LinkLog;
}

/** The link as the admin view shows it (cursors and the outbox depth are read from the store). */
export interface LinkStatus {
  readonly state: LinkState;
  /** The upstream's instance id, once a hello was answered. */
  readonly upstreamInstanceId: string | null;
  /** The flows and domains agreed at the last hello (before one: the configured ones). */
  readonly flows: readonly string[];
  readonly domains: readonly string[];
  /** The federation streams followed on the current connection. */
  readonly streams: readonly string[];
  readonly lastError: string | null;
  /** When the upstream was last heard from (a hello answered, a record applied, a push answered). */
  readonly lastSeenAt: number | null;
}

const quiet: LinkLog = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The downstream's link to its upstream (SPEC §17.2), driven by `tick` (every second while this
 * process leads: the app's task) and the transport's callbacks; time comes from the Clock. At
 * every connect: hello (the upstream's id equal to ours, or STYX_FEDERATION_LOOP → `refused`);
 * then, when some flow comes down, the record socket (DownLink: resume from the stored cursors,
 * snapshot where there is none or the resume lost events). Lost connections are retried after
 * 1, 2, 4 … 60 s (±20 %), the count reset once one held 30 s; a refused link (401, 403, loop)
 * is retried about once a minute, logged each time. While connected, each tick drains the
 * outbox when due (OutboxPump), so a local record leaves within about a second.
 */
export class FederationLink {
  readonly #d: FederationLinkDeps;
  readonly #random: () => number;
  readonly #count: RecordCounter;
  readonly #log: LinkLog;
  readonly #pump: OutboxPump | undefined;
  readonly #work = new Set<Promise<void>>();
  #running = false;
  #state: LinkState = "disconnected";
  #attempt = 0;
  #nextAttemptAt = 0;
  #connectedAt: number | undefined;
  /** Bumped at every connect and loss: callbacks of an older connection are ignored. */
  #generation = 0;
  #connecting = false;
  #draining = false;
  #channel: RecordChannel | undefined;
  #down: DownLink | undefined;
  #hello: HelloReply | undefined;
  #streams: string[] = [];
  #lastError: string | null = null;
  #lastSeenAt: number | null = null;
  /** Aborts the HTTP calls in flight (hello, push) when the link stops. */
  #abort = new AbortController();

  constructor(deps: FederationLinkDeps) {
    this.#d = deps;
    this.#random = deps.random ?? Math.random;
    this.#count = deps.count ?? (() => {});
    this.#log = deps.log ?? quiet;
    const up = RECORD_KINDS.some((k) => deps.flows.get(k)?.up);
    this.#pump = up
      ? new OutboxPump({
          store: deps.store,
          push: (records) => deps.transport.push(records, this.#abort.signal),
          clock: deps.clock,
          flows: deps.flows,
          domains: deps.domains,
          random: this.#random,
          count: this.#count,
        })
      : undefined;
  }

  /** Whether this process runs the link (between `start` and `stop`: it leads). */
  get running(): boolean {
    return this.#running;
  }

  /** Where the link is now. */
  get state(): LinkState {
    return this.#state;
  }

  /** The link for the admin view. */
  status(): LinkStatus {
    return {
      state: this.#state,
      upstreamInstanceId: this.#hello?.instanceId ?? null,
      flows: this.#hello ? [...this.#hello.flows] : formatFlows(this.#d.flows),
      domains: this.#hello ? [...this.#hello.domains] : agreedDomains(this.#d.domains),
      streams: [...this.#streams],
      lastError: this.#lastError,
      lastSeenAt: this.#lastSeenAt,
    };
  }

  /** Starts linking (this process leads): the first connect at the next tick, which is now. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#nextAttemptAt = 0;
    this.tick();
  }

  /** Does what is due now: a connect attempt, or a drain of the outbox. Returns at once; the work runs on. */
  tick(): void {
    if (!this.#running) return;
    const now = this.#d.clock.now();
    if ((this.#state === "disconnected" || this.#state === "refused") && !this.#connecting && now >= this.#nextAttemptAt)
      this.#track(this.#connect());
    if (this.#state === "connected" && this.#pump && !this.#draining && now >= this.#pump.nextAt) this.#track(this.#drain());
  }

  /** Stops linking (shutdown, or the leadership went elsewhere): the socket closes, work in progress ends. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    this.#drop();
    this.#state = "disconnected";
    await this.idle();
  }

  /** Resolves when no work of the link is in progress (connects, drains, records being applied). */
  async idle(): Promise<void> {
    while (this.#work.size > 0 || this.#down) {
      const down = this.#down;
      await Promise.all([...this.#work, down?.idle()]);
      if (this.#work.size === 0 && down === this.#down) return;
    }
  }

  #track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.#log.error({ err }, "federation link: unexpected failure"));
    this.#work.add(t);
    void t.finally(() => this.#work.delete(t));
  }

  async #connect(): Promise<void> {
    this.#connecting = true;
    const gen = ++this.#generation;
    this.#state = "connecting";
    try {
      const hello = await this.#d.transport.hello(
        {
          instanceId: this.#d.instanceId,
          version: this.#d.version,
          flows: formatFlows(this.#d.flows),
          domains: agreedDomains(this.#d.domains),
          embedDim: this.#d.embedDim,
        },
        this.#abort.signal,
      );
      if (gen !== this.#generation) return;
      if (hello.instanceId === this.#d.instanceId)
        throw new UpstreamError("refused", "the upstream has this Styx's own instance id: the link would loop (STYX_FEDERATION_LOOP)", {
          code: "STYX_FEDERATION_LOOP",
        });
      this.#hello = hello;
      this.#seen();
      const streams = await this.#streamsOf(hello);
      if (gen !== this.#generation) return;
      if (streams.length > 0) {
        const down = new DownLink({
          instanceId: this.#d.instanceId,
          flows: this.#d.flows,
          domains: this.#d.domains,
          store: this.#d.store,
          applier: this.#d.applier,
          transport: this.#d.transport,
          count: this.#count,
          lose: (err) => this.#lose(err, gen),
          seen: () => this.#seen(),
          warn: (fields, msg) => this.#log.warn(fields, msg),
        });
        const channel = await this.#d.transport.open({
          record: (stream, position, record) => gen === this.#generation && down.record(stream, position, record),
          resumed: (stream, outcome) => gen === this.#generation && down.resumed(stream, outcome),
          closed: (err) => this.#lose(err, gen),
        });
        if (gen !== this.#generation) return channel.close();
        this.#channel = channel;
        this.#down = down;
        this.#streams = streams;
        await down.start(channel, streams);
        if (gen !== this.#generation) return;
      }
      this.#state = "connected";
      this.#connectedAt = this.#d.clock.now();
      this.#lastError = null;
      this.#pump?.reset();
      this.#log.info({ upstream: hello.instanceId, streams }, "federation link connected");
      // A fresh connection pushes what waited at once.
      this.tick();
    } catch (err) {
      this.#lose(err instanceof Error ? err : new Error(String(err)), gen);
    } finally {
      this.#connecting = false;
    }
  }

  /** The streams to follow: the agreed domains (with `*`: those seen locally, followed before, or named by the upstream). */
  async #streamsOf(hello: HelloReply): Promise<string[]> {
    if (!RECORD_KINDS.some((k) => this.#d.flows.get(k)?.down)) return [];
    const names = new Set<string>();
    if (this.#d.domains.all) {
      for (const d of (await this.#d.localDomains?.()) ?? []) names.add(d);
      for (const s of (await this.#d.store.cursors()).keys()) names.add(federationDomain(s) ?? "");
      for (const s of hello.positions.keys()) names.add(federationDomain(s) ?? "");
      for (const d of hello.domains) names.add(d);
    } else {
      const agreed = new Set(hello.domains);
      for (const d of this.#d.domains.names) if (agreed.has(d) || agreed.has("*")) names.add(d);
    }
    names.delete("");
    names.delete("*");
    return [...names].sort().slice(0, MAX_LINK_DOMAINS).map(federationStream);
  }

  async #drain(): Promise<void> {
    const pump = this.#pump as OutboxPump;
    const gen = this.#generation;
    this.#draining = true;
    try {
      const r = await pump.drain();
      if (r.sent > 0) this.#seen();
      if (!r.failure) return;
      const kind = r.failure.failure;
      // Without a socket (nothing comes down) a push is the only sign of the upstream: no answer means the link is down.
      const unanswered = !this.#channel && (kind === "network" || kind === "unavailable");
      if (kind === "refused" || kind === "not_linked" || unanswered) this.#lose(r.failure, gen);
      else {
        this.#lastError = `push: ${r.failure.message}`;
        this.#log.warn({ err: r.failure, retry_in_ms: pump.nextAt - this.#d.clock.now() }, "federation push failed; retried later");
      }
    } catch (err) {
      this.#lastError = `outbox: ${(err as Error).message}`;
      this.#log.error({ err }, "federation outbox failed");
    } finally {
      this.#draining = false;
    }
  }

  /** The connection of generation `gen` is gone: back off (or, refused, wait a minute) and connect again. */
  #lose(err: Error, gen: number): void {
    if (gen !== this.#generation || !this.#running) return;
    this.#drop();
    const now = this.#d.clock.now();
    this.#lastError = err.message;
    if (err instanceof UpstreamError && err.failure === "refused") {
      this.#state = "refused";
      this.#nextAttemptAt = now + refusedRetryMs(this.#random);
      this.#log.error(
        { err, status: err.status ?? null, code: err.code ?? null, retry_in_ms: this.#nextAttemptAt - now },
        "the upstream refuses this federation link; fix STYX_UPSTREAM_KEY (scope federate) or STYX_INSTANCE_ID",
      );
      return;
    }
    if (this.#connectedAt !== undefined && now - this.#connectedAt >= STABLE_CONNECTION_MS) this.#attempt = 0;
    this.#connectedAt = undefined;
    this.#state = "disconnected";
    this.#nextAttemptAt = now + backoffMs(this.#attempt++, this.#random);
    this.#log.warn({ err, retry_in_ms: this.#nextAttemptAt - now }, "federation link lost; reconnecting");
  }

  /** Ends the current connection's socket and work (its callbacks are ignored from now on). */
  #drop(): void {
    this.#generation++;
    this.#down?.lost();
    this.#channel?.close();
    this.#channel = undefined;
    this.#streams = [];
    const down = this.#down;
    this.#down = undefined;
    // Its queued work ends quickly now; wait for it like any other work.
    if (down) this.#track(down.idle());
  }

  #seen(): void {
    this.#lastSeenAt = this.#d.clock.now();
  }
}
