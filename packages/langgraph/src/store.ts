import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type MatchCondition,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import type { StyxClient } from "@styx/client";
import { type Category, collect, contentOf, deleteAll, filterable, ignore, type ListedEntry, textOf, writeAll } from "./entries.js";

/** Options of `StyxStore`. */
export interface StyxStoreOptions {
  /** A client holding the golem's key (bound to the golem) or its owner's key. */
  readonly client: StyxClient;
  /** The golem that writes the items (and whose vault items are read). */
  readonly golemId: string;
  /** The category of the entries written (default `insight`). */
  readonly category?: Category;
  /** The confidence of the entries written (default 1: a `clade` item always passes the promotion gate). */
  readonly confidence?: number;
}

/** Metadata marker of an item entry. */
const ITEM = { lg_kind: "item" } as const;
/** The first namespace label that shares an item with the owner's other golems. */
export const CLADE = "clade";
/** Most ranked hits asked of Styx for one search. */
const MAX_HITS = 100;

/**
 * A LangGraph long-term memory store on Styx. Each item is one entry of the golem, its value's
 * JSON as content (searchable by Styx's ranked query), its namespace and key in the metadata.
 *
 * Namespaces map to layers: a namespace whose first label is `"clade"` (e.g.
 * `["clade", "defi"]`) is written to the clade layer, shared with every golem of the owner;
 * any other namespace (e.g. `["memories", userId]`) stays in the vault, private to this golem.
 * `put` replaces an item (a new entry, the old one deleted); `delete` deletes its entry;
 * `search` with a `query` is ranked by Styx (`POST /v1/styx/query`, the mortal score),
 * without one it lists entries by metadata (namespace prefix) filters; `filter` is applied to
 * the values here. The `index` argument of `put` is ignored: Styx indexes the whole value.
 */
export class StyxStore extends BaseStore {
  readonly client: StyxClient;
  readonly golemId: string;
  readonly category: Category;
  readonly confidence: number;

  constructor(opts: StyxStoreOptions) {
    super();
    this.client = opts.client;
    this.golemId = opts.golemId;
    this.category = opts.category ?? "insight";
    this.confidence = opts.confidence ?? 1;
  }

  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const results: unknown[] = [];
    for (const op of operations) {
      if ("key" in op && "value" in op) results.push(await this.#put(op as PutOperation));
      else if ("key" in op) results.push(await this.#get(op as GetOperation));
      else if ("namespacePrefix" in op) results.push(await this.#search(op as SearchOperation));
      else results.push(await this.#listNamespaces(op as ListNamespacesOperation));
    }
    return results as OperationResults<Op>;
  }

  /** The entries holding `namespace`/`key` (one, unless a replacement was interrupted), oldest first. */
  #entriesOf(namespace: string[], key: string): Promise<ListedEntry[]> {
    return collect(this.client, {
      golemId: namespace[0] === CLADE ? undefined : this.golemId,
      metadata: { ...ITEM, [depthKey(namespace.length)]: nsLabel(namespace), lg_key: filterable("StyxStore: a key", key) },
    });
  }

  async #get(op: GetOperation): Promise<Item | null> {
    const last = (await this.#entriesOf(op.namespace, op.key)).at(-1);
    return last ? this.#item(last) : null;
  }

  async #put(op: PutOperation): Promise<void> {
    validate(op.namespace);
    const before = await this.#entriesOf(op.namespace, op.key);
    if (op.value !== null) {
      const ns = op.namespace;
      const metadata: Record<string, string> = { ...ITEM, lg_ns: JSON.stringify(ns), lg_key: filterable("StyxStore: a key", op.key) };
      for (let d = 1; d <= ns.length; d++) metadata[depthKey(d)] = nsLabel(ns.slice(0, d));
      const first = before[0];
      if (first) metadata.lg_created = String((first.metadata as Record<string, unknown>).lg_created ?? first.created_at);
      const text = JSON.stringify(op.value);
      await writeAll(this.client, [
        {
          golem_id: this.golemId,
          layer: ns[0] === CLADE ? "clade" : "vault",
          category: this.category,
          confidence: this.confidence,
          ...(await contentOf(this.client, text, `LangGraph item ${op.key}`)),
          metadata,
        },
      ]);
    }
    await deleteAll(this.client, before);
  }

  async #search(op: SearchOperation): Promise<SearchItem[]> {
    const prefix = op.namespacePrefix;
    const offset = op.offset ?? 0;
    const limit = op.limit ?? 10;
    const keep = (item: Item): boolean => startsWith(item.namespace, prefix) && matches(item.value, op.filter);
    if (op.query) {
      const { hits } = await this.client.query({ query: op.query, layers: ["vault", "clade"], limit: MAX_HITS });
      const seen = new Set<string>();
      const found = await Promise.all(
        hits.map(async (hit): Promise<SearchItem | undefined> => {
          if (seen.has(hit.id)) return undefined;
          seen.add(hit.id);
          const entry = await this.client.getEntry(hit.id).catch(ignore(404));
          if (!entry || (entry.metadata as Record<string, unknown>).lg_kind !== "item" || !this.#mine(entry)) return undefined;
          const item = await this.#item(entry);
          return keep(item) ? { ...item, score: hit.score } : undefined;
        }),
      );
      return found.filter((i): i is SearchItem => i !== undefined).slice(offset, offset + limit);
    }
    const metadata: Record<string, string> = { ...ITEM };
    if (prefix.length > 0) metadata[depthKey(prefix.length)] = nsLabel(prefix);
    const entries = await collect(this.client, { golemId: prefix[0] === CLADE ? undefined : this.golemId, metadata });
    const items: SearchItem[] = [];
    for (const e of entries) {
      if (!this.#mine(e)) continue;
      const item = await this.#item(e);
      if (keep(item)) items.push(item);
    }
    return items.slice(offset, offset + limit);
  }

  async #listNamespaces(op: ListNamespacesOperation): Promise<string[][]> {
    const seen = new Map<string, string[]>();
    const add = (e: ListedEntry): void => {
      if (!this.#mine(e)) return;
      let ns = JSON.parse(String((e.metadata as Record<string, unknown>).lg_ns)) as string[];
      if (op.matchConditions && !op.matchConditions.every((c) => matchesCondition(c, ns))) return;
      if (op.maxDepth !== undefined) ns = ns.slice(0, op.maxDepth);
      seen.set(JSON.stringify(ns), ns);
    };
    for (const e of await collect(this.client, { golemId: this.golemId, metadata: ITEM })) add(e);
    // The clade's items of the owner's other golems (an owner key; a golem key lists its own only).
    for (const e of (await collect(this.client, { layer: "clade", metadata: ITEM }).catch(ignore(403))) ?? []) add(e);
    const all = [...seen.values()].sort((a, b) => a.join(":").localeCompare(b.join(":")));
    return all.slice(op.offset, op.offset + op.limit);
  }

  /** This golem's item, or a clade item (of any golem of the owner). */
  #mine(e: Pick<ListedEntry, "golem_id" | "metadata">): boolean {
    const ns = (e.metadata as Record<string, unknown>).lg_ns;
    return e.golem_id === this.golemId || (typeof ns === "string" && ns.startsWith(`["${CLADE}"`));
  }

  async #item(e: ListedEntry | Omit<ListedEntry, "validations" | "contradictions">): Promise<Item> {
    const m = e.metadata as Record<string, unknown>;
    return {
      namespace: JSON.parse(String(m.lg_ns)) as string[],
      key: String(m.lg_key),
      value: JSON.parse(await textOf(this.client, e)) as Record<string, unknown>,
      createdAt: new Date(String(m.lg_created ?? e.created_at)),
      updatedAt: new Date(e.created_at),
    };
  }
}

/** The metadata key holding the first `depth` labels of an item's namespace. */
const depthKey = (depth: number): string => `lg_ns${depth}`;

/** A namespace as one filterable metadata value. */
function nsLabel(ns: readonly string[]): string {
  return filterable("StyxStore: a namespace (as JSON)", JSON.stringify(ns));
}

function validate(ns: readonly string[]): void {
  if (ns.length === 0) throw new Error("StyxStore: a namespace has at least one label");
  for (const label of ns)
    if (typeof label !== "string" || label === "") throw new Error("StyxStore: namespace labels are non-empty strings");
}

function startsWith(ns: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= ns.length && prefix.every((p, i) => ns[i] === p);
}

function matchesCondition(c: MatchCondition, ns: readonly string[]): boolean {
  if (c.path.length > ns.length) return false;
  const at = c.matchType === "prefix" ? 0 : ns.length - c.path.length;
  return c.path.every((p, i) => p === "*" || ns[at + i] === p);
}

const OPERATORS = new Set(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin"]);

/** LangGraph's store filter (`{ field: value }` or `{ field: { $op: value } }`) against a value. */
function matches(value: Record<string, unknown>, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  return Object.entries(filter).every(([field, want]) => {
    const have = Object.hasOwn(value, field) ? value[field] : undefined;
    if (typeof want !== "object" || want === null || !Object.keys(want).every((k) => OPERATORS.has(k))) return have === want;
    return Object.entries(want).every(([op, v]) => {
      switch (op) {
        case "$eq":
          return have === v;
        case "$ne":
          return have !== v;
        case "$gt":
          return Number(have) > Number(v);
        case "$gte":
          return Number(have) >= Number(v);
        case "$lt":
          return Number(have) < Number(v);
        case "$lte":
          return Number(have) <= Number(v);
        case "$in":
          return Array.isArray(v) && v.includes(have);
        default:
          return !Array.isArray(v) || !v.includes(have);
      }
    });
  });
}
