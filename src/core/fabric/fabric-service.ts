import type { Golem } from "../identity/types.js";
import type { Clock } from "../platform/clock.js";
import { CLADE_DELTA_TTL_MS, CLADE_OUTBOX_MAX, type CladeMember, type CladeStore } from "./clade.js";
import type { EventBus, SequencedEvent } from "./event-bus.js";
import {
  aggregateFleet,
  type FleetAggregate,
  type GolemPresence,
  PRESENCE_FORGET_MS,
  PRESENCE_ONLINE_MS,
  type Presence,
} from "./presence.js";
import { golemStream, streamKind, userStream } from "./streams.js";

/** A heartbeat as the service takes it (validated by the protocol layer). */
export type Heartbeat = Omit<GolemPresence, "golemId" | "userId" | "lastSeen" | "archetype" | "generation" | "bornAt">;

/** The answer to a steer: the event as published on the owner's stream, and whether the golem had a live socket. */
export interface SteerResult {
  readonly event: SequencedEvent;
  readonly delivered: boolean;
}

/** The answer to a clade delta: the event on the owner's stream, siblings reached at once, and siblings it waits for. */
export interface CladeDeltaResult {
  readonly event: SequencedEvent;
  readonly delivered: number;
  readonly stored: number;
  readonly dropped: number;
}

/** A registered clade member with its liveness. */
export interface Peer extends CladeMember {
  readonly online: boolean;
}

/**
 * Golem-facing fabric operations: relayed events, presence, steering, clade sync. Callers
 * pass golems that tenancy already resolved for them; this service never decides access.
 * Live delivery is the bus's; `online` says whether a golem has a live socket now.
 */
export class FabricService {
  readonly #bus: EventBus;
  readonly #presence: Presence;
  readonly #clade: CladeStore;
  readonly #clock: Clock;
  readonly #online: (golemId: string) => boolean;
  readonly #heartbeatListeners: ((golem: Golem, beat: Heartbeat) => void)[] = [];
  /** Called with how many clade deltas were dropped from full outboxes. */
  onDropped: (n: number) => void = () => {};
  /** Called when forgetting a dead golem's presence failed (it then expires with its last heartbeat). */
  onError: (err: unknown) => void = () => {};

  constructor(deps: { bus: EventBus; presence: Presence; clade: CladeStore; clock: Clock; online: (golemId: string) => boolean }) {
    this.#bus = deps.bus;
    this.#presence = deps.presence;
    this.#clade = deps.clade;
    this.#clock = deps.clock;
    this.#online = deps.online;
    // A golem's death drops it from presence at once (SPEC §3), on every gateway that hears of it.
    deps.bus.subscribe((e) => {
      const golemId = e.channel === "styx:bloodstain" && streamKind(e.stream) === "user" ? diedGolem(e) : undefined;
      if (golemId) this.#presence.forget(golemId).catch((err: unknown) => this.onError(err));
    });
  }

  /** Publishes a golem's event (`golem:*`) on its owner's stream; the payload names the golem. */
  relay(golem: Golem, event: { readonly type: string } & Record<string, unknown>): Promise<SequencedEvent> {
    const { type, ...fields } = event;
    return this.#bus.publish({ stream: userStream(golem.userId), channel: type, payload: { ...fields, golem_id: golem.id } });
  }

  /**
   * Records a heartbeat in the presence map. The entry is an object literal, not a spread of
   * `beat`: V8 gives each object spread together with further properties a map (hidden class) of
   * its own, ~450 bytes more per golem for as long as its entry lives (bench/lib/socket-memory.ts).
   */
  async heartbeat(golem: Golem, beat: Heartbeat): Promise<void> {
    await this.#presence.beat({
      phase: beat.phase,
      vitality: beat.vitality,
      pad: beat.pad,
      emotion: beat.emotion,
      regime: beat.regime,
      tick: beat.tick,
      domains: beat.domains,
      dreaming: beat.dreaming,
      nav: beat.nav,
      golemId: golem.id,
      userId: golem.userId,
      lastSeen: this.#clock.now(),
      archetype: golem.archetype,
      generation: golem.generation,
      bornAt: golem.createdAt,
    });
    for (const l of this.#heartbeatListeners) l(golem, beat);
  }

  /** Registers a listener called after every heartbeat (achievements read the tick). */
  onHeartbeat(listener: (golem: Golem, beat: Heartbeat) => void): void {
    this.#heartbeatListeners.push(listener);
  }

  /** Golems of every user heard from in the last minute (the pulse). */
  active(): Promise<GolemPresence[]> {
    return this.#presence.activeSince(this.#clock.now() - PRESENCE_ONLINE_MS);
  }

  /** Publishes steering for one golem (`styx:steer`) on its owner's stream and on the golem's own. */
  async steer(golem: Golem, intent: string, severity: string): Promise<SteerResult> {
    const payload = { golem_id: golem.id, intent, severity };
    const [event] = await Promise.all([
      this.#bus.publish({ stream: userStream(golem.userId), channel: "styx:steer", payload }),
      this.#bus.publish({ stream: golemStream(golem.id), channel: "styx:steer", payload }),
    ]);
    return { event, delivered: this.#online(golem.id) };
  }

  /**
   * Relays a delta batch from `golem` to its registered siblings: published on the owner's
   * stream and on each sibling's own stream (a sibling online gets it at once), and, as
   * published on its stream, held for each offline sibling until it reconnects or 7 days pass.
   * It is addressed to the siblings, so the sender's own stream does not carry it.
   */
  async cladeDelta(golem: Golem, entries: readonly Record<string, unknown>[]): Promise<CladeDeltaResult> {
    const payload = { golem_id: golem.id, entries };
    const siblings = (await this.#clade.members(golem.userId)).filter((m) => m.golemId !== golem.id).map((m) => m.golemId);
    const [event, ...copies] = await Promise.all(
      [userStream(golem.userId), ...siblings.map(golemStream)].map((stream) =>
        this.#bus.publish({ stream, channel: "styx:clade:delta", payload }),
      ),
    );
    const offline = siblings.flatMap((id, i) => (this.#online(id) ? [] : [{ id, copy: copies[i] as SequencedEvent }]));
    const expiresAt = (event as SequencedEvent).ts + CLADE_DELTA_TTL_MS;
    const drops = await Promise.all(offline.map((o) => this.#clade.enqueue([o.id], o.copy, expiresAt, CLADE_OUTBOX_MAX)));
    const dropped = drops.reduce((a, b) => a + b, 0);
    if (dropped > 0) this.onDropped(dropped);
    return { event: event as SequencedEvent, delivered: siblings.length - offline.length, stored: offline.length, dropped };
  }

  /** The clade deltas held for a golem that just came online (handed out once), as published on its own stream. */
  pendingDeltas(golemId: string, limit = CLADE_OUTBOX_MAX): Promise<SequencedEvent[]> {
    return this.#clade.take(golemId, this.#clock.now(), limit);
  }

  /** Registers a golem for clade sync. */
  async register(golem: Golem, domains: readonly string[]): Promise<Peer> {
    const member: CladeMember = {
      golemId: golem.id,
      userId: golem.userId,
      domains: [...new Set(domains)],
      registeredAt: this.#clock.now(),
    };
    await this.#clade.register(member);
    return { ...((await this.#clade.members(golem.userId)).find((m) => m.golemId === golem.id) ?? member), online: this.#online(golem.id) };
  }

  /** A user's registered golems, with whether each has a live socket. */
  async peers(userId: string): Promise<Peer[]> {
    return (await this.#clade.members(userId)).map((m) => ({ ...m, online: this.#online(m.golemId) }));
  }

  /** A user's golems as the presence map knows them, golem id order. */
  async fleet(userId: string): Promise<GolemPresence[]> {
    return (await this.#presence.ofUser(userId)).sort((a, b) => (a.golemId < b.golemId ? -1 : 1));
  }

  /** The aggregate of a user's fleet at this moment. */
  async aggregate(userId: string): Promise<FleetAggregate> {
    return aggregateFleet(await this.#presence.ofUser(userId), this.#clock.now());
  }

  /** One golem's last heartbeat, if any. */
  snapshot(golemId: string): Promise<GolemPresence | undefined> {
    return this.#presence.ofGolem(golemId);
  }

  /** Drops expired clade deltas and long-silent presence (the clade-expiry task). */
  async expire(): Promise<{ deltas: number; presence: number }> {
    const now = this.#clock.now();
    return { deltas: await this.#clade.purgeExpired(now), presence: await this.#presence.sweep(now - PRESENCE_FORGET_MS) };
  }
}

/** The golem a `styx:bloodstain` event announces the death of. */
export function diedGolem(e: SequencedEvent): string | undefined {
  const payload = JSON.parse(e.payloadJson) as { golem_id?: unknown };
  return typeof payload.golem_id === "string" ? payload.golem_id : undefined;
}
