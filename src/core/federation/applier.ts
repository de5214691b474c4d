import type { CausalService } from "../coordination/causal-service.js";
import { FEDERATION_CLOCK_SKEW_MS, type PheromoneService } from "../coordination/pheromone-service.js";
import type { LetheService } from "../knowledge/lethe-service.js";
import type { Clock } from "../platform/clock.js";
import { StyxError } from "../platform/errors.js";
import type { FederationStore } from "./federation-store.js";
import type { FederationOutlet } from "./outlet.js";
import type { ApplyOutcome, FederationRecord, RecordApplier } from "./records.js";

/** What the applier works with: this Styx's id, the claims, the fact services and the outlet to its downstreams. */
export interface ApplierDeps {
  readonly instanceId: string;
  readonly store: Pick<FederationStore, "claim" | "release">;
  readonly pheromones: Pick<PheromoneService, "applyFederated">;
  readonly lethe: Pick<LetheService, "applyFederated">;
  readonly causal: Pick<CausalService, "applyFederated">;
  readonly outlet: Pick<FederationOutlet, "relay">;
  readonly clock: Clock;
}

/**
 * Applies records of other instances (SPEC §17.3), for the push route and the down-link alike:
 * refuses one of this Styx's own origin (`STYX_FEDERATION_ORIGIN`) or timed more than a minute
 * ahead (`STYX_FEDERATION_STALE`), claims its (origin, id) — a repeat is a duplicate, nothing
 * applied — then applies it through its kind's service, like a local fact, and relays it with
 * its origin to this Styx's own downstreams (a chain of Styx carries it on). A refusal by the
 * service's rules (stale, not publishable) releases the claim and answers its code; any other
 * failure releases the claim and is thrown (the record may come again).
 */
export class FederationApplier implements RecordApplier {
  readonly #d: ApplierDeps;

  constructor(deps: ApplierDeps) {
    this.#d = deps;
  }

  async apply(record: FederationRecord): Promise<ApplyOutcome> {
    const d = this.#d;
    if (record.origin === d.instanceId) return { outcome: "rejected", code: "STYX_FEDERATION_ORIGIN" };
    const now = d.clock.now();
    if (record.at > now + FEDERATION_CLOCK_SKEW_MS) return { outcome: "rejected", code: "STYX_FEDERATION_STALE" };
    if (!(await d.store.claim(record.origin, record.id, now))) return { outcome: "duplicate" };
    try {
      await this.#applyKind(record);
    } catch (err) {
      await d.store.release(record.origin, record.id);
      if (err instanceof StyxError && err.status < 500 && err.code !== "STYX_RATE_LIMITED") return { outcome: "rejected", code: err.code };
      throw err;
    }
    // Applied here whatever becomes of the relay (which never rejects; not durable with the apply: see FederationOutlet.relay).
    await d.outlet.relay(record);
    return { outcome: "accepted" };
  }

  async #applyKind(record: FederationRecord): Promise<void> {
    switch (record.kind) {
      case "pheromone":
        await this.#d.pheromones.applyFederated(record);
        return;
      case "lethe":
        await this.#d.lethe.applyFederated(record);
        return;
      case "causal":
        await this.#d.causal.applyFederated(record);
        return;
    }
  }
}
