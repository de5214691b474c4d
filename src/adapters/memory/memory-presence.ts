import type { GolemPresence, Presence } from "../../core/fabric/presence.js";

/** The presence map in process memory (micronode); move to the Redis adapter for several gateways. */
export class MemoryPresence implements Presence {
  readonly #byGolem = new Map<string, GolemPresence>();
  readonly #byUser = new Map<string, Set<string>>();

  async beat(state: GolemPresence): Promise<void> {
    const before = this.#byGolem.get(state.golemId);
    if (before && before.userId !== state.userId) this.#byUser.get(before.userId)?.delete(state.golemId);
    this.#byGolem.set(state.golemId, state);
    const mine = this.#byUser.get(state.userId) ?? new Set<string>();
    this.#byUser.set(state.userId, mine);
    mine.add(state.golemId);
  }

  async ofUser(userId: string): Promise<GolemPresence[]> {
    const out: GolemPresence[] = [];
    for (const id of this.#byUser.get(userId) ?? []) {
      const p = this.#byGolem.get(id);
      if (p) out.push(p);
    }
    return out;
  }

  async ofGolem(golemId: string): Promise<GolemPresence | undefined> {
    return this.#byGolem.get(golemId);
  }

  async activeSince(since: number): Promise<GolemPresence[]> {
    return [...this.#byGolem.values()].filter((p) => p.lastSeen >= since);
  }

  async forget(golemId: string): Promise<void> {
    const p = this.#byGolem.get(golemId);
    if (!p) return;
    this.#byGolem.delete(golemId);
    this.#byUser.get(p.userId)?.delete(golemId);
  }

  async sweep(before: number): Promise<number> {
    let n = 0;
    for (const [id, p] of this.#byGolem) {
      if (p.lastSeen >= before) continue;
      this.#byGolem.delete(id);
      const mine = this.#byUser.get(p.userId);
      mine?.delete(id);
      if (mine?.size === 0) this.#byUser.delete(p.userId);
      n++;
    }
    return n;
  }
}
