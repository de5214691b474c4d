/**
 * A socket's channel filter (SPEC §9 `subscribe.categories`): the channel prefixes delivered,
 * or every channel. `golem` lets `golem:tick` through; `golem:t` does not.
 */
export class ChannelFilter {
  #categories: readonly string[] | null = null;

  /** Channel prefixes delivered; null = every channel. */
  get categories(): readonly string[] | null {
    return this.#categories;
  }

  /** Whether every channel passes (no filter set). */
  get all(): boolean {
    return this.#categories === null;
  }

  /** Sets the filter (an empty list: every channel). */
  filter(categories: readonly string[]): void {
    this.#categories = categories.length > 0 ? [...new Set(categories)] : null;
  }

  /** Removes prefixes from the filter (the last one removed: every channel). */
  unfilter(categories: readonly string[]): void {
    if (this.#categories === null) return;
    const left = this.#categories.filter((c) => !categories.includes(c));
    this.#categories = left.length > 0 ? left : null;
  }

  /** Whether the filter lets `channel` through (`golem` matches `golem:tick`). */
  wants(channel: string): boolean {
    const cats = this.#categories;
    if (cats === null) return true;
    for (const c of cats) if (channel === c || (channel.startsWith(c) && channel.charCodeAt(c.length) === 58)) return true;
    return false;
  }
}
